package teamsync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/ledgerline/ledgerline/ledger"
)

// Sending one meeting's events, batch by batch, and the requests of the import protocol.

// sender sends one meeting's events to the server. It is used by one goroutine.
type sender struct {
	c       *Client
	meeting string
	origin  string
	deal    string
	acked   int64 // the local seq of the last of the laptop's own events the server holds, as last known
	last    int64 // the local seq of the last of the laptop's own events, as last read; at least acked
	// unsent are the seqs of the laptop's own events after acked, as last read: complete up to last.
	unsent []int64
	// synced says that acked was read from the server since the last failure: after one, the
	// server may hold more than it could tell (its answer was lost), and is asked first.
	synced bool
	// limit is the events per batch: the protocol's, halved for the rest of the pass while the
	// server finds batches too large.
	limit int
}

func (s *sender) progress() Progress {
	return Progress{Meeting: s.meeting, Acked: s.acked, Last: max(s.last, s.acked), unsent: int64(len(s.unsent))}
}

// read reads the laptop's own events after local seq from (those brought back from elsewhere are
// never sent), notes the last of them, and which follow acked.
func (s *sender) read(ctx context.Context, from int64) ([]ledger.Event, error) {
	events, err := s.c.store.Since(ctx, s.meeting, from)
	if err != nil {
		return nil, fmt.Errorf("teamsync: read meeting %s: %w", s.meeting, err)
	}
	own := events[:0]
	for _, e := range events {
		if e.Origin == "" {
			own = append(own, e)
		}
	}
	if len(own) > 0 {
		s.last = max(s.last, own[len(own)-1].Seq)
	}
	s.last = max(s.last, s.acked)
	s.note(own)
	return own, nil
}

// note records which of own, the laptop's events as read, follow acked: what waits.
func (s *sender) note(own []ledger.Event) {
	s.unsent = make([]int64, 0, len(own))
	for _, e := range own {
		if e.Seq > s.acked {
			s.unsent = append(s.unsent, e.Seq)
		}
	}
}

// send sends everything the store holds after acked, calling onAck each time acked changes (a batch the server
// acknowledged, or its answer to how far it holds the meeting). It returns nil once the server holds all of it.
func (s *sender) send(ctx context.Context, onAck func()) error {
	if !s.synced {
		acked, err := s.c.cursor(ctx, s.meeting, s.origin)
		if err != nil {
			s.synced = false
			return err
		}
		// The log is read after the answer, so that it holds whatever was sent: the server can
		// hold no more than the last of the laptop's own events.
		own, err := s.read(ctx, min(acked, s.acked))
		if err != nil {
			return err
		}
		if acked > s.last {
			return s.diverged(acked)
		}
		s.synced = true
		if acked != s.acked {
			// Lower too: the server holds less than it acknowledged (restored from a backup, or
			// another server answers at this address), and is sent the rest again.
			s.acked = acked
			s.note(own)
			onAck()
		}
	}
	s.limit = s.c.maxEvents
	for {
		m, err := s.c.store.Meeting(ctx, s.meeting)
		if err != nil {
			return fmt.Errorf("teamsync: meeting %s: %w", s.meeting, err)
		}
		events, err := s.read(ctx, s.acked)
		if err != nil {
			return err
		}
		if len(events) == 0 {
			return nil
		}
		info := meetingInfo{Title: m.Title, Deal: s.deal, StartedAt: m.StartedAt.UTC(), Timezone: m.Timezone, Language: m.Language}
		for len(events) > 0 {
			body, n, err := s.batch(info, events)
			if err != nil {
				return err
			}
			after, sentTo := s.acked, events[n-1].Seq
			acked, err := s.c.post(ctx, s.meeting, body)
			var gap *gapError
			switch {
			case errors.As(err, &gap):
				// The server holds less than it acknowledged before (restored from a backup, or
				// another server now answers at this address): resend from what it holds.
				if gap.acked >= after { // it holds what the batch follows: no gap
					return fmt.Errorf("%w: meeting %s: batch after %d refused as leaving a gap, the server holding %d",
						ErrRejected, s.meeting, after, gap.acked)
				}
				s.c.log.Warn("the server holds less of the meeting than it acknowledged; resending from there",
					"meeting", s.meeting, "acked", gap.acked, "after", after)
				s.acked = gap.acked
				if events, err = s.read(ctx, s.acked); err != nil {
					return err
				}
				onAck()
				continue
			case errors.Is(err, errTooLarge) && n > 1:
				s.limit = max(n/2, 1)
				continue
			case err != nil:
				if !Permanent(err) {
					s.synced = false
				}
				return err
			}
			if acked > s.last {
				return s.diverged(acked)
			}
			if acked <= after {
				return fmt.Errorf("%w: meeting %s: the server acknowledged %d for a batch of events %d to %d",
					ErrRejected, s.meeting, acked, after+1, sentTo)
			}
			s.acked = acked
			for len(events) > 0 && events[0].Seq <= acked {
				events = events[1:]
			}
			s.note(events)
			onAck()
		}
	}
}

// diverged reports a server that holds more of the meeting from this origin than the store does.
func (s *sender) diverged(acked int64) error {
	return fmt.Errorf("%w: meeting %s: the server holds %d events from this laptop (origin %s), the store %d: was the database restored from an older copy?",
		ErrDiverged, s.meeting, acked, s.origin, s.last)
}

// meetingInfo is the meeting's record as every batch carries it.
type meetingInfo struct {
	Title     string    `json:"title"`
	Deal      string    `json:"deal"`
	StartedAt time.Time `json:"started_at"`
	Timezone  string    `json:"timezone"`
	Language  string    `json:"language"`
}

