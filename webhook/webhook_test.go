package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/internal/recordtest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/recap"
)

// receiver is a real local HTTP endpoint that answers each request with the next of its codes
// (the last one repeating) and keeps what it was sent.
type receiver struct {
	mu     sync.Mutex
	codes  []int
	header map[int]string // Retry-After, by attempt (1-based)
	bodies []string
	srv    *httptest.Server
}

func newReceiver(t *testing.T, codes ...int) *receiver {
	t.Helper()
	rc := &receiver{codes: codes, header: map[int]string{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.bodies = append(rc.bodies, string(body))
		n := len(rc.bodies)
		code := rc.codes[min(n, len(rc.codes))-1]
		ra := rc.header[n]
		rc.mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			code = http.StatusBadRequest
		}
		if ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) got() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.bodies...)
}

// recordWaits makes w record its back-off waits instead of spending them.
func recordWaits(w *Notifier) *[]time.Duration {
	var mu sync.Mutex
	waits := &[]time.Duration{}
	w.wait = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		*waits = append(*waits, d)
		return ctx.Err()
	}
	return waits
}

func kickoffSummary(t *testing.T) Summary {
	t.Helper()
	st := recordtest.Seed(t)
	r, err := recap.Build(context.Background(), st, recordtest.Kickoff)
	if err != nil {
		t.Fatal(err)
	}
	return NewSummary(r, "")
}

