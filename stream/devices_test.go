package stream

import (
	"errors"
	"strings"
	"testing"
)

var testDevices = []Device{
	{Index: 0, Name: "HDA Intel PCH: ALC3246 Analog (hw:0,0)", HostAPI: "ALSA", MaxInputChannels: 2, DefaultSampleRate: 44100},
	{Index: 2, Name: "USB Headset: Audio (hw:1,0)", HostAPI: "ALSA", MaxInputChannels: 1, DefaultSampleRate: 48000},
	{Index: 3, Name: "pulse", HostAPI: "ALSA", MaxInputChannels: 32, DefaultSampleRate: 44100},
	{Index: 4, Name: "default", HostAPI: "ALSA", MaxInputChannels: 32, DefaultSampleRate: 44100, Default: true},
	{Index: 5, Name: "Monitor of Built-in Audio", HostAPI: "PulseAudio", MaxInputChannels: 2, DefaultSampleRate: 48000},
}

func TestSelectDevice(t *testing.T) {
	cases := []struct {
		spec string
		want int
	}{
		{"", 4},
		{"2", 2},
		{" 0 ", 0},
		{"usb", 2},
		{"PULSE", 3},          // the exact name wins over "Monitor of …" containing nothing alike
		{"monitor", 5},        // part of a name
		{"alc3246 analog", 0}, // any case
	}
	for _, c := range cases {
		d, err := selectDevice(testDevices, c.spec, "--mic")
		if err != nil {
			t.Errorf("%q: %v", c.spec, err)
			continue
		}
		if d.Index != c.want {
			t.Errorf("%q chose %v, want device %d", c.spec, d, c.want)
		}
	}
}

func TestSelectDeviceErrorsSayWhatToDo(t *testing.T) {
	noDefault := append([]Device(nil), testDevices[:3]...)
	cases := []struct {
		name  string
		devs  []Device
		spec  string
		parts []string
	}{
		{"unknown name", testDevices, "zoom", []string{`"zoom"`, "ledgerline devices", "--system", "--input FILE"}},
		{"unknown number", testDevices, "1", []string{"number 1", "ledgerline devices", "--system"}},
		{"ambiguous", testDevices, "hw:", []string{`"HDA Intel PCH: ALC3246 Analog (hw:0,0)" (0)`, `"USB Headset: Audio (hw:1,0)" (2)`, "--system"}},
		{"no default", noDefault, "", []string{"no default input", "ledgerline devices"}},
		{"no devices", nil, "", []string{"no audio input device", "--input FILE"}},
	}
	for _, c := range cases {
		_, err := selectDevice(c.devs, c.spec, "--system")
		if !errors.Is(err, ErrNoDevice) {
			t.Errorf("%s: error %v does not wrap ErrNoDevice", c.name, err)
			continue
		}
		for _, p := range c.parts {
			if !strings.Contains(err.Error(), p) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, p)
			}
		}
	}
}
