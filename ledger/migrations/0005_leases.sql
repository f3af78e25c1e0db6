-- Ledgerline store, schema version 5: leases, which pick the one process that serves a live meeting.
-- Two processes serving one meeting would each show their viewers only their own events. A lease is
-- held until expires_ms (Unix milliseconds: compared as numbers, which stored RFC 3339 text cannot
-- be) and its epoch counts the acquisitions, so that an owner that lost it learns so when it renews.
-- A released lease keeps its row, with owner '', so that the next epoch counts on from it. It names a
-- meeting by ID only, as the lease is taken before a new meeting is recorded.
CREATE TABLE leases (
    meeting_id TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,     -- '' once released
    owner_url  TEXT NOT NULL,     -- where the owner serves the meeting
    epoch      INTEGER NOT NULL CHECK (epoch > 0),
    ttl_ms     INTEGER NOT NULL,  -- how long an acquisition or a renewal holds it
    expires_ms INTEGER NOT NULL
) WITHOUT ROWID;
