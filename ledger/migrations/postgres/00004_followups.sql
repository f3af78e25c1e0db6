-- Ledgerline store on PostgreSQL, schema version 4: follow-ups, as in the SQLite store's version 7.
-- A row is written in the transaction that stores a meeting.state "stopped" event; done_at is set
-- once the follow-up (the recap sent to the webhooks) was carried out.

-- +goose Up
CREATE TABLE followups (
    meeting_id text COLLATE "C" NOT NULL REFERENCES meetings (id),
    state_seq  bigint NOT NULL,
    due_at     timestamptz NOT NULL,
    done_at    timestamptz,
    PRIMARY KEY (meeting_id, state_seq)
);

CREATE INDEX followups_pending ON followups (due_at) WHERE done_at IS NULL;
