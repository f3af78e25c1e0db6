package teamsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ledgerline/ledgerline/ledger"
)

// The way back, from the server's changes to the laptop's store.
const (
	// maxChangesBytes bounds what one request for the server's changes reads: what is past it
	// is asked for by the next one, from where the store then holds the server's events.
	maxChangesBytes = 16 << 20
	// importBatch is the most events stored in one transaction of the store.
	importBatch = MaxBatchEvents
)

// Receive brings back into the store the changes made on the server to a meeting this laptop
// sends there (a partner renames a speaker, marks a commitment done): the events the server holds
// of it that this laptop did not send. They are stored under the server's origin (ServerOrigin),
// each once however often Receive is called, after what the store holds already, and are never
// sent back; Config.Observe is told of each newly stored. Receive adds the meeting to the outbox
// first, and returns how many events it stored. A meeting the server does not know (yet) fails
// with ErrNotVisible, as sending it would.
func (c *Client) Receive(ctx context.Context, meetingID string) (int, error) {
	up, _, err := c.register(ctx, meetingID)
	if err != nil {
		return 0, err
	}
	return c.receive(ctx, up.MeetingID, up.Origin)
}

// changesOrigin is the origin the store keeps the server's changes to a meeting under, and how far
// it holds them: the meeting's upload's (ServerOrigin), which every address of the server shares,
// so that the server named by another address brings back only what is new; or, for a store that
// kept them by the server's address before, that address's.
func (c *Client) changesOrigin(ctx context.Context, meeting, upload string) (string, int64, error) {
	from := ServerOrigin(upload)
	after, err := c.store.ImportCursor(ctx, meeting, from)
	if err != nil || after > 0 {
		return from, after, err
	}
	byAddress := "server:" + c.server
	held, err := c.store.ImportCursor(ctx, meeting, byAddress)
	if err != nil || held == 0 {
		return from, 0, err
	}
	return byAddress, held, nil
}

// receive asks the server for its events of the meeting after those the store holds from it,
// leaving out those of origin (this laptop's), and imports them.
func (c *Client) receive(ctx context.Context, meeting, origin string) (int, error) {
	from, after, err := c.changesOrigin(ctx, meeting, origin)
	if err != nil {
		return 0, fmt.Errorf("teamsync: meeting %s: how far the store holds the server's changes: %w", meeting, err)
	}
	q := url.Values{"since": {strconv.FormatInt(after, 10)}, "not_from": {origin}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		c.server+"/api/v1/meetings/"+url.PathEscape(meeting)+"/events?"+q.Encode(), nil)
	if err != nil {
		return 0, fmt.Errorf("teamsync: %w", err)
	}
	stored := 0
	err = c.roundTrip(req, meeting, func(body io.Reader, status string) error {
		limited := &io.LimitedReader{R: body, N: c.maxChanges}
		dec := json.NewDecoder(limited)
		notEvents := func(err error) error {
			return fmt.Errorf("%w: meeting %s: the server's changes are not a list of events (%s: %v): is %s a Ledgerline team server?",
				ErrRejected, meeting, status, err, c.server)
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			if err == nil {
				err = fmt.Errorf("%v", tok)
			}
			return notEvents(err)
		}
		var batch []ledger.Event
		prev := after // the last seq of the answer
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			n, acked, err := c.importChanges(ctx, meeting, from, after, batch)
			stored += n
			if err != nil {
				return err
			}
			after, batch = acked, batch[:0]
			return nil
		}
		for dec.More() {
			var e ledger.Event
			if err := dec.Decode(&e); err != nil {
				if limited.N <= 0 && stored+len(batch) > 0 {
					// As many as one answer may hold: the rest on the next request.
					return flush()
				}
				return notEvents(err)
			}
			if e.Seq <= prev {
				return fmt.Errorf("%w: meeting %s: the server's changes are out of order: seq %d after %d",
					ErrRejected, meeting, e.Seq, prev)
			}
			prev = e.Seq
			if e.Seq <= after {
				continue // stored meanwhile (by another sync of this store)
			}
			batch = append(batch, e)
			if len(batch) == importBatch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
		if _, err := dec.Token(); err != nil && (limited.N > 0 || stored == 0) { // the closing bracket
			return notEvents(err)
		}
		return nil
	})
	if stored > 0 {
		c.log.Info("changes made on the server brought back", "meeting", meeting, "events", stored)
	}
	return stored, err
}

// importChanges imports one batch of the server's events, numbered with the server's seqs, after
// server seq after, and tells Observe of those newly stored. It returns how many were, and the
// highest server seq the store now holds.
func (c *Client) importChanges(ctx context.Context, meeting, from string, after int64, batch []ledger.Event) (int, int64, error) {
	m, err := c.store.Meeting(ctx, meeting)
	if err != nil {
		return 0, after, fmt.Errorf("teamsync: meeting %s: %w", meeting, err)
	}
	acked, err := c.store.Import(ctx, meeting, from, after, batch)
	switch {
	case errors.Is(err, ledger.ErrInvalidEvent) || errors.Is(err, ledger.ErrInvalidRecord):
		return 0, after, fmt.Errorf("%w: meeting %s: a change the server sent cannot be stored: %w", ErrRejected, meeting, err)
	case err != nil:
		return 0, after, fmt.Errorf("teamsync: meeting %s: store the server's changes: %w", meeting, err)
	case acked <= after:
		return 0, acked, nil // all held already
	}
	// Read back as stored (the local seq), from the log as it was before the import.
	events, err := c.store.Since(ctx, meeting, m.LastSeq)
	if err != nil {
		// Stored: Observe misses them, and the store keeps them all the same.
		c.log.Warn("could not read back the changes brought back from the server", "meeting", meeting, "err", err)
		return countAfter(batch, after, acked), acked, nil
	}
	n := 0
	for _, e := range events {
		if e.Origin != from {
			continue
		}
		n++
		if c.observe != nil {
			c.observe(e)
		}
	}
	return n, acked, nil
}

// countAfter counts the events of batch with a seq in (after, acked].
func countAfter(batch []ledger.Event, after, acked int64) int {
	n := 0
	for _, e := range batch {
		if e.Seq > after && e.Seq <= acked {
			n++
		}
	}
	return n
}
