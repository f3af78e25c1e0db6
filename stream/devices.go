package stream

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/gordonklaus/portaudio"
)

// ErrNoDevice: no audio input device could be found or chosen.
var ErrNoDevice = errors.New("no usable audio input device")

// pickHint tells a user how to choose a device, or do without one.
const pickHint = "list the devices with `ledgerline devices` and choose one by name or number " +
	"with %s, or transcribe a recording with --input FILE"

// Device is an audio input device as PortAudio sees it.
type Device struct {
	// Index is PortAudio's number for the device; it may change when
	// devices are plugged in or out.
	Index int
	Name  string
	// HostAPI is the audio system that provides the device: ALSA, JACK,
	// Core Audio, WASAPI…
	HostAPI           string
	MaxInputChannels  int
	DefaultSampleRate float64 // Hz
	// Default marks the system's default input.
	Default bool
}

func (d Device) String() string { return fmt.Sprintf("%q (%d)", d.Name, d.Index) }

// ListDevices returns the audio devices that can record, in PortAudio's
// order. It returns an empty list, not an error, when there are none.
func ListDevices() ([]Device, error) {
	b := paBackend{}
	if err := b.acquire(); err != nil {
		return nil, err
	}
	defer b.release()
	return b.devices()
}

// PortAudio keeps global state: Initialize and Terminate must pair up, and
// the Go binding's bookkeeping is not safe for concurrent use. paMu guards
// both, and every call into the binding outside a stream's own Read.
var (
	paMu   sync.Mutex
	paRefs int
)

// paBackend is the real audio system.
type paBackend struct{}

func (paBackend) acquire() error {
	paMu.Lock()
	defer paMu.Unlock()
	if paRefs == 0 {
		if err := withStderrMuted(portaudio.Initialize); err != nil {
			return fmt.Errorf("%w: start PortAudio: %w; check the system's audio setup, "+
				"or transcribe a recording with --input FILE", ErrNoDevice, err)
		}
	}
	paRefs++
	return nil
}

func (paBackend) release() {
	paMu.Lock()
	defer paMu.Unlock()
	if paRefs == 0 {
		return
	}
	paRefs--
	if paRefs == 0 {
		_ = portaudio.Terminate() // nothing useful to do when shutdown fails
	}
}

func (paBackend) devices() ([]Device, error) {
	paMu.Lock()
	defer paMu.Unlock()
	infos, err := portaudio.Devices()
	if err != nil {
		return nil, fmt.Errorf("list audio devices: %w", err)
	}
	def := -1
	if d, err := portaudio.DefaultInputDevice(); err == nil && d != nil {
		def = d.Index
	}
	var out []Device
	for _, in := range infos {
		if in == nil || in.MaxInputChannels < 1 {
			continue
		}
		d := Device{
			Index:             in.Index,
			Name:              in.Name,
			MaxInputChannels:  in.MaxInputChannels,
			DefaultSampleRate: in.DefaultSampleRate,
			Default:           in.Index == def,
		}
		if in.HostApi != nil {
			d.HostAPI = in.HostApi.Name
		}
		out = append(out, d)
	}
	return out, nil
}

// selectDevice finds the device spec names among devs: a number is an
// index; otherwise a case-insensitive name, whole or unique part. An empty
// spec means the default input. flag is the option that sets spec, for the
// error message.
func selectDevice(devs []Device, spec, flag string) (Device, error) {
	hint := fmt.Sprintf(pickHint, flag)
	if len(devs) == 0 {
		return Device{}, fmt.Errorf("%w: no audio input device was found; connect a microphone and "+
			"check that the system sees it, or transcribe a recording with --input FILE", ErrNoDevice)
	}
	spec = strings.TrimSpace(spec)
	if spec == "" {
		for _, d := range devs {
			if d.Default {
				return d, nil
			}
		}
		return Device{}, fmt.Errorf("%w: the system has no default input; %s", ErrNoDevice, hint)
	}
	if i, err := strconv.Atoi(spec); err == nil {
		for _, d := range devs {
			if d.Index == i {
				return d, nil
			}
		}
		return Device{}, fmt.Errorf("%w: no input device number %d; %s", ErrNoDevice, i, hint)
	}
	want := strings.ToLower(spec)
	var matches []Device
	for _, d := range devs {
		name := strings.ToLower(d.Name)
		if name == want {
			return d, nil
		}
		if strings.Contains(name, want) {
			matches = append(matches, d)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return Device{}, fmt.Errorf("%w: no input device is named %q; %s", ErrNoDevice, spec, hint)
	}
	names := make([]string, len(matches))
	for i, d := range matches {
		names[i] = d.String()
	}
	return Device{}, fmt.Errorf("%w: %q matches several input devices: %s; give the number of one with %s",
		ErrNoDevice, spec, strings.Join(names, ", "), flag)
}
