-- Ledgerline store on PostgreSQL, schema version 3, as the SQLite store's version 6: what a team
-- server keeps beside the record (organisations, the credentials their people and programs
-- present, the deals shared with them), what a laptop keeps of the meetings it uploads to one, and
-- the search of transcripts, commitments and speakers. The build before it still runs against it:
-- every new column may be NULL.

-- +goose Up
CREATE TABLE orgs (
    id         text COLLATE "C" PRIMARY KEY,
    name       text COLLATE "C" NOT NULL UNIQUE,
    created_at timestamptz NOT NULL
);

-- A credential is kept by the SHA-256 digest of its secret, never the secret.
CREATE TABLE credentials (
    id         text COLLATE "C" PRIMARY KEY,          -- public handle, to list and revoke it
    digest     text COLLATE "C" NOT NULL UNIQUE,      -- lowercase hex SHA-256 of the secret
    kind       text NOT NULL CHECK (kind IN ('token', 'invite', 'session')),
    org_id     text COLLATE "C" REFERENCES orgs (id), -- NULL for the server's administrator
    role       text NOT NULL CHECK (role IN ('admin', 'member')),
    name       text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    expires_at timestamptz,                           -- NULL: never
    used_at    timestamptz,                           -- when an invite was redeemed
    revoked_at timestamptz
);

CREATE INDEX credentials_by_org ON credentials (org_id, kind);

-- The organisation that owns a deal (the vendor), and the one that recorded a meeting.
ALTER TABLE deals ADD COLUMN owner_org text COLLATE "C" REFERENCES orgs (id);
ALTER TABLE meetings ADD COLUMN org_id text COLLATE "C" REFERENCES orgs (id);
-- A hosted meeting is recorded by the server's own pipeline, from the audio its participants send
-- over WebRTC; the others were recorded elsewhere (a laptop) and sent in.
ALTER TABLE meetings ADD COLUMN hosted boolean NOT NULL DEFAULT false;
CREATE INDEX deals_by_owner ON deals (owner_org);
CREATE INDEX meetings_by_org ON meetings (org_id);

-- The organisations a deal is shared with, and at which level.
CREATE TABLE deal_shares (
    deal_id text COLLATE "C" NOT NULL REFERENCES deals (id),
    org_id  text COLLATE "C" NOT NULL REFERENCES orgs (id),
    level   text NOT NULL CHECK (level IN ('view', 'edit')),
    PRIMARY KEY (deal_id, org_id)
);

CREATE INDEX deal_shares_by_org ON deal_shares (org_id);

-- An event imported from another log (a laptop's) names that log and its Seq there, so that it is
-- stored once however often it is sent. Adding columns fires none of the events' triggers.
ALTER TABLE events ADD COLUMN origin text COLLATE "C";
ALTER TABLE events ADD COLUMN origin_seq bigint;
CREATE UNIQUE INDEX events_by_origin ON events (meeting_id, origin, origin_seq) WHERE origin IS NOT NULL;

-- A laptop's outbox: the meetings to send to a team server, and how far it acknowledged each. A
-- meeting is named by ID only, as it may be added before its first event; deal_id names a deal on
-- the server, not here.
CREATE TABLE uploads (
    meeting_id text COLLATE "C" NOT NULL,
    server     text COLLATE "C" NOT NULL,  -- the server's base URL, as the user gave it
    origin     text NOT NULL,             -- names this log to the server: kept with the upload
    deal_id    text NOT NULL DEFAULT '',
    acked      bigint NOT NULL DEFAULT 0,  -- the highest local Seq the server acknowledged
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (meeting_id, server)
);

-- Search: the words of final segments, commitments and speakers' names, with the 'simple'
-- configuration (no stemming, no stop words: transcripts mix languages). A query must use these
-- very expressions to use the indexes (searchHits in team_sql.go).
CREATE INDEX segments_search ON segments USING gin (to_tsvector('simple', text));
CREATE INDEX commitments_search ON commitments USING gin (to_tsvector('simple', what || ' ' || quote));
CREATE INDEX participants_search ON participants USING gin (to_tsvector('simple', name));