type importRequest struct {
	Origin  string            `json:"origin"`
	After   int64             `json:"after"`
	Meeting meetingInfo       `json:"meeting"`
	Events  []json.RawMessage `json:"events"`
}

// batch encodes the next batch: as many of events as the limits allow, at least one. It returns
// the body and how many events it holds.
func (s *sender) batch(info meetingInfo, events []ledger.Event) ([]byte, int, error) {
	req := importRequest{Origin: s.origin, After: s.acked, Meeting: info, Events: []json.RawMessage{}}
	empty, err := json.Marshal(req)
	if err != nil {
		return nil, 0, fmt.Errorf("teamsync: encode a batch: %w", err)
	}
	size := len(empty)
	for _, e := range events[:min(len(events), s.limit)] {
		raw, err := json.Marshal(e)
		if err != nil {
			return nil, 0, fmt.Errorf("teamsync: encode event %d: %w", e.Seq, err)
		}
		if len(req.Events) > 0 && size+len(raw)+1 > s.c.maxBytes {
			break
		}
		size += len(raw) + 1
		req.Events = append(req.Events, raw)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, 0, fmt.Errorf("teamsync: encode a batch: %w", err)
	}
	return body, len(req.Events), nil
}

// errTooLarge is a 413: a smaller batch may pass.
var errTooLarge = fmt.Errorf("%w: the batch is too large (HTTP 413)", ErrRejected)

// gapError is a 409: the batch does not follow what the server holds, acked.
type gapError struct{ acked int64 }

func (e *gapError) Error() string {
	return fmt.Sprintf("teamsync: the batch does not follow what the server holds (%d)", e.acked)
}

func (c *Client) importURL(meeting string) string {
	return c.server + "/api/v1/meetings/" + url.PathEscape(meeting) + "/import"
}

// cursor asks the server how far it holds the meeting's events from origin.
func (c *Client) cursor(ctx context.Context, meeting, origin string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.importURL(meeting)+"?origin="+url.QueryEscape(origin), nil)
	if err != nil {
		return 0, fmt.Errorf("teamsync: %w", err)
	}
	return c.do(req, meeting)
}

// post sends one batch and returns the server's ack.
func (c *Client) post(ctx context.Context, meeting string, body []byte) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.importURL(meeting), bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("teamsync: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(req, meeting)
}

// maxAnswer bounds what is read of an answer: an ack, or an error's message.
const maxAnswer = 64 << 10

// do sends req and reads the ack from the answer, telling what went wrong in the error.
func (c *Client) do(req *http.Request, meeting string) (int64, error) {
	var acked int64
	err := c.roundTrip(req, meeting, func(body io.Reader, status string) error {
		raw, err := io.ReadAll(io.LimitReader(body, maxAnswer))
		if err != nil {
			return fmt.Errorf("teamsync: %s: reading the answer: %w", c.server, err)
		}
		var ans struct {
			Acked *int64 `json:"acked"`
		}
		if err := json.Unmarshal(raw, &ans); err != nil || ans.Acked == nil || *ans.Acked < 0 {
			return fmt.Errorf("%w: meeting %s: an answer without an ack (%s: %s): is %s a Ledgerline team server?",
				ErrRejected, meeting, status, clean(string(raw)), c.server)
		}
		acked = *ans.Acked
		return nil
	})
	return acked, err
}

// roundTrip sends req with the token and hands the body of a 200 answer to ok, with the status
// to tell; any other answer is returned as the error it means.
func (c *Client) roundTrip(req *http.Request, meeting string, ok func(body io.Reader, status string) error) error {
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			if errors.Is(err, ErrRejected) { // a redirect, refused
				return ue.Err
			}
			err = ue.Err // without the request's URL again
		}
		return fmt.Errorf("teamsync: %s unreachable: %w", c.server, err)
	}
	defer resp.Body.Close()
	// What is left is read, within bounds, so that the connection is kept.
	defer func() { _, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer)) }()
	if resp.StatusCode == http.StatusOK {
		return ok(resp.Body, "HTTP 200")
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("teamsync: %s: reading the answer: %w", c.server, err)
	}
	var ans struct {
		Acked *int64 `json:"acked"`
		Error string `json:"error"`
	}
	decodeErr := json.Unmarshal(raw, &ans)
	msg := ans.Error
	if decodeErr != nil || msg == "" {
		msg = string(raw)
	}
	msg = clean(msg)
	status := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if msg != "" {
		status += ": " + msg
	}
	switch code := resp.StatusCode; {
	case code == http.StatusConflict:
		if decodeErr != nil || ans.Acked == nil || *ans.Acked < 0 {
			return fmt.Errorf("%w: meeting %s: a conflict without an ack (%s)", ErrRejected, meeting, status)
		}
		return &gapError{acked: *ans.Acked}
	case code == http.StatusUnauthorized:
		return fmt.Errorf("%w (%s): is it a token of %s, and still valid?", ErrUnauthorized, status, c.server)
	case code == http.StatusForbidden || code == http.StatusNotFound:
		return fmt.Errorf("%w %s (%s): its deal must exist on the server and be shared with the token's organisation for editing, and %s be the server's base URL",
			ErrNotVisible, meeting, status, c.server)
	case code == http.StatusRequestEntityTooLarge:
		return fmt.Errorf("%w: meeting %s (%s)", errTooLarge, meeting, status)
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return fmt.Errorf("teamsync: %s is not answering for now (%s)", c.server, status)
	default:
		return fmt.Errorf("%w: meeting %s (%s)", ErrRejected, meeting, status)
	}
}

// clean makes text from the network fit to print in one line of a terminal: no control
// characters, at most 200 characters.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}
