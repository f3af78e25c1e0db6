package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/ledgerline/ledgerline/internal/browsertest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/stream"
)

const chromiumPath = browsertest.ChromiumPath

// TestJoinPageSendsParticipantToBot runs the agent as a bot, joins it from a real browser whose
// microphone plays a recording, and watches the meeting as a viewer: the participant's words arrive
// as finals attributed to their channel and to the organisation on their side of the deal, on the
// meeting clock.
func TestJoinPageSendsParticipantToBot(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the Chromium test in -short mode")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("skipping: no Chromium at %s (%v)", chromiumPath, err)
	}
	mic := speechWithPause(t, "../../ingest/testdata/alice.wav")

	db := filepath.Join(t.TempDir(), "meetings.db")
	if code, _, errOut := ledgerline(t, "deal", "create", "--db", db, "--id", "initech", "--name", "Initech ERP",
		"--account", "Initech", "--vendor", "Acme", "--partner", "Globex"); code != 0 {
		t.Fatalf("deal create: exit %d: %s", code, errOut)
	}
	started := time.Now()
	agent := startAgent(t, "--bot", "--deal", "initech", "--model", testModel(t), "--language", "en", "--listen", "127.0.0.1:0", "--db", db)
	stderr, base, token, meeting := agent.stderr, agent.base, agent.token, agent.meeting
	join := base + "/join?t=" + token

	// A viewer follows the meeting from the start.
	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(base, "http://", "ws://", 1)+"/ws?t="+token, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()

	// The participant joins from a browser whose microphone plays the recording in a loop.
	page := browserPage(t, mic)

	joinAs(t, page, join, "Carla Duarte", "buyer", stderr.String)

	// The viewer sees the participant announced, then their words attributed to them.
	const channel = "carla-duarte"
	var named bool
	var final *ledger.SegmentInfo
	deadline := time.Now().Add(2 * time.Minute)
	for final == nil {
		_ = ws.SetReadDeadline(deadline)
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("socket: %v (named %v); agent: %s", err, named, stderr.String())
		}
		var e ledger.Event
		if err := json.Unmarshal(msg, &e); err != nil {
			t.Fatal(err)
		}
		switch {
		case e.Type == ledger.TypeSpeakerUpdate && e.Speaker.ID == channel:
			if e.Speaker.Name != "Carla Duarte" || e.Speaker.Org != "Initech" || e.Speaker.Role != ledger.RoleBuyer || e.Speaker.Channel != channel {
				t.Fatalf("speaker %+v, want Carla Duarte (Initech, buyer) on %s", *e.Speaker, channel)
			}
			named = true
		case e.Type == ledger.TypeSegmentFinal:
			if e.Segment.Channel != channel {
				t.Fatalf("final on channel %q, want %q: only the participant sends audio", e.Segment.Channel, channel)
			}
			final = e.Segment
		}
	}
	elapsed := time.Since(started).Milliseconds()
	if !named {
		t.Error("the participant's final arrived before their speaker.update")
	}
	if final.Speaker != channel || final.Org != "Initech" || final.Role != ledger.RoleBuyer {
		t.Errorf("final attributed to %q (%q, %q), want %q (Initech, buyer)", final.Speaker, final.Org, final.Role, channel)
	}
	if final.StartMS < 0 || final.EndMS <= final.StartMS || final.EndMS > elapsed {
		t.Errorf("final at %d-%d ms, want a non-empty span on the meeting clock before now (%d ms)", final.StartMS, final.EndMS, elapsed)
	}

	// Pausing sends silence and says so.
	err = chromedp.Do(page,
		chromedp.Click(chromedp.CSS(`#pause`)),
		waitPage(`document.body.dataset.state === 'paused' && document.querySelector('#send-state').dataset.send === 'paused'`),
	)
	if err != nil {
		t.Fatalf("pause: %v", err)
	}
	if enabled := pageString(t, page, `String(document.querySelector('#pause').textContent)`); enabled != "Resume my audio" {
		t.Errorf("pause button reads %q after pausing", enabled)
	}

	// Leaving ends the WHIP session with DELETE on its Location.
	err = chromedp.Do(page,
		chromedp.Evaluate[chromedp.Void](`(() => {
			window.deletes = [];
			const f = window.fetch;
			window.fetch = (u, o) => f(u, o).then(r => { if (o && o.method === 'DELETE') window.deletes.push(r.status + ' ' + String(u)); return r; });
		})()`),
		chromedp.Click(chromedp.CSS(`#leave`)),
		waitPage(`document.body.dataset.state === 'left' && window.deletes.length === 1`),
	)
	if err != nil {
		t.Fatalf("leave: %v", err)
	}
	if del := pageString(t, page, `window.deletes[0]`); !strings.HasPrefix(del, "200 ") || !strings.Contains(del, "/whip/"+meeting+"/") {
		t.Errorf("DELETE on leaving answered %q, want 200 on the session's Location", del)
	}

	if code := agent.end(); code != 0 { // the bot runs until stopped
		t.Fatalf("run exited %d: %s", code, stderr.String())
	}
	store, err := ledger.OpenSQLite(db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	parts, err := store.Participants(context.Background(), meeting)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range parts {
		found = found || p.Name == "Carla Duarte" && p.Org == "Initech" && p.Role == ledger.RoleBuyer
	}
	if !found {
		t.Errorf("participants %+v, want Carla Duarte (Initech, buyer)", parts)
	}
}

