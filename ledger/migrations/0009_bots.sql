-- Ledgerline store, schema version 9: meeting bots a team server sends into web calls, asked for
-- by people or scheduled from their organisations' calendars, and the calendars it reads.

-- A calendar is an organisation's ICS feed (the secret address Google and Outlook give). The URL
-- is a secret: it is read to poll the feed and never shown whole.
CREATE TABLE calendars (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs (id),
    url          TEXT NOT NULL,
    send_bot     INTEGER NOT NULL CHECK (send_bot IN (0, 1)),
    lead_seconds INTEGER NOT NULL CHECK (lead_seconds >= 0),
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    etag         TEXT NOT NULL DEFAULT '',  -- of the last answer, for a conditional GET
    next_poll_ms INTEGER NOT NULL DEFAULT 0, -- Unix ms: claimed by one process at a time
    polled_at    TEXT,
    poll_error   TEXT NOT NULL DEFAULT ''
);

CREATE INDEX calendars_by_org ON calendars (org_id);

-- A bot request: a meeting link, when to join it (Unix ms, so that both databases compare it as a
-- number), and the hosted meeting it records into once a process has claimed it (status started).
-- A calendar's bots name their event (UID and instance start): one bot per event.
CREATE TABLE bots (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id),
    meeting_url TEXT NOT NULL,
    platform    TEXT NOT NULL,
    title       TEXT NOT NULL DEFAULT '',
    deal_id     TEXT REFERENCES deals (id),
    join_at_ms  INTEGER NOT NULL,
    meeting_id  TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('scheduled', 'started', 'cancelled', 'withdrawn')),
    started_by  TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    calendar_id TEXT REFERENCES calendars (id),
    event_key   TEXT,
    UNIQUE (calendar_id, event_key)
);

CREATE INDEX bots_due ON bots (join_at_ms) WHERE status = 'scheduled';
CREATE INDEX bots_by_org ON bots (org_id, join_at_ms);

-- The email domains of an organisation's people, lower case, separated by spaces: a calendar
-- event's attendees name the deal its bot files the meeting under.
ALTER TABLE orgs ADD COLUMN domains TEXT NOT NULL DEFAULT '';
