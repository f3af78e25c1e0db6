-- Ledgerline store, schema version 4: a speaker's role in the deal as their events state it, apart
-- from their organisation (a company's name). Earlier versions stated no role: their rows keep the
-- defaults, and a participant's role stays the one their organisation has in the meeting's deal.

-- The role the participant's speaker.update stated; '' when it stated none. role holds it when set.
ALTER TABLE participants ADD COLUMN stated_role TEXT NOT NULL DEFAULT ''
    CHECK (stated_role IN ('', 'vendor', 'partner', 'buyer', 'other'));
-- The role the segment's speaker had when it was said; '' when unknown.
ALTER TABLE segments ADD COLUMN role TEXT NOT NULL DEFAULT ''
    CHECK (role IN ('', 'vendor', 'partner', 'buyer', 'other'));
