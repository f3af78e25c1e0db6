-- Ledgerline store on PostgreSQL, schema version 7: CRM pushes, as in the SQLite store's version 10.

-- +goose Up
CREATE TABLE crm_orgs (
    org_id       text COLLATE "C" PRIMARY KEY REFERENCES orgs (id),
    provider     text NOT NULL CHECK (provider IN ('hubspot', 'salesforce')),
    instance_url text NOT NULL DEFAULT '',
    token_sealed text NOT NULL,
    updated_at   timestamptz NOT NULL
);

CREATE TABLE crm_deals (
    deal_id    text COLLATE "C" PRIMARY KEY REFERENCES deals (id),
    record_id  text NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE crm_items (
    meeting_id text COLLATE "C" NOT NULL REFERENCES meetings (id),
    provider   text COLLATE "C" NOT NULL,
    record_id  text COLLATE "C" NOT NULL,
    item       text COLLATE "C" NOT NULL,
    remote_id  text NOT NULL DEFAULT '',
    digest     text NOT NULL DEFAULT '',
    started_at timestamptz NOT NULL,
    pushed_at  timestamptz,
    PRIMARY KEY (meeting_id, provider, record_id, item)
);