func TestWebhookRetriesUntilDelivered(t *testing.T) {
	sum := kickoffSummary(t)
	slack := newReceiver(t, http.StatusServiceUnavailable, http.StatusInternalServerError, http.StatusOK)
	slack.header[1] = "7"
	generic := newReceiver(t, http.StatusTooManyRequests, http.StatusBadGateway, http.StatusNoContent)
	w := &Notifier{Endpoints: []Endpoint{{URL: slack.srv.URL + "/services/T0/B0/secret", Format: Slack},
		{URL: generic.srv.URL + "/hooks/ledgerline"}}, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	waits := recordWaits(w)
	if err := w.Send(context.Background(), sum); err != nil {
		t.Fatal(err)
	}
	sb, gb := slack.got(), generic.got()
	if len(sb) != 3 || len(gb) != 3 {
		t.Fatalf("attempts: slack %d, generic %d; want 3 each", len(sb), len(gb))
	}
	// Each endpoint waited twice: the Retry-After of 7s once, otherwise a jittered back-off.
	var retryAfter, backoffs int
	for _, d := range *waits {
		switch {
		case d == 7*time.Second:
			retryAfter++
		case d > 0 && d <= 200*time.Millisecond:
			backoffs++
		default:
			t.Errorf("unexpected wait %v", d)
		}
	}
	if retryAfter != 1 || backoffs != 3 {
		t.Errorf("waits %v: want one Retry-After and three back-offs", *waits)
	}

	var text struct{ Text string }
	if err := json.Unmarshal([]byte(sb[2]), &text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"*Recap: Kickoff* (deal Initech ERP rollout)", "*Globex*\n• send the integration architecture to Dana — due 2026-03-10",
		"*Dana (Acme)*\n• share the pricing options with Priya — due 2026-03-06"} {
		if !strings.Contains(text.Text, want) {
			t.Errorf("Slack text lacks %q:\n%s", want, text.Text)
		}
	}
	var payload Summary
	if err := json.Unmarshal([]byte(gb[2]), &payload); err != nil {
		t.Fatal(err)
	}
	if payload.Event != "meeting.ended" || payload.Meeting.ID != recordtest.Kickoff || len(payload.Participants) != 4 ||
		len(payload.Commitments) != 2 || payload.Commitments[0].Owner != "Globex" {
		t.Errorf("generic payload %+v", payload)
	}
}

func TestWebhookGivesUp(t *testing.T) {
	sum := kickoffSummary(t)
	down := newReceiver(t, http.StatusInternalServerError)
	w := &Notifier{Endpoints: []Endpoint{{URL: down.srv.URL + "/secret-path"}}, MaxAttempts: 4}
	waits := recordWaits(w)
	err := w.Send(context.Background(), sum)
	if !errors.Is(err, ErrGaveUp) || len(down.got()) != 4 || len(*waits) != 3 {
		t.Fatalf("err %v after %d attempts and %d waits; want ErrGaveUp after 4 and 3", err, len(down.got()), len(*waits))
	}
	if strings.Contains(err.Error(), "secret-path") {
		t.Errorf("error shows the webhook's secret path: %v", err)
	}
	// Waits grow exponentially: each at most the doubled base.
	for i, d := range *waits {
		if limit := DefaultBaseDelay << i; d <= 0 || d > limit {
			t.Errorf("wait %d = %v, want in (0, %v]", i, d, limit)
		}
	}

	rejected := newReceiver(t, http.StatusNotFound)
	w = &Notifier{Endpoints: []Endpoint{{URL: rejected.srv.URL}}}
	recordWaits(w)
	if err := w.Send(context.Background(), sum); !errors.Is(err, ErrRejected) || len(rejected.got()) != 1 {
		t.Fatalf("a 404 gave %v after %d attempts; want ErrRejected at once", err, len(rejected.got()))
	}
}

func TestWebhookCancelled(t *testing.T) {
	sum := kickoffSummary(t)
	down := newReceiver(t, http.StatusServiceUnavailable)
	w := &Notifier{Endpoints: []Endpoint{{URL: down.srv.URL}}, MaxAttempts: 10}
	ctx, cancel := context.WithCancel(context.Background())
	w.wait = func(ctx context.Context, d time.Duration) error {
		cancel() // the meeting's owner stops while the sender waits to retry
		<-ctx.Done()
		return ctx.Err()
	}
	if err := w.Send(ctx, sum); !errors.Is(err, context.Canceled) || len(down.got()) != 1 {
		t.Fatalf("err %v after %d attempts; want context.Canceled after 1", err, len(down.got()))
	}
}

func TestWebhookConfigAndHeaders(t *testing.T) {
	for _, e := range []Endpoint{{URL: "ftp://example.com/x"}, {URL: "/relative"}, {URL: "https://example.com", Format: "xml"}} {
		w := &Notifier{Endpoints: []Endpoint{e}}
		if err := w.Send(context.Background(), Summary{}); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: err %v, want ErrConfig", e, err)
		}
	}
	now := time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{"": 0, "3": 3 * time.Second, "-1": 0, "soon": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
	if got := slackEscape("<!channel> & <https://x|y>"); got != "&lt;!channel&gt; &amp; &lt;https://x|y&gt;" {
		t.Errorf("slackEscape = %q", got)
	}
}

// A summary tells of the stretches in which capture failed, since the record may miss words
// there: in its JSON, and in Slack's text.
func TestSummaryCarriesCaptureProblems(t *testing.T) {
	st := recordtest.Seed(t)
	ctx := context.Background()
	const warning = "No call audio for 60 s — is the meeting playing through another device?"
	for _, c := range []ledger.CaptureInfo{
		{Channel: "system", Problem: ledger.CaptureSilent, Message: warning, AtMS: 60000},
		{Channel: "system", Message: "The call audio device is working again.", AtMS: 95000},
	} {
		if _, err := st.Append(ctx, ledger.Event{Type: ledger.TypeCaptureHealth, Meeting: recordtest.Kickoff, Capture: &c}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := recap.Build(ctx, st, recordtest.Kickoff)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSummary(r, "")
	want := []recap.CaptureProblem{{Channel: "system", Problem: ledger.CaptureSilent, Message: warning, FromMS: 60000, ToMS: 95000}}
	if !reflect.DeepEqual(s.CaptureProblems, want) {
		t.Errorf("capture problems %+v, want %+v", s.CaptureProblems, want)
	}
	if text := s.SlackText(); !strings.Contains(text, "⚠ Capture failed 1 time(s) during the call ("+warning+")") {
		t.Errorf("Slack text does not warn of the capture problem:\n%s", text)
	}
	if plain := kickoffSummary(t); len(plain.CaptureProblems) != 0 || strings.Contains(plain.SlackText(), "Capture failed") {
		t.Errorf("a meeting captured well warns of capture: %+v", plain.CaptureProblems)
	}
}
