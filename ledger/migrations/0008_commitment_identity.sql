-- Who speaks for an organisation that owns a commitment, and the beneficiary's organisation.
ALTER TABLE commitments ADD COLUMN contact TEXT NOT NULL DEFAULT '';
ALTER TABLE commitments ADD COLUMN beneficiary_org TEXT NOT NULL DEFAULT '';
