package bot

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// ErrBrowser: the bot's browser did not start, or stopped.
var ErrBrowser = errors.New("the bot's browser failed")

// Browser sets up the headless Chromium each bot runs in: its own profile, a pinned locale,
// autoplay allowed, a silent fake camera and microphone, and limits.
type Browser struct {
	// Path is the Chromium executable [$LEDGERLINE_CHROMIUM, else chromium on the PATH].
	Path string
	// Locale is the browser's language; the adapters' texts are this one's [en-US].
	Locale string
	// HeapMB caps the JavaScript heap of each page [512].
	HeapMB int
	// Nice lowers the browser's CPU priority, so that transcription comes first [10; -1: none].
	Nice int
	// MaxMemoryMB: a browser using more memory than this, all its processes together, is
	// stopped and the bot fails [2048].
	MaxMemoryMB int
	// LaunchTimeout bounds the browser's start [30 s].
	LaunchTimeout time.Duration
}

func (b Browser) withDefaults() Browser {
	if b.Path == "" {
		b.Path = os.Getenv("LEDGERLINE_CHROMIUM")
	}
	if b.Path == "" {
		b.Path = "chromium"
		for _, p := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if found, err := exec.LookPath(p); err == nil {
				b.Path = found
				break
			}
		}
	}
	if b.Locale == "" {
		b.Locale = "en-US"
	}
	if b.HeapMB <= 0 {
		b.HeapMB = 512
	}
	if b.Nice == 0 {
		b.Nice = 10
	}
	if b.MaxMemoryMB <= 0 {
		b.MaxMemoryMB = 2048
	}
	if b.LaunchTimeout <= 0 {
		b.LaunchTimeout = 30 * time.Second
	}
	return b
}

//go:embed page/capture.js
var captureJS string

// browserRun is one running browser with one page.
type browserRun struct {
	dir         string
	ctx         context.Context // the page's chromedp context
	cancel      context.CancelFunc
	allocCancel context.CancelFunc
}

// launch starts a browser whose page runs the capture script with spec and calls forward and
// report when the script does. The browser lives until close, whatever happens to ctx.
func launch(ctx context.Context, cfg Browser, spec Spec, forward func(context.Context, forwardCall) (string, error),
	report func(context.Context, Report) (chromedp.Void, error)) (*browserRun, error) {
	cfg = cfg.withDefaults()
	dir, err := os.MkdirTemp("", "ledgerline-bot-")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBrowser, err)
	}
	audio, video := filepath.Join(dir, "silence.wav"), filepath.Join(dir, "black.y4m")
	if err := errors.Join(os.WriteFile(audio, silentWAV(), 0o600), os.WriteFile(video, blackY4M(), 0o600)); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%w: fake devices: %w", ErrBrowser, err)
	}
	lang := cfg.Locale
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(cfg.Path),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Headless,
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-audio-capture", audio),
		chromedp.Flag("use-file-for-fake-video-capture", video),
		chromedp.Flag("lang", lang),
		chromedp.Flag("accept-lang", lang),
		// The forwarding connections reach the agent directly; hiding this machine's addresses
		// behind mDNS names would only make the agent resolve them.
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns,Translate,MediaRouter"),
		chromedp.Flag("disable-blink-features", "AutomationControlled"),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("renderer-process-limit", "4"),
		chromedp.Flag("js-flags", "--max-old-space-size="+strconv.Itoa(cfg.HeapMB)),
		chromedp.Env("LANG="+strings.ReplaceAll(lang, "-", "_")+".UTF-8", "LANGUAGE="+strings.ReplaceAll(lang, "-", "_")),
		chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) { limitCmd(cmd, cfg.Nice) }),
	}
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium's sandbox refuses to run as root
	}
	// The browser outlives a cancelled ctx: a bot told to leave still leaves the call first.
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.WithoutCancel(ctx), opts...)
	pageCtx, cancel := chromedp.NewContext(allocCtx)
	b := &browserRun{dir: dir, ctx: pageCtx, cancel: cancel, allocCancel: allocCancel}
	// Starting is bounded by a timer rather than by the first action's context, whose end would
	// end the browser.
	timer := time.AfterFunc(cfg.LaunchTimeout, cancel)
	err = b.setUp(spec, lang, forward, report)
	if !timer.Stop() && err != nil {
		err = fmt.Errorf("did not start in %s: %w", cfg.LaunchTimeout, err)
	}
	if err != nil {
		b.close()
		return nil, fmt.Errorf("%w: %s: %w", ErrBrowser, cfg.Path, err)
	}
	return b, nil
}

// forwardCall is the page's request to forward one track.
type forwardCall struct {
	ID  int    `json:"id"`
	SDP string `json:"sdp"`
}

func (b *browserRun) setUp(spec Spec, lang string, forward func(context.Context, forwardCall) (string, error),
	report func(context.Context, Report) (chromedp.Void, error)) error {
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	script := strings.Replace(captureJS, "__LEDGERLINE_SPEC__", string(specJSON), 1)
	v, err := chromedp.CallBrowser(b.ctx, browser.GetVersion, struct{}{})
	if err != nil {
		return err
	}
	// The page sees the browser a person would use: no "Headless" in its name.
	ua := strings.ReplaceAll(v.UserAgent, "HeadlessChrome", "Chrome")
	return chromedp.Do(b.ctx,
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
				UserAgent: ua, AcceptLanguage: lang + "," + strings.Split(lang, "-")[0]})
			return err
		}),
		chromedp.ExposeFunc("__ledgerlineForward", forward),
		chromedp.ExposeFunc("__ledgerlineReport", report),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script})
			return err
		}),
	)
}

// pid is the browser's process ID; 0 once it has ended.
func (b *browserRun) pid() int {
	c := chromedp.FromContext(b.ctx)
	if c == nil || c.Browser == nil {
		return 0
	}
	if p := c.Browser.Process(); p != nil {
		return p.Pid
	}
	return 0
}

// close stops the browser, waits for it and removes its profile.
func (b *browserRun) close() {
	b.cancel()
	b.allocCancel() // waits for the process
	_ = os.RemoveAll(b.dir)
}

// silentWAV is one second of silence, the fake microphone.
func silentWAV() []byte {
	const rate, n = 48000, 48000
	var buf bytes.Buffer
	buf.WriteString("RIFF")
	_ = binary.Write(&buf, binary.LittleEndian, uint32(36+2*n))
	buf.WriteString("WAVEfmt ")
	_ = binary.Write(&buf, binary.LittleEndian, struct {
		Size                      uint32
		Format, Channels          uint16
		Rate, ByteRate            uint32
		BlockAlign, BitsPerSample uint16
	}{16, 1, 1, rate, rate * 2, 2, 16})
	buf.WriteString("data")
	_ = binary.Write(&buf, binary.LittleEndian, uint32(2*n))
	buf.Write(make([]byte, 2*n))
	return buf.Bytes()
}

// blackY4M is a black picture, the fake camera.
func blackY4M() []byte {
	const w, h = 320, 240
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "YUV4MPEG2 W%d H%d F1:1 Ip A1:1 C420jpeg\n", w, h)
	for range 2 {
		buf.WriteString("FRAME\n")
		buf.Write(bytes.Repeat([]byte{16}, w*h))
		buf.Write(bytes.Repeat([]byte{128}, w*h/2))
	}
	return buf.Bytes()
}
