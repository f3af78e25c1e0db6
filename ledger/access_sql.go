package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// The access rule, written once: the level, 'edit' or 'view', at which a reader may reach a deal
// or a meeting, or NULL where it may not. Access, DealAccess, VisibleMeetings, VisibleDeals and
// Search all ask it, with the arguments that dealAccessArgs and meetingAccessArgs give. A reader
// acting for no organisation passes NULL for it, which equals nothing: without All it reaches
// nothing.
const (
	// dealLevel is the reader's level on deal d: 'edit' for its owner, the share's level for an
	// organisation it is shared with. Arguments: the reader's organisation, twice.
	dealLevel = `CASE WHEN d.owner_org = ? THEN 'edit'
		ELSE (SELECT sh.level FROM deal_shares sh WHERE sh.deal_id = d.id AND sh.org_id = ?) END`
	// dealAccess is the reader's level on deal d. Arguments: dealAccessArgs.
	dealAccess = `CASE WHEN ? THEN 'edit' ELSE ` + dealLevel + ` END`
	// meetingAccess is the reader's level on meeting m: 'edit' for the administrator and the
	// meeting's own organisation, else the level on its deal. Arguments: meetingAccessArgs.
	meetingAccess = `CASE WHEN ? THEN 'edit' WHEN m.org_id = ? THEN 'edit'
		ELSE (SELECT ` + dealLevel + ` FROM deals d WHERE d.id = m.deal_id) END`
)

// readerOrg is the reader's organisation as the access rule takes it: NULL for none.
func readerOrg(r Reader) any {
	if r.OrgID == "" {
		return nil
	}
	return r.OrgID
}

func dealAccessArgs(r Reader) []any {
	org := readerOrg(r)
	return []any{r.All, org, org}
}

func meetingAccessArgs(r Reader) []any {
	org := readerOrg(r)
	return []any{r.All, org, org, org}
}

// Access implements Team.
func (s *sqlStore) Access(ctx context.Context, r Reader, meetingID string) (ShareLevel, error) {
	return s.level(ctx, fmt.Sprintf("meeting %q", meetingID),
		`SELECT `+meetingAccess+` FROM meetings m WHERE m.id = ?`, append(meetingAccessArgs(r), meetingID))
}

// DealAccess implements Team.
func (s *sqlStore) DealAccess(ctx context.Context, r Reader, dealID string) (ShareLevel, error) {
	return s.level(ctx, fmt.Sprintf("deal %q", dealID), `SELECT `+dealAccess+` FROM deals d WHERE d.id = ?`,
		append(dealAccessArgs(r), dealID))
}

// level reads a level from the access rule: ErrNotFound for a record missing or out of reach alike.
func (s *sqlStore) level(ctx context.Context, what, q string, args []any) (ShareLevel, error) {
	var level sql.NullString
	if err := s.row(ctx, what, q, args, &level); err != nil {
		return "", err
	}
	if !level.Valid {
		return "", fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
	}
	return ShareLevel(level.String), nil
}

