package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/summary"
)

// The recap page offers its Markdown beside every export, and with a local model configured,
// opens with a narrative whose every sentence links to the segment it rests on; one the
// transcript does not bear out is left out.
func TestRecapNarrativeAndMarkdownDownload(t *testing.T) {
	f := newRecordsFixture(t)
	var asked atomic.Int64
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		content := `{"sentences":[{"text":"Globex will send the integration architecture by Friday.","cites":["seg-2"]},` +
			`{"text":"Initech signed the contract.","cites":["seg-3"]}]}`
		_ = json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]string{"content": content}}}})
	}))
	defer model.Close()
	srv, err := New(Config{Log: f.store, Records: f.store, Narrator: &summary.ChatNarrator{URL: model.URL + "/v1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	withModel := &recordsFixture{store: f.store, srv: srv, http: httptest.NewServer(srv.Handler())}
	defer withModel.http.Close()

	// The first view is served at once, without the narrative, which is written meanwhile.
	_, page := withModel.get(t, RecapPath(recMeeting, recToken))
	if strings.Contains(page, `id="narrative"`) {
		t.Fatal("the first view waited for the model")
	}
	narrated := func() bool {
		_, page = withModel.get(t, RecapPath(recMeeting, recToken))
		return strings.Contains(page, `id="narrative"`)
	}
	if !eventually(time.Minute, narrated) {
		t.Fatal("the narrative never appeared")
	}
	scoped := ScopedToken(recToken, ScopeRecap)
	md := "recap?format=md&amp;t=" + scoped
	if !strings.Contains(page, `href="`+md+`" download>md</a>`) {
		t.Errorf("recap page lacks the Markdown download %s", md)
	}
	if resp, body := withModel.get(t, fromPage(t, RecapPath(recMeeting, recToken), strings.ReplaceAll(md, "&amp;", "&"))); resp.StatusCode != http.StatusOK || !strings.Contains(body, "## Summary") {
		t.Errorf("the Markdown download answers %d:\n%s", resp.StatusCode, body)
	}
	// The model is asked once per change of the record, not once per view.
	if n := asked.Load(); n != 1 {
		t.Errorf("the model was asked %d times for several views of one record, want 1", n)
	}
	if _, err := f.store.Append(context.Background(), ledger.Event{Type: ledger.TypeMeetingState, Meeting: recMeeting, State: ledger.MeetingStopped}); err != nil {
		t.Fatal(err)
	}
	withModel.get(t, RecapPath(recMeeting, recToken))
	if !eventually(time.Minute, func() bool { return asked.Load() == 2 }) {
		t.Errorf("the model was asked %d times after the record changed, want 2", asked.Load())
	}
	if !strings.Contains(page, `<p id="narrative">Globex will send the integration architecture by Friday. <a href="#seg-seg-2">`) ||
		strings.Contains(page, "signed the contract") {
		t.Errorf("recap narrative:\n%s", page)
	}
}
