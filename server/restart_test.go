package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/ledgerline/ledgerline/internal/leaktest"
	"github.com/ledgerline/ledgerline/ledger"
)

// A speaker renamed from the overlay keeps the new name after the agent
// restarts: the rename is an event in the durable store, replayed to every
// viewer who connects later.
func TestRenameSurvivesRestart(t *testing.T) {
	leaktest.Check(t)
	db := filepath.Join(t.TempDir(), "meetings.db")
	serve := func() (*ledger.SQLiteStore, *httptest.Server, *Server) {
		store, err := ledger.OpenSQLite(db)
		if err != nil {
			t.Fatal(err)
		}
		srv, err := New(Config{Log: store, Control: store})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.AddMeetingToken("call-1", "token-of-call-one"); err != nil {
			t.Fatal(err)
		}
		return store, httptest.NewServer(srv.Handler()), srv
	}

	store, hs, srv := serve()
	ctx := context.Background()
	if _, err := store.Append(ctx, ledger.Event{Type: ledger.TypeSegmentFinal, Meeting: "call-1",
		Segment: &ledger.SegmentInfo{ID: "s1", Channel: "call", Speaker: "call/spk1", StartMS: 0, EndMS: 900, Text: "hello"}}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, hs.URL+"/m/call-1/speakers/call%2Fspk1?t=token-of-call-one",
		strings.NewReader(`{"name":"Laura Chen","org":"buyer","by":"Dana"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Ledgerline", "test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("rename answered %s", resp.Status)
	}
	hs.Close()
	srv.Close()
	store.Close()

	store, hs, srv = serve()
	defer store.Close()
	defer srv.Close()
	defer hs.Close()
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http")+"/m/call-1/ws?t=token-of-call-one&since=0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("the rename was not replayed after the restart: %v", err)
		}
		var e ledger.Event
		if err := json.Unmarshal(msg, &e); err != nil {
			t.Fatal(err)
		}
		if e.Type == ledger.TypeSpeakerUpdate {
			if e.Speaker.ID != "call/spk1" || e.Speaker.Name != "Laura Chen" || e.Speaker.Org != "buyer" || e.By != "Dana" {
				t.Fatalf("replayed %+v by %q, want Laura Chen (buyer) renamed by Dana", e.Speaker, e.By)
			}
			return
		}
	}
}
