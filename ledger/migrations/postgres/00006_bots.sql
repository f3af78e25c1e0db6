-- Ledgerline store on PostgreSQL, schema version 6: meeting bots and calendars, as in the SQLite
-- store's version 9. The build before it still runs against it: the new column has a default.

-- +goose Up
CREATE TABLE calendars (
    id           text COLLATE "C" PRIMARY KEY,
    org_id       text COLLATE "C" NOT NULL REFERENCES orgs (id),
    url          text NOT NULL,                 -- a secret: never shown whole
    send_bot     boolean NOT NULL,
    lead_seconds integer NOT NULL CHECK (lead_seconds >= 0),
    created_by   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    etag         text NOT NULL DEFAULT '',
    next_poll_ms bigint NOT NULL DEFAULT 0,     -- Unix ms: claimed by one process at a time
    polled_at    timestamptz,
    poll_error   text NOT NULL DEFAULT ''
);

CREATE INDEX calendars_by_org ON calendars (org_id);

CREATE TABLE bots (
    id          text COLLATE "C" PRIMARY KEY,
    org_id      text COLLATE "C" NOT NULL REFERENCES orgs (id),
    meeting_url text NOT NULL,
    platform    text NOT NULL,
    title       text NOT NULL DEFAULT '',
    deal_id     text COLLATE "C" REFERENCES deals (id),
    join_at_ms  bigint NOT NULL,
    meeting_id  text COLLATE "C" NOT NULL,
    status      text NOT NULL CHECK (status IN ('scheduled', 'started', 'cancelled', 'withdrawn')),
    started_by  text NOT NULL DEFAULT '',
    created_by  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    calendar_id text COLLATE "C" REFERENCES calendars (id),
    event_key   text COLLATE "C",
    UNIQUE (calendar_id, event_key)
);

CREATE INDEX bots_due ON bots (join_at_ms) WHERE status = 'scheduled';
CREATE INDEX bots_by_org ON bots (org_id, join_at_ms);

ALTER TABLE orgs ADD COLUMN domains text NOT NULL DEFAULT '';
