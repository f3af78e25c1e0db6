-- Ledgerline store on PostgreSQL, schema version 1: the SQLite store's schema as of its version 4,
-- in PostgreSQL's types. Migrations here are goose's (github.com/pressly/goose): each file is one
-- version, applied in a transaction, never edited once released; a change is a new file, written
-- so that the build before it still runs against it (replicas are upgraded one at a time).
--
-- The events table is the meeting's log: append-only, the source of truth. Every other table is a
-- projection of it (plus the deal and meeting records), written in the same transaction as the
-- event that changes it. An empty token is stored as NULL so that only tokens that are set must be
-- unique. Keys collate as bytes ("C"), as SQLite compares them, so that lists come in the same
-- order from either store whatever the database's locale.

-- +goose Up
CREATE TABLE deals (
    id         text COLLATE "C" PRIMARY KEY,
    name       text NOT NULL,
    account    text NOT NULL DEFAULT '',  -- the buyer's organisation
    vendor     text NOT NULL DEFAULT '',
    partner    text NOT NULL DEFAULT '',
    token      text UNIQUE,               -- grants access to the deal page
    created_at timestamptz NOT NULL
);

CREATE TABLE meetings (
    id           text COLLATE "C" PRIMARY KEY,
    deal_id      text COLLATE "C" REFERENCES deals (id),
    title        text NOT NULL DEFAULT '',
    started_at   timestamptz NOT NULL,
    timezone     text NOT NULL DEFAULT '',      -- IANA name; due dates resolve in it
    language     text NOT NULL DEFAULT '',      -- ISO 639-1
    token        text UNIQUE,                   -- grants access to the meeting page
    described    boolean NOT NULL DEFAULT false, -- created as a record, rather than only seen in the log
    state        text NOT NULL DEFAULT '',      -- last meeting.state
    state_reason text NOT NULL DEFAULT '',
    state_seq    bigint NOT NULL DEFAULT 0,     -- the last meeting.state event
    runs         integer NOT NULL DEFAULT 0,    -- meeting.state events that start a run (recording, "started")
    last_seq     bigint NOT NULL DEFAULT 0,     -- Seq of the meeting's last event: each append counts it on
    created_at   timestamptz NOT NULL
);

CREATE INDEX meetings_by_deal ON meetings (deal_id, started_at);

CREATE TABLE events (
    meeting_id text COLLATE "C" NOT NULL REFERENCES meetings (id),
    seq        bigint NOT NULL CHECK (seq > 0),
    type       text NOT NULL,
    at         timestamptz NOT NULL,
    json       jsonb NOT NULL,  -- the event as sent to viewers
    PRIMARY KEY (meeting_id, seq)
);

-- +goose StatementBegin
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

CREATE TABLE participants (
    meeting_id   text COLLATE "C" NOT NULL REFERENCES meetings (id),
    speaker_id   text COLLATE "C" NOT NULL,
    channel      text NOT NULL DEFAULT '',
    name         text NOT NULL DEFAULT '',
    organisation text NOT NULL DEFAULT '',
    -- The role the speaker.update stated, or else the one the organisation has in the deal.
    role         text NOT NULL DEFAULT 'other' CHECK (role IN ('vendor', 'partner', 'buyer', 'other')),
    -- The role the speaker.update stated; '' when it stated none.
    stated_role  text NOT NULL DEFAULT '' CHECK (stated_role IN ('', 'vendor', 'partner', 'buyer', 'other')),
    consent      text NOT NULL DEFAULT '',  -- "declined" for a participant who refused to be recorded
    seq          bigint NOT NULL,           -- the speaker.update that set this row
    PRIMARY KEY (meeting_id, speaker_id)
);

CREATE TABLE segments (
    meeting_id   text COLLATE "C" NOT NULL REFERENCES meetings (id),
    seq          bigint NOT NULL,  -- the segment.final that set this row
    segment_id   text COLLATE "C" NOT NULL,
    channel      text NOT NULL DEFAULT '',
    speaker      text COLLATE "C" NOT NULL DEFAULT '',
    organisation text NOT NULL DEFAULT '',
    -- The role the segment's speaker had when it was said; '' when unknown.
    role         text NOT NULL DEFAULT '' CHECK (role IN ('', 'vendor', 'partner', 'buyer', 'other')),
    start_ms     bigint NOT NULL,
    end_ms       bigint NOT NULL,
    text         text NOT NULL,
    language     text NOT NULL DEFAULT '',
    PRIMARY KEY (meeting_id, segment_id)
);

CREATE INDEX segments_in_order ON segments (meeting_id, start_ms, seq);
-- A voice never named is found by its latest final segment.
CREATE INDEX segments_by_speaker ON segments (meeting_id, speaker, seq);

CREATE TABLE commitments (
    meeting_id  text COLLATE "C" NOT NULL REFERENCES meetings (id),
    id          text COLLATE "C" NOT NULL,
    what        text NOT NULL,
    owner       text NOT NULL DEFAULT '',
    owner_org   text NOT NULL DEFAULT '',
    beneficiary text NOT NULL DEFAULT '',
    due         text NOT NULL DEFAULT '',  -- YYYY-MM-DD in the meeting's timezone
    due_phrase  text NOT NULL DEFAULT '',
    status      text NOT NULL DEFAULT '',
    confidence  double precision NOT NULL DEFAULT 0,
    quote       text NOT NULL DEFAULT '',
    segment_ids jsonb NOT NULL DEFAULT '[]',  -- array of segment IDs
    start_ms    bigint NOT NULL DEFAULT 0,
    seq         bigint NOT NULL,              -- the commitment.upsert that set this row
    updated_at  timestamptz NOT NULL,
    updated_by  text NOT NULL DEFAULT '',
    edited      jsonb NOT NULL DEFAULT '[]',  -- array of the field names a person set
    PRIMARY KEY (meeting_id, id)
);
