package reliability

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/agent"
	"github.com/ledgerline/ledgerline/ingest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/server"
	"github.com/ledgerline/ledgerline/stream"
)

// Thousands of WHIP POSTs turned away, each naming a channel of its own, leave nothing behind: the
// process's heap and goroutines come back to what they were, no name they announced reaches the
// record, and the participant who holds a channel keeps the name she joined with, before and
// after her audio arrives. End to end: a meeting served by agent.StartMeeting on loopback, its
// pipeline running, a real WebRTC publisher with the join link, refusals over HTTP of every kind
// the endpoint answers (401, 403, 400, 409, 415, 422, that last one also after a session slot
// was taken for the offer and given back).
func TestRefusedPublishersLeaveNoTrace(t *testing.T) {
	skipShort(t)
	refusals := size(2000, 20000)
	const (
		workers  = 4
		maxGrown = 8 << 20 // bytes of heap that the refusals may leave: generous, a leak grows with them
	)
	peak := watchMemory()
	ctx := background(t, 5*time.Minute)
	store := openStore(t)
	m, err := agent.StartMeeting(ctx, agent.MeetingConfig{Store: store, Listen: "127.0.0.1:0", TakeAudio: true, Title: "Refusals"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	running, stop := context.WithCancel(ctx)
	transcribed := make(chan error, 1)
	go func() { transcribed <- m.Transcribe(running, agent.Config{}, loadQuiet) }()
	defer func() {
		stop()
		if err := <-transcribed; err != nil {
			t.Errorf("Transcribe: %v", err)
		}
	}()
	base, meeting, token := splitLink(t, m.OverlayURL())
	_, _, joinToken := splitLink(t, m.JoinURL())
	endpoint := base + "/whip/" + url.PathEscape(meeting)

	alice, err := ingest.Publish(ctx, endpoint+"?name=Alice+Martin&org=partner", joinToken, ingest.PublishOptions{
		Channel: "alice", Speed: 10, API: loopbackAPI(t), ConfirmTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = alice.Close(context.Background()) }()

	offer := offerSDP(t)
	var refusedByStack strings.Builder // the offer without its DTLS fingerprint: it parses, the stack refuses it
	for line := range strings.Lines(offer) {
		if !strings.HasPrefix(line, "a=fingerprint:") {
			refusedByStack.WriteString(line)
		}
	}
	watch := server.ScopedToken(token, server.ScopeWatch)
	kinds := []struct {
		name, query, token, contentType, body string
		want                                  int
	}{
		{"no token", "name=Mallory", "", "application/sdp", offer, http.StatusUnauthorized},
		{"the watch link's token", "name=Mallory", watch, "application/sdp", offer, http.StatusUnauthorized},
		{"a name that reorders the text", "name=Mallory%E2%80%AEecilA", joinToken, "application/sdp", offer, http.StatusForbidden},
		{"no side of the deal", "name=Mallory&org=bogus", joinToken, "application/sdp", offer, http.StatusForbidden},
		{"not an offer", "name=Mallory", joinToken, "application/sdp", "not an offer at all", http.StatusBadRequest},
		{"not SDP", "name=Mallory", joinToken, "application/json", offer, http.StatusUnsupportedMediaType},
		{"no Opus", "name=Mallory", joinToken, "application/sdp", strings.ReplaceAll(offer, "opus/48000", "PCMU/8000"), http.StatusUnprocessableEntity},
		{"an offer the stack refuses", "name=Mallory", joinToken, "application/sdp", refusedByStack.String(), http.StatusUnprocessableEntity},
		{"the participant's channel", "name=Mallory&org=other&channel=alice", joinToken, "application/sdp", offer, http.StatusConflict},
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: time.Minute}
	defer client.CloseIdleConnections()
	var sent atomic.Int64
	refuse := func(n int) {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += workers {
					k := kinds[i%len(kinds)]
					u := endpoint + "?" + k.query
					if !strings.Contains(k.query, "channel=") {
						u += fmt.Sprintf("&channel=c%d", sent.Load()+int64(i))
					}
					header := map[string]string{}
					if k.token != "" {
						header["Authorization"] = "Bearer " + k.token
					}
					if code, body, err := do(client, http.MethodPost, u, k.contentType, k.body, header); err != nil || code != k.want {
						t.Errorf("%s: %d %q (%v), want %d", k.name, code, body, err, k.want)
						return
					}
				}
			}()
		}
		wg.Wait()
		sent.Add(int64(n))
	}

	refuse(10 * len(kinds)) // the pools of the client, the server and the stack filled once
	heapBefore, goroutines := settledHeap(), runtime.NumGoroutine()
	began := time.Now()
	refuse(refusals / 2)
	// Alice's audio arrives between the refusals: she is announced under her own name.
	tone := make([]float32, stream.SampleRate/2)
	for i := range tone {
		tone[i] = 0.1 * float32(i%40) / 40
	}
	if err := alice.Send(ctx, tone); err != nil {
		t.Fatal(err)
	}
	want := ledger.SpeakerInfo{ID: "alice", Channel: "alice", Name: "Alice Martin", Role: ledger.RolePartner}
	waitFor(t, "Alice to be announced", 30*time.Second, func() bool {
		sp, err := store.Speaker(ctx, meeting, "alice")
		return err == nil && sp == want
	})
	refuse(refusals - refusals/2)
	took := time.Since(began)
	client.CloseIdleConnections()
	if err := alice.Send(ctx, tone); err != nil {
		t.Errorf("Alice's publisher after the refusals: %v", err)
	}

	heapAfter := settledHeap()
	grown := int64(heapAfter) - int64(heapBefore)
	if grown > maxGrown {
		t.Errorf("the heap grew by %.1f MiB over %d refusals (from %.1f to %.1f MiB): refusals leave state behind",
			float64(grown)/(1<<20), refusals, float64(heapBefore)/(1<<20), float64(heapAfter)/(1<<20))
	}
	// Alice's track runs a few goroutines of its own now; a leak would grow with the refusals.
	waitFor(t, fmt.Sprintf("goroutines to come back to %d", goroutines), 30*time.Second, func() bool {
		return runtime.NumGoroutine() <= goroutines+32
	})

	if sp, err := store.Speaker(ctx, meeting, "alice"); err != nil || sp != want {
		t.Errorf("after the refusals, the speaker on alice is %+v (%v); want %+v", sp, err, want)
	}
	if ps, err := store.Participants(ctx, meeting); err != nil || len(ps) != 1 || ps[0].Name != "Alice Martin" {
		t.Errorf("participants %+v (%v); want Alice Martin alone", ps, err)
	}
	events, err := store.Since(ctx, meeting, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Speaker != nil && (e.Speaker.ID != "alice" || e.Speaker.Name != "Alice Martin") {
			t.Errorf("a refused publisher reached the record: %+v", e)
		}
	}
	report(t, figures{events: refusals, rate: float64(refusals) / took.Seconds(), peak: peak(),
		note: fmt.Sprintf("refused WHIP POSTs; heap %+.2f MiB after them; goroutines %d before, %d after",
			float64(grown)/(1<<20), goroutines, runtime.NumGoroutine())})
}

// settledHeap returns the bytes of live heap once garbage is collected.
func settledHeap() uint64 {
	var ms runtime.MemStats
	for range 2 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// splitLink splits a meeting's link (…/m/ID?t=TOKEN, or …/m/ID/join?t=TOKEN) into the server's
// base, the meeting's ID and the token.
func splitLink(t *testing.T, link string) (base, meeting, token string) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	rest, ok := strings.CutPrefix(u.Path, "/m/")
	if !ok || u.Query().Get("t") == "" {
		t.Fatalf("not a meeting link: %s", redact(link))
	}
	meeting, _, _ = strings.Cut(rest, "/")
	return u.Scheme + "://" + u.Host, meeting, u.Query().Get("t")
}
