package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ledgerline/ledgerline/detect"
	"github.com/ledgerline/ledgerline/ledger"
)

// keeper records the commitments a meeting's finals state, right after each
// final: the rule-based detector finds them, the book merges a promise said
// again into the first one, and an optional refiner double-checks them later.
type keeper struct {
	log     EventLog
	meeting string
	date    time.Time
	refiner detect.Refiner
	logger  *slog.Logger

	// The detector keeps a little of the meeting's recent talk as context
	// ("can you send the pricing?" … "sure, by Friday"), shared by all channels.
	mu       sync.Mutex
	detector *detect.Detector
	book     *detect.Book

	refining sync.WaitGroup // refiner calls in flight
}

func newKeeper(log EventLog, meeting, idPrefix string, date time.Time, refiner detect.Refiner, logger *slog.Logger) *keeper {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &keeper{log: log, meeting: meeting, date: date, refiner: refiner, logger: logger,
		detector: detect.NewDetector(), book: detect.NewBook(detect.WithIDPrefix(idPrefix + "c-"))}
}

// record appends the commitments seg states, said by sp.
func (k *keeper) record(ctx context.Context, seg *ledger.SegmentInfo, sp Speaker) error {
	u := detect.Utterance{Text: seg.Text, Speaker: detect.Speaker{Name: sp.Name, Org: sp.Org},
		Language: seg.Language, MeetingDate: k.date}
	k.mu.Lock()
	found := k.detector.Detect(u)
	k.mu.Unlock()
	infos := make([]*ledger.CommitmentInfo, len(found))
	for i, c := range found {
		info, _ := k.book.Add(c, *seg)
		infos[i] = &info
		if _, err := k.log.Append(ctx, ledger.Event{Type: ledger.TypeCommitmentUpsert, Meeting: k.meeting, Commitment: infos[i]}); err != nil {
			return fmt.Errorf("agent: store commitment: %w", err)
		}
	}
	if k.refiner != nil && len(found) > 0 {
		k.refining.Add(1)
		go func() {
			defer k.refining.Done()
			k.refine(context.WithoutCancel(ctx), u, found, infos)
		}()
	}
	return nil
}

// observe brings the book up to date with a change made elsewhere (a
// viewer's edit), so that a repeated promise merges into the edited one.
func (k *keeper) observe(info ledger.CommitmentInfo) { k.book.Observe(info) }

// current returns the book's commitment with id.
func (k *keeper) current(id string) (ledger.CommitmentInfo, bool) {
	for _, c := range k.book.Commitments() {
		if c.ID == id {
			return c, true
		}
	}
	return ledger.CommitmentInfo{}, false
}

// wait returns once every refiner call has ended.
func (k *keeper) wait() { k.refining.Wait() }

// refineTimeout bounds one refiner call: a late verdict is worth little.
const refineTimeout = 20 * time.Second

// refine asks the refiner about commitments already recorded and records
// what it changes: a better phrase, or a dismissal.
func (k *keeper) refine(ctx context.Context, u detect.Utterance, found []detect.Commitment, infos []*ledger.CommitmentInfo) {
	ctx, cancel := context.WithTimeout(ctx, refineTimeout)
	defer cancel()
	verdicts, err := k.refiner.Refine(ctx, u, found)
	if err != nil || len(verdicts) != len(infos) {
		k.logger.Warn("commitment refiner failed; the rule-based commitments stand", "err", err)
		return
	}
	for i, v := range verdicts {
		// Judge the commitment as it stands now: it may have gathered more
		// evidence, or a viewer may have edited it, since it was found.
		info, ok := k.current(infos[i].ID)
		if !ok {
			continue
		}
		switch {
		case !v.Keep:
			info.Status = ledger.StatusDropped
		case v.What != "" && v.What != info.What:
			info.What = v.What
		default:
			continue
		}
		if _, err := k.log.Append(ctx, ledger.Event{Type: ledger.TypeCommitmentUpsert, Meeting: k.meeting, Commitment: &info, By: "refiner"}); err != nil {
			k.logger.Warn("record a refined commitment", "id", info.ID, "err", err)
			continue
		}
		k.book.Observe(info)
	}
}
