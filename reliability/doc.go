// Package reliability holds Ledgerline's end-to-end checks under bounded load: each drives the
// product through its public ways in (the HTTP server and its sockets, WHIP publishers, the
// ledgerline binary as a real process, webhooks) to keep the hardening defects found fixed.
//
// The checks live in its tests; the package has no code of its own. They are skipped under
// -short and run by `make test` (and so by CI), each sized to a few seconds to twenty on a busy
// two-core machine, on loopback only. `make soak` runs longer versions (LEDGERLINE_SOAK=1) and
// prints their figures: viewers, events delivered per second, p99 delivery and peak memory.
//
// Every check asserts what the product does, never how fast: waits are deadlines and polls, and
// the figures are reported, not judged.
package reliability
