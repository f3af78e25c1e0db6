package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/broker"
	"github.com/ledgerline/ledgerline/internal/pgtest"
	"github.com/ledgerline/ledgerline/ledger"
)

// TestServeSendsEachRecapOnceAcrossACrash: a team server on PostgreSQL with NATS posts a stopped
// meeting's recap summary to its webhook; killed while posting, it is started again and posts the
// same summary again (one delivery ID), once, and the next meeting's once.
func TestServeSendsEachRecapOnceAcrossACrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster, a NATS server and a team server as processes")
	}
	dbURL := pgtest.Shared(t).NewDatabase(t)
	nats, err := broker.Start(broker.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nats.Close() })
	t.Setenv(envNATSToken, nats.Token())

	var mu sync.Mutex
	var keys, meetings []string
	posted := make(chan struct{}, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var s struct {
			Meeting struct {
				ID string `json:"id"`
			} `json:"meeting"`
			RecapURL string `json:"recap_url"`
		}
		if err := json.NewDecoder(r.Body).Decode(&s); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		meetings = append(meetings, s.Meeting.ID)
		first := len(keys) == 1
		mu.Unlock()
		posted <- struct{}{}
		if first { // the server dies while it waits for the answer
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	awaitPost := func(what string) {
		t.Helper()
		select {
		case <-posted:
		case <-time.After(2 * time.Minute):
			t.Fatalf("no webhook post %s", what)
		}
	}

	serve := func() (*process, string) {
		p := start(t, "serve", "--db", dbURL, "--listen", "127.0.0.1:0", "--nats", nats.URL(), "--webhook", receiver.URL)
		return p, p.await(`serving the team server on (http://\S+),`)
	}
	first, base := serve()
	token := first.await(`^admin token: (\S+)$`)
	org := admin(t, base, token, "org", "create", "Acme")
	laptop := admin(t, base, token, "token", "create", "--org", org, "--name", "laptop")
	send := func(base, meeting string) {
		t.Helper()
		db := recordedDB(t, meeting, 3)
		st, err := ledger.OpenSQLite(db)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Append(context.Background(), ledger.Event{Type: ledger.TypeMeetingState, Meeting: meeting,
			State: ledger.MeetingStopped, Reason: "user"}); err != nil {
			t.Fatal(err)
		}
		st.Close()
		if code, out, errOut := ledgerline(t, "sync", "--server", base, "--token", laptop, "--db", db, "--meeting", meeting); code != 0 {
			t.Fatalf("sync: exit %d: %s%s", code, out, errOut)
		}
	}

	send(base, "m-crash")
	awaitPost("for the first meeting")
	first.kill()
	again, base := serve()
	defer again.kill()
	awaitPost("again after the restart") // once the killed server's job is handed on
	send(base, "m-next")
	awaitPost("for the next meeting")
	time.Sleep(2 * time.Second) // a few more sweeps: nothing is sent again

	mu.Lock()
	defer mu.Unlock()
	if len(keys) != 3 || meetings[0] != "m-crash" || meetings[1] != "m-crash" || meetings[2] != "m-next" {
		t.Fatalf("posts for meetings %q, want m-crash (cut by the kill), m-crash again, m-next", meetings)
	}
	if keys[0] == "" || keys[1] != keys[0] || keys[2] == keys[0] || !strings.HasPrefix(keys[0], "m-crash/") {
		t.Fatalf("delivery IDs %q: want the same for both posts of a stop, another for the next", keys)
	}
}
