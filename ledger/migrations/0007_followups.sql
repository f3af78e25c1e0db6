-- Ledgerline store, schema version 7: the follow-up each stop of a meeting owes (its recap sent to
-- the webhooks). A row is written in the transaction that stores the meeting.state "stopped" event,
-- so that a crash after the stop cannot lose it; done_at is set once it was carried out.

CREATE TABLE followups (
    meeting_id TEXT NOT NULL REFERENCES meetings (id),
    state_seq  INTEGER NOT NULL,  -- the stopped event's Seq
    due_at     TEXT NOT NULL,     -- the stopped event's time
    done_at    TEXT,
    PRIMARY KEY (meeting_id, state_seq)
);

CREATE INDEX followups_pending ON followups (due_at) WHERE done_at IS NULL;
