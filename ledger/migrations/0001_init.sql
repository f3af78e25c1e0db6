-- Ledgerline store, schema version 1.
--
-- The events table is the meeting's log: append-only, the source of truth. Every other table is a
-- projection of it (plus the deal and meeting records), written in the same transaction as the
-- event that changes it. Times are RFC 3339 text in UTC; an empty token is stored as NULL so that
-- only tokens that are set must be unique.

CREATE TABLE deals (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    account    TEXT NOT NULL DEFAULT '',  -- the buyer's organisation
    vendor     TEXT NOT NULL DEFAULT '',
    partner    TEXT NOT NULL DEFAULT '',
    token      TEXT UNIQUE,               -- grants access to the deal page
    created_at TEXT NOT NULL
);

CREATE TABLE meetings (
    id           TEXT PRIMARY KEY,
    deal_id      TEXT REFERENCES deals (id),
    title        TEXT NOT NULL DEFAULT '',
    started_at   TEXT NOT NULL,
    timezone     TEXT NOT NULL DEFAULT '',  -- IANA name; due dates resolve in it
    language     TEXT NOT NULL DEFAULT '',  -- ISO 639-1
    token        TEXT UNIQUE,               -- grants access to the meeting page
    described    INTEGER NOT NULL DEFAULT 0, -- 1 once created as a record, 0 when first seen in the log
    state        TEXT NOT NULL DEFAULT '',  -- last meeting.state
    state_reason TEXT NOT NULL DEFAULT '',
    last_seq     INTEGER NOT NULL DEFAULT 0, -- Seq of the meeting's last event
    created_at   TEXT NOT NULL
);

CREATE INDEX meetings_by_deal ON meetings (deal_id, started_at);

CREATE TABLE events (
    meeting_id TEXT NOT NULL REFERENCES meetings (id),
    seq        INTEGER NOT NULL CHECK (seq > 0),
    type       TEXT NOT NULL,
    at         TEXT NOT NULL,
    json       TEXT NOT NULL,  -- the event exactly as sent to viewers
    PRIMARY KEY (meeting_id, seq)
);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TABLE participants (
    meeting_id   TEXT NOT NULL REFERENCES meetings (id),
    speaker_id   TEXT NOT NULL,
    channel      TEXT NOT NULL DEFAULT '',
    name         TEXT NOT NULL DEFAULT '',
    organisation TEXT NOT NULL DEFAULT '',
    role         TEXT NOT NULL DEFAULT 'other' CHECK (role IN ('vendor', 'partner', 'buyer', 'other')),
    seq          INTEGER NOT NULL,  -- the speaker.update that set this row
    PRIMARY KEY (meeting_id, speaker_id)
);

CREATE TABLE segments (
    meeting_id   TEXT NOT NULL REFERENCES meetings (id),
    seq          INTEGER NOT NULL,  -- the segment.final that set this row
    segment_id   TEXT NOT NULL,
    channel      TEXT NOT NULL DEFAULT '',
    speaker      TEXT NOT NULL DEFAULT '',
    organisation TEXT NOT NULL DEFAULT '',
    start_ms     INTEGER NOT NULL,
    end_ms       INTEGER NOT NULL,
    text         TEXT NOT NULL,
    language     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (meeting_id, segment_id)
);

CREATE INDEX segments_in_order ON segments (meeting_id, start_ms, seq);

CREATE TABLE commitments (
    meeting_id  TEXT NOT NULL REFERENCES meetings (id),
    id          TEXT NOT NULL,
    what        TEXT NOT NULL,
    owner       TEXT NOT NULL DEFAULT '',
    owner_org   TEXT NOT NULL DEFAULT '',
    beneficiary TEXT NOT NULL DEFAULT '',
    due         TEXT NOT NULL DEFAULT '',  -- YYYY-MM-DD in the meeting's timezone
    due_phrase  TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT '',
    confidence  REAL NOT NULL DEFAULT 0,
    quote       TEXT NOT NULL DEFAULT '',
    segment_ids TEXT NOT NULL DEFAULT '[]',  -- JSON array of segment IDs
    start_ms    INTEGER NOT NULL DEFAULT 0,
    seq         INTEGER NOT NULL,  -- the commitment.upsert that set this row
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (meeting_id, id)
);
