-- Ledgerline store on PostgreSQL, schema version 5, as the SQLite store's version 8: who speaks for an
-- organisation that owns a commitment, and the beneficiary's organisation.

-- +goose Up
ALTER TABLE commitments ADD COLUMN contact text NOT NULL DEFAULT '';
ALTER TABLE commitments ADD COLUMN beneficiary_org text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE commitments DROP COLUMN beneficiary_org;
ALTER TABLE commitments DROP COLUMN contact;