// browserPage starts a headless Chromium whose microphone plays mic in a loop, and returns a
// page's context, ended with the test.
func browserPage(t *testing.T, mic string) context.Context {
	t.Helper()
	return browsertest.New(t,
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-audio-capture", mic),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
}

// joinAs opens a join link in page and joins as name on side, consenting to be recorded, until
// the page says it is live; server tells what the server printed, for a failure.
func joinAs(t *testing.T, page context.Context, join, name, side string, server func() string) {
	t.Helper()
	err := chromedp.Do(page,
		chromedp.Navigate(join),
		chromedp.WaitVisible(chromedp.CSS(`#join-form`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), name),
		chromedp.SetValue(chromedp.CSS(`#org`), side),
		chromedp.Click(chromedp.CSS(`#consent`)),
		waitPage(`!document.querySelector('#join').disabled`),
		chromedp.Click(chromedp.CSS(`#join`)),
		waitPage(`document.body.dataset.state === 'live' || document.body.dataset.state === 'failed'`),
	)
	if err != nil {
		t.Fatalf("join: %v; %s", err, server())
	}
	if state, msg := pageString(t, page, `document.body.dataset.state`), pageString(t, page, `document.querySelector('#message').textContent`); state != "live" {
		t.Fatalf("page state %q (%s), want live; server: %s", state, msg, server())
	}
}

func waitPage(cond string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(90*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))
}

func pageString(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// speechWithPause writes the recording followed by a second and a half of silence, as a 16-bit
// 16 kHz WAV the browser plays in a loop as its microphone: each loop is one utterance.
func speechWithPause(t *testing.T, path string) string {
	t.Helper()
	a, err := stream.LoadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	samples := append(append([]float32(nil), a.Samples...), make([]float32, stream.SampleRate*3/2)...)
	var data bytes.Buffer
	for _, s := range samples {
		v := int16(math.Round(float64(max(-1, min(1, s))) * math.MaxInt16))
		_ = binary.Write(&data, binary.LittleEndian, v)
	}
	var buf bytes.Buffer
	buf.WriteString("RIFF")
	_ = binary.Write(&buf, binary.LittleEndian, uint32(36+data.Len()))
	buf.WriteString("WAVEfmt ")
	_ = binary.Write(&buf, binary.LittleEndian, struct {
		Size                      uint32
		Format, Channels          uint16
		Rate, ByteRate            uint32
		BlockAlign, BitsPerSample uint16
	}{16, 1, 1, stream.SampleRate, stream.SampleRate * 2, 2, 16})
	buf.WriteString("data")
	_ = binary.Write(&buf, binary.LittleEndian, uint32(data.Len()))
	buf.Write(data.Bytes())
	out := filepath.Join(t.TempDir(), "mic.wav")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}
