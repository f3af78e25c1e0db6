-- Ledgerline store, schema version 2: what a live meeting's controls read of its current state,
-- so that no request has to replay the meeting's log.

-- The last meeting.state event, which pause and resume answer with.
ALTER TABLE meetings ADD COLUMN state_seq INTEGER NOT NULL DEFAULT 0;
-- How many runs have recorded the meeting: meeting.state events that start one (recording,
-- reason "started"). A continued meeting gives the IDs of its next run a prefix from it.
ALTER TABLE meetings ADD COLUMN runs INTEGER NOT NULL DEFAULT 0;
-- "declined" for a participant who refused to be recorded; a rename keeps it.
ALTER TABLE participants ADD COLUMN consent TEXT NOT NULL DEFAULT '';

-- A voice never named is found by its latest final segment.
CREATE INDEX segments_by_speaker ON segments (meeting_id, speaker, seq);

UPDATE meetings SET
    state_seq = COALESCE((SELECT MAX(seq) FROM events
        WHERE events.meeting_id = meetings.id AND events.type = 'meeting.state'), 0),
    runs = (SELECT COUNT(*) FROM events
        WHERE events.meeting_id = meetings.id AND events.type = 'meeting.state'
            AND json_extract(events.json, '$.state') = 'recording'
            AND json_extract(events.json, '$.reason') = 'started');

UPDATE participants SET consent = COALESCE((SELECT json_extract(events.json, '$.speaker.consent') FROM events
    WHERE events.meeting_id = participants.meeting_id AND events.seq = participants.seq), '');