// VisibleMeetings implements Team.
func (s *sqlStore) VisibleMeetings(ctx context.Context, r Reader) ([]Meeting, error) {
	ms, err := s.meetings(ctx, "visible meetings", `WHERE (`+meetingAccess+`) IS NOT NULL`, meetingAccessArgs(r)...)
	// Sorted here: SQLite keeps times as RFC 3339 text, whose order is not the times' when their
	// fractions of a second differ in length.
	slices.SortStableFunc(ms, func(a, b Meeting) int {
		if c := b.StartedAt.Compare(a.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return ms, err
}

// VisibleDeals implements Team. Names are in byte order, as in both databases' keys.
func (s *sqlStore) VisibleDeals(ctx context.Context, r Reader) ([]Deal, error) {
	ds, err := s.deals(ctx, "visible deals", `WHERE (`+dealAccess+`) IS NOT NULL`, dealAccessArgs(r)...)
	// Sorted here: PostgreSQL orders deals' names by the database's locale.
	slices.SortStableFunc(ds, func(a, b Deal) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return ds, err
}

// searchDialect is what the adapter of a database knows of its full-text search. Its reads (the
// store's r) implement it.
type searchDialect interface {
	// searchHits returns common table expressions that end with hits (meeting_id, kind, item_id,
	// score): the items whose text holds every one of words, the last one as a prefix, with a
	// score that is lower the better the item matches; and their arguments.
	searchHits(words []string) (cte string, args []any)
}

// searchHits implements searchDialect with SQLite's FTS5 (migration 0006). The query quotes each
// word as a string, so that nothing in it is FTS5 syntax; strings side by side must all match.
func (sqliteConn) searchHits(words []string) (string, []any) {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = `"` + w + `"` // words hold letters, marks and digits only: no quote to escape
	}
	return `hits (meeting_id, kind, item_id, score) AS (
			SELECT i.meeting_id, i.kind, i.item_id, search_text.rank
			FROM search_text JOIN search_items i ON i.id = search_text.rowid
			WHERE search_text MATCH ?)`,
		[]any{strings.Join(quoted, " ") + "*"}
}

// searchHits implements searchDialect with PostgreSQL's text search (migration 00003), on the very
// expressions its indexes hold. The query quotes each word as a lexeme, so that nothing in it is
// tsquery syntax.
func (pgConn) searchHits(words []string) (string, []any) {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = `'` + w + `'` // words hold letters, marks and digits only: no quote to escape
	}
	q := strings.Join(quoted, " & ") + ":*"
	return `hits (meeting_id, kind, item_id, score) AS (
			SELECT meeting_id, 'segment', segment_id, -ts_rank(to_tsvector('simple', text), to_tsquery('simple', ?))
			FROM segments WHERE to_tsvector('simple', text) @@ to_tsquery('simple', ?)
			UNION ALL
			SELECT meeting_id, 'commitment', id, -ts_rank(to_tsvector('simple', what || ' ' || quote), to_tsquery('simple', ?))
			FROM commitments WHERE to_tsvector('simple', what || ' ' || quote) @@ to_tsquery('simple', ?)
			UNION ALL
			SELECT meeting_id, 'speaker', speaker_id, -ts_rank(to_tsvector('simple', name), to_tsquery('simple', ?))
			FROM participants WHERE to_tsvector('simple', name) @@ to_tsquery('simple', ?))`,
		[]any{q, q, q, q, q, q}
}

// searchWords splits a search into its words: runs of letters, marks and digits, as both
// databases' tokenizers see words. Anything else separates words, quotes and operators included,
// so that no input is ever a query's syntax.
func searchWords(q string) []string {
	return strings.FieldsFunc(q, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
	})
}

// maxSearchWords bounds the words of a search that are looked for: more only slow it down.
const maxSearchWords = 32

// Search implements Team. A hit in a segment says who said it by the name their speaker.update
// gave, or else by speaker ID; a hit in a commitment gives its What and its owner; a hit on a
// speaker gives their name, and where they first spoke.
func (s *sqlStore) Search(ctx context.Context, r Reader, q string, limit int) ([]SearchHit, error) {
	const what = "search"
	words := searchWords(q)
	if len(words) == 0 || limit <= 0 {
		return nil, s.readable(ctx, what)
	}
	d, ok := s.r.(searchDialect)
	if !ok {
		return nil, fmt.Errorf("ledger: %s: this store has no full-text search", what)
	}
	cte, args := d.searchHits(words[:min(len(words), maxSearchWords)])
	args = append(append(args, meetingAccessArgs(r)...), limit)
	return readRows(ctx, s, s.r, what, `WITH `+cte+`
		SELECT h.meeting_id, m.title, m.deal_id, m.started_at, h.kind, h.item_id,
			CASE h.kind WHEN 'segment' THEN COALESCE(NULLIF(gp.name, ''), g.speaker)
				WHEN 'commitment' THEN c.owner ELSE p.name END,
			CASE h.kind WHEN 'segment' THEN g.text WHEN 'commitment' THEN c.what ELSE p.name END,
			CASE h.kind WHEN 'segment' THEN g.start_ms WHEN 'commitment' THEN c.start_ms
				ELSE COALESCE((SELECT MIN(ps.start_ms) FROM segments ps
					WHERE ps.meeting_id = p.meeting_id AND ps.speaker = p.speaker_id), 0) END
		FROM hits h
		JOIN meetings m ON m.id = h.meeting_id
		LEFT JOIN segments g ON h.kind = 'segment' AND g.meeting_id = h.meeting_id AND g.segment_id = h.item_id
		LEFT JOIN participants gp ON gp.meeting_id = g.meeting_id AND gp.speaker_id = g.speaker
		LEFT JOIN commitments c ON h.kind = 'commitment' AND c.meeting_id = h.meeting_id AND c.id = h.item_id
		LEFT JOIN participants p ON h.kind = 'speaker' AND p.meeting_id = h.meeting_id AND p.speaker_id = h.item_id
		WHERE (`+meetingAccess+`) IS NOT NULL
		ORDER BY h.score, m.started_at DESC, m.id DESC, h.kind, h.item_id
		LIMIT ?`, args, func(rows sqlRows) (SearchHit, error) {
		var (
			h       SearchHit
			deal    sql.NullString
			started dbTime
		)
		err := rows.Scan(&h.MeetingID, &h.Title, &deal, &started, &h.Kind, &h.ItemID, &h.Speaker, &h.Text, &h.StartMS)
		h.DealID, h.StartedAt = deal.String, started.Time
		return h, err
	})
}
