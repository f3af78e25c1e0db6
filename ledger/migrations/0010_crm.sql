-- Ledgerline store, schema version 10: meetings pushed to organisations' CRMs (HubSpot,
-- Salesforce) as a note and tasks on a deal's CRM record.

-- An organisation's CRM: its provider, its instance (Salesforce) and its access token, sealed
-- (AES-GCM, under a key the server keeps outside the database), never stored in the clear.
CREATE TABLE crm_orgs (
    org_id       TEXT PRIMARY KEY REFERENCES orgs (id),
    provider     TEXT NOT NULL CHECK (provider IN ('hubspot', 'salesforce')),
    instance_url TEXT NOT NULL DEFAULT '',
    token_sealed TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

-- The CRM record a deal is pushed to: a HubSpot deal ID or a Salesforce Opportunity ID.
CREATE TABLE crm_deals (
    deal_id    TEXT PRIMARY KEY REFERENCES deals (id),
    record_id  TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- What was pushed: one row per meeting item (its recap, each commitment) and CRM record, written
-- before the CRM is asked to create it (started_at), then given the CRM's ID and a digest of what
-- was sent, so that a push run again updates or skips it and never creates it twice.
CREATE TABLE crm_items (
    meeting_id TEXT NOT NULL REFERENCES meetings (id),
    provider   TEXT NOT NULL,
    record_id  TEXT NOT NULL,
    item       TEXT NOT NULL,
    remote_id  TEXT NOT NULL DEFAULT '',
    digest     TEXT NOT NULL DEFAULT '',
    started_at TEXT NOT NULL,
    pushed_at  TEXT,
    PRIMARY KEY (meeting_id, provider, record_id, item)
);
