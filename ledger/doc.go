// Package ledger is a meeting's record: the events that make it up (segments, speakers,
// commitments, states, losses), the Log that orders and fans them out, and where they are kept —
// MemLog in memory; the Stores, which keep the log with its projections (deals, meetings,
// participants, segments, commitments) and migrate their schema: SQLiteStore in one file for a
// laptop, PostgresStore in a PostgreSQL database for a team server. The two stores are one code
// over two databases, with the same queries and projections, and pass one conformance suite
// (package storetest). The log is the single source of truth: what a viewer may see that must
// survive is appended before it is published, and a reader resumes with Since.
//
// It imports nothing of the product's own: everything upstream (capture, transcription,
// detection) writes into it, everything downstream (the overlay server, recaps) reads from it.
//
// Concurrency: logs and stores are safe for concurrent use. Appends to one meeting are numbered
// in the order they are made (Seq, without gaps), stored and published in that order; a store
// takes the Seq from a counter on the meeting's row inside the append's transaction, so that it
// holds even when several processes append to one PostgreSQL database. Subscribers receive what
// was appended and published in their own process. A Subscription is read by one goroutine, and
// one that falls behind its buffer is closed with ErrLagged rather than slowing the writer. As
// fan-out is in-process, a store's Leases pick the one process that serves a live meeting.
package ledger
