-- Ledgerline store on PostgreSQL, schema version 2: leases, as in the SQLite store's version 5. A
-- lease picks the one process that serves a live meeting; expires_ms is Unix milliseconds by the
-- owners' clocks, and epoch counts the acquisitions, so that an owner that lost the lease learns so
-- when it renews. A released lease keeps its row, with owner '', so that the epoch counts on.

-- +goose Up
CREATE TABLE leases (
    meeting_id text COLLATE "C" PRIMARY KEY,
    owner      text NOT NULL,     -- '' once released
    owner_url  text NOT NULL,     -- where the owner serves the meeting
    epoch      bigint NOT NULL CHECK (epoch > 0),
    ttl_ms     bigint NOT NULL,   -- how long an acquisition or a renewal holds it
    expires_ms bigint NOT NULL
);
