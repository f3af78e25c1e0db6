// Package natsbus carries a team server's meeting events between its replicas over core NATS: it
// is the ledger.Bus that PostgresStore (ledger.WithBus) publishes each committed event on and
// follows its meetings from.
//
// Each meeting has a subject of its own, Prefix + the meeting's ID (ll.ev.<meeting>), so that a
// replica receives only the meetings its viewers follow. Core NATS delivers at most once: a message
// may be lost (a replica disconnected, a slow consumer), and the store makes up for it by reading
// the database; nothing here is a record.
//
// Concurrency: a Bus is safe for concurrent use. It does not own the connection: whoever made the
// *nats.Conn closes it, after the stores using the Bus are closed. A subscription's deliver
// function is called from the connection's goroutine for that subscription, one message at a
// time, and must not wait; stop unsubscribes, after which deliver is not called again.
package natsbus

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/ledgerline/ledgerline/ledger"
)

// Prefix starts every meeting's subject.
const Prefix = "ll.ev."

// ErrNoConn reports a Bus made without a connection.
var ErrNoConn = errors.New("natsbus: no NATS connection")

// Bus is a ledger.Bus over a NATS connection.
type Bus struct {
	nc *nats.Conn
}

var _ ledger.Bus = (*Bus)(nil)

// New returns a Bus that publishes and subscribes over nc.
func New(nc *nats.Conn) (*Bus, error) {
	if nc == nil {
		return nil, ErrNoConn
	}
	return &Bus{nc: nc}, nil
}

// Publish implements ledger.Bus. It only queues the message on the connection, which sends it
// soon after; while the connection is down it is buffered or lost.
func (b *Bus) Publish(meeting string, event []byte) error {
	if err := b.nc.Publish(Subject(meeting), event); err != nil {
		return fmt.Errorf("natsbus: publish to meeting %q: %w", meeting, err)
	}
	return nil
}

// Subscribe implements ledger.Bus.
func (b *Bus) Subscribe(meeting string, deliver func(event []byte)) (func(), error) {
	sub, err := b.nc.Subscribe(Subject(meeting), func(m *nats.Msg) { deliver(m.Data) })
	if err != nil {
		return nil, fmt.Errorf("natsbus: subscribe to meeting %q: %w", meeting, err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}

// Subject is the subject a meeting's events travel on. A meeting ID made of letters, digits, '_'
// and '-' (UUIDs, Ledgerline's own IDs) is used as it is; any other (with '.', which NATS reads as
// a token separator, '~', '*', '>', spaces, or longer than 128 bytes) is replaced by the hex of its
// SHA-256 after "h.", which no ID of the first kind can be. Messages carry their meeting, so
// receivers never mistake one meeting's events for another's.
func Subject(meeting string) string {
	if plain(meeting) {
		return Prefix + meeting
	}
	sum := sha256.Sum256([]byte(meeting))
	return Prefix + "h." + hex.EncodeToString(sum[:])
}

func plain(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
