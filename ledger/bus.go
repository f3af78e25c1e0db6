package ledger

import (
	"encoding/json"
	"fmt"
)

// Bus carries meetings' events between the processes (replicas) that serve one store, so that a
// viewer connected to one sees what another appended. It is a hint, not a record: it may lose,
// duplicate or reorder messages, and the store makes up for each (see WithBus). natsbus is the
// implementation over NATS; the store is its only user.
//
// Both methods must be safe for concurrent use, and neither may wait long: the store calls
// Publish after each commit while it holds the meeting's lock.
type Bus interface {
	// Publish sends one encoded event of the meeting to every process subscribed to it, this one
	// included. An error means the message was lost, which the receivers make up for.
	Publish(meeting string, event []byte) error
	// Subscribe calls deliver with every message published to the meeting from then on, until
	// stop is called; after stop returns, deliver may still be running but is not called again.
	// deliver must not wait: the store only queues the message.
	Subscribe(meeting string, deliver func(event []byte)) (stop func(), err error)
}

// busMessage is what a store publishes on its bus: the event as stored (or a partial, which its
// type marks), with the bookkeeping that its JSON leaves out.
type busMessage struct {
	From   string          `json:"from"`             // the publishing store instance, which drops its own echo
	Origin string          `json:"origin,omitempty"` // Event.Origin
	Event  json.RawMessage `json:"event"`
}

func encodeBusMessage(from string, e Event) ([]byte, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	return json.Marshal(busMessage{From: from, Origin: e.Origin, Event: body})
}

// decodeBusMessage reads a message of meeting published by another store than self; ok is false
// for this store's own echo.
func decodeBusMessage(self, meeting string, data []byte) (e Event, ok bool, err error) {
	var m busMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return Event{}, false, fmt.Errorf("ledger: bus message: %w", err)
	}
	if m.From == self {
		return Event{}, false, nil
	}
	if err := json.Unmarshal(m.Event, &e); err != nil {
		return Event{}, false, fmt.Errorf("ledger: bus message: %w", err)
	}
	if e.Meeting != meeting || e.Validate() != nil {
		return Event{}, false, fmt.Errorf("ledger: bus message for meeting %q: not one of its events", meeting)
	}
	e.Origin = m.Origin
	return e, true, nil
}
