-- Ledgerline store, schema version 3: which fields of a commitment a person set, so that what the
-- pipeline hears later leaves them as the person left them (CommitmentInfo.Edited).
ALTER TABLE commitments ADD COLUMN edited TEXT NOT NULL DEFAULT '[]'; -- JSON array of field names

UPDATE commitments SET edited = COALESCE((SELECT json_extract(events.json, '$.commitment.edited') FROM events
    WHERE events.meeting_id = commitments.meeting_id AND events.seq = commitments.seq), '[]');
