-- Ledgerline store, schema version 6: what a team server keeps beside the record (organisations,
-- the credentials their people and programs present, the deals shared with them), what a laptop
-- keeps of the meetings it uploads to one, and the search of transcripts, commitments and speakers.

CREATE TABLE orgs (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

-- A credential is kept by the SHA-256 digest of its secret, never the secret.
CREATE TABLE credentials (
    id         TEXT PRIMARY KEY,             -- public handle, to list and revoke it
    digest     TEXT NOT NULL UNIQUE,         -- lowercase hex SHA-256 of the secret
    kind       TEXT NOT NULL CHECK (kind IN ('token', 'invite', 'session')),
    org_id     TEXT REFERENCES orgs (id),    -- NULL for the server's administrator
    role       TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    name       TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    expires_at TEXT,                         -- NULL: never
    used_at    TEXT,                         -- when an invite was redeemed
    revoked_at TEXT
);

CREATE INDEX credentials_by_org ON credentials (org_id, kind);

-- The organisation that owns a deal (the vendor), and the one that recorded a meeting.
ALTER TABLE deals ADD COLUMN owner_org TEXT REFERENCES orgs (id);
ALTER TABLE meetings ADD COLUMN org_id TEXT REFERENCES orgs (id);
-- A hosted meeting is recorded by the server's own pipeline, from the audio its participants send
-- over WebRTC; the others were recorded elsewhere (a laptop) and sent in.
ALTER TABLE meetings ADD COLUMN hosted INTEGER NOT NULL DEFAULT 0 CHECK (hosted IN (0, 1));
CREATE INDEX deals_by_owner ON deals (owner_org);
CREATE INDEX meetings_by_org ON meetings (org_id);

-- The organisations a deal is shared with, and at which level.
CREATE TABLE deal_shares (
    deal_id TEXT NOT NULL REFERENCES deals (id),
    org_id  TEXT NOT NULL REFERENCES orgs (id),
    level   TEXT NOT NULL CHECK (level IN ('view', 'edit')),
    PRIMARY KEY (deal_id, org_id)
) WITHOUT ROWID;

CREATE INDEX deal_shares_by_org ON deal_shares (org_id);

-- An event imported from another log (a laptop's) names that log and its Seq there, so that it is
-- stored once however often it is sent.
ALTER TABLE events ADD COLUMN origin TEXT;
ALTER TABLE events ADD COLUMN origin_seq INTEGER;
CREATE UNIQUE INDEX events_by_origin ON events (meeting_id, origin, origin_seq) WHERE origin IS NOT NULL;

-- A laptop's outbox: the meetings to send to a team server, and how far it acknowledged each. A
-- meeting is named by ID only, as it may be added before its first event; deal_id names a deal on
-- the server, not here.
CREATE TABLE uploads (
    meeting_id TEXT NOT NULL,
    server     TEXT NOT NULL,             -- the server's base URL, as the user gave it
    origin     TEXT NOT NULL,             -- names this log to the server: kept with the upload
    deal_id    TEXT NOT NULL DEFAULT '',
    acked      INTEGER NOT NULL DEFAULT 0, -- the highest local Seq the server acknowledged
    updated_at TEXT NOT NULL,
    PRIMARY KEY (meeting_id, server)
) WITHOUT ROWID;

-- Search. search_items numbers each searchable item (a final segment, a commitment, a named
-- speaker) with a key of its own: an implicit rowid, as the projections have, may change on VACUUM,
-- so that an FTS5 table with external content could not follow them. search_text holds the words
-- of each item under that number. Triggers on the projections keep both in step; the projections
-- are upserted, so an update replaces an item's words. The tokenizer keeps diacritics, as
-- PostgreSQL's 'simple' configuration does, so that both stores find the same.
CREATE TABLE search_items (
    id         INTEGER PRIMARY KEY,  -- the rowid of the item's words in search_text
    meeting_id TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('segment', 'commitment', 'speaker')),
    item_id    TEXT NOT NULL,        -- segment_id, commitment id or speaker_id
    UNIQUE (meeting_id, kind, item_id)
);

CREATE VIRTUAL TABLE search_text USING fts5 (text, tokenize = 'unicode61 remove_diacritics 0');

CREATE TRIGGER segments_search_insert AFTER INSERT ON segments
BEGIN
    INSERT OR IGNORE INTO search_items (meeting_id, kind, item_id) VALUES (new.meeting_id, 'segment', new.segment_id);
    INSERT INTO search_text (rowid, text) SELECT id, new.text FROM search_items
        WHERE meeting_id = new.meeting_id AND kind = 'segment' AND item_id = new.segment_id;
END;

CREATE TRIGGER segments_search_update AFTER UPDATE OF text ON segments
BEGIN
    UPDATE search_text SET text = new.text WHERE rowid = (SELECT id FROM search_items
        WHERE meeting_id = new.meeting_id AND kind = 'segment' AND item_id = new.segment_id);
END;

CREATE TRIGGER commitments_search_insert AFTER INSERT ON commitments
BEGIN
    INSERT OR IGNORE INTO search_items (meeting_id, kind, item_id) VALUES (new.meeting_id, 'commitment', new.id);
    INSERT INTO search_text (rowid, text) SELECT id, new.what || ' ' || new.quote FROM search_items
        WHERE meeting_id = new.meeting_id AND kind = 'commitment' AND item_id = new.id;
END;

CREATE TRIGGER commitments_search_update AFTER UPDATE OF what, quote ON commitments
BEGIN
    UPDATE search_text SET text = new.what || ' ' || new.quote WHERE rowid = (SELECT id FROM search_items
        WHERE meeting_id = new.meeting_id AND kind = 'commitment' AND item_id = new.id);
END;

CREATE TRIGGER participants_search_insert AFTER INSERT ON participants
BEGIN
    INSERT OR IGNORE INTO search_items (meeting_id, kind, item_id) VALUES (new.meeting_id, 'speaker', new.speaker_id);
    INSERT INTO search_text (rowid, text) SELECT id, new.name FROM search_items
        WHERE meeting_id = new.meeting_id AND kind = 'speaker' AND item_id = new.speaker_id;
END;

CREATE TRIGGER participants_search_update AFTER UPDATE OF name ON participants
BEGIN
    UPDATE search_text SET text = new.name WHERE rowid = (SELECT id FROM search_items
        WHERE meeting_id = new.meeting_id AND kind = 'speaker' AND item_id = new.speaker_id);
END;

-- What was recorded before this version is found too.
INSERT INTO search_items (meeting_id, kind, item_id)
    SELECT meeting_id, 'segment', segment_id FROM segments
    UNION ALL SELECT meeting_id, 'commitment', id FROM commitments
    UNION ALL SELECT meeting_id, 'speaker', speaker_id FROM participants;
INSERT INTO search_text (rowid, text)
    SELECT i.id, g.text FROM search_items i JOIN segments g ON g.meeting_id = i.meeting_id AND g.segment_id = i.item_id
        WHERE i.kind = 'segment'
    UNION ALL SELECT i.id, c.what || ' ' || c.quote FROM search_items i
        JOIN commitments c ON c.meeting_id = i.meeting_id AND c.id = i.item_id WHERE i.kind = 'commitment'
    UNION ALL SELECT i.id, p.name FROM search_items i
        JOIN participants p ON p.meeting_id = i.meeting_id AND p.speaker_id = i.item_id WHERE i.kind = 'speaker';
