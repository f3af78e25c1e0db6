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

// keeper owns a meeting's commitments: the rule-based detector finds them in
// each final, the book merges a promise said again into the first one, a
// person's edits change them, and an optional refiner double-checks them.
// Every change is made under mu together with its append, so changes reach
// the log in the order they were made and none is computed from a state
// another has already replaced: a merge never reverts an edit, an edit never
// drops evidence heard while the person was typing.
type keeper struct {
	log     EventLog
	meeting string
	date    time.Time
	logger  *slog.Logger

	mu sync.Mutex
	// The detector keeps a little of the meeting's recent talk as context
	// ("can you send the pricing?" … "sure, by Friday"), shared by all channels.
	detector *detect.Detector
	book     *detect.Book

	refiner detect.Refiner
	refines chan refineJob // to the refiner worker; full means skip
}

// refineJob is one final's commitments for the refiner to double-check.
type refineJob struct {
	u     detect.Utterance
	found []detect.Commitment
	ids   []string
}

// refineQueue bounds the finals waiting for the refiner: when it is slower
// than the meeting, later commitments keep their rule-based form.
const refineQueue = 64

// refineTimeout bounds one refiner call: a late verdict is worth little.
const refineTimeout = 20 * time.Second

func newKeeper(log EventLog, meeting, idPrefix string, date time.Time, refiner detect.Refiner, logger *slog.Logger) *keeper {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	k := &keeper{log: log, meeting: meeting, date: date, refiner: refiner, logger: logger,
		detector: detect.NewDetector(), book: detect.NewBook(detect.WithIDPrefix(idPrefix + "c-"))}
	if refiner != nil {
		k.refines = make(chan refineJob, refineQueue)
	}
	return k
}

// record appends the commitments seg states, said by sp.
func (k *keeper) record(ctx context.Context, seg *ledger.SegmentInfo, sp Speaker) error {
	u := detect.Utterance{Text: seg.Text, Speaker: detectSpeaker(sp), Language: seg.Language, MeetingDate: k.date}
	k.mu.Lock()
	defer k.mu.Unlock()
	found := k.detector.Detect(u)
	ids := make([]string, len(found))
	for i, c := range found {
		info, _ := k.book.Add(c, *seg)
		ids[i] = info.ID
		if err := k.append(ctx, info, ""); err != nil {
			return err
		}
	}
	if k.refines != nil && len(found) > 0 {
		select {
		case k.refines <- refineJob{u: u, found: found, ids: ids}:
		default:
			k.logger.Warn("commitment refiner is behind; these commitments keep their rule-based form", "ids", ids)
		}
	}
	return nil
}

// edit applies a person's edit to the commitment as it stands and appends it.
func (k *keeper) edit(ctx context.Context, id string, edit ledger.CommitmentEdit, by string) (ledger.Event, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	info, ok := k.current(id)
	if !ok {
		return ledger.Event{}, fmt.Errorf("agent: commitment %q: %w", id, ledger.ErrNotFound)
	}
	edit.Apply(&info)
	e, err := k.log.Append(ledger.WithActor(ctx, by), ledger.Event{Type: ledger.TypeCommitmentUpsert, Meeting: k.meeting, Commitment: &info, By: by})
	if err != nil {
		return ledger.Event{}, fmt.Errorf("agent: store edit of commitment %q: %w", id, err)
	}
	k.book.Observe(info)
	return e, nil
}

// meet tells the detector of a participant who joined, so that a colleague
// named in passing before they speak ("léa will prepare the demo") is known.
func (k *keeper) meet(sp Speaker) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.detector.Meet(detectSpeaker(sp))
}

// detectSpeaker is a speaker as the detector knows them: "we" is the speaker's organisation, or
// their side of the deal when that is all that is known.
func detectSpeaker(sp Speaker) detect.Speaker {
	return detect.Speaker{Name: sp.Name, Org: ledger.OrgOrRole(sp.Org, sp.Role)}
}

// observe takes in a change appended elsewhere (an edit imported from
// another machine, the record of an earlier run), so that a repeated
// promise merges into the commitment as it now stands.
func (k *keeper) observe(info ledger.CommitmentInfo) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.book.Observe(info)
}

// append records info as the book holds it. mu held.
func (k *keeper) append(ctx context.Context, info ledger.CommitmentInfo, by string) error {
	if _, err := k.log.Append(ctx, ledger.Event{Type: ledger.TypeCommitmentUpsert, Meeting: k.meeting, Commitment: &info, By: by}); err != nil {
		return fmt.Errorf("agent: store commitment %q: %w", info.ID, err)
	}
	return nil
}

// current returns the book's commitment with id. mu held.
func (k *keeper) current(id string) (ledger.CommitmentInfo, bool) {
	for _, c := range k.book.Commitments() {
		if c.ID == id {
			return c, true
		}
	}
	return ledger.CommitmentInfo{}, false
}

// refineAll is the refiner worker. It returns once finish was called and
// the queue is done, or at once when ctx is done, which cancels a call in
// flight: a stop never waits on the refiner.
func (k *keeper) refineAll(ctx context.Context) {
	if k.refines == nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case job, ok := <-k.refines:
			if !ok {
				return
			}
			k.refine(ctx, job)
		}
	}
}

// finish tells the refiner worker that no more commitments will come.
func (k *keeper) finish() {
	if k.refines != nil {
		close(k.refines)
	}
}

// refine asks the refiner about commitments already recorded and records
// what it changes: a better phrase, or a dismissal. What a person set stands.
func (k *keeper) refine(ctx context.Context, job refineJob) {
	callCtx, cancel := context.WithTimeout(ctx, refineTimeout)
	verdicts, err := k.refiner.Refine(callCtx, job.u, job.found)
	cancel()
	if ctx.Err() != nil {
		return
	}
	if err != nil || len(verdicts) != len(job.ids) {
		k.logger.Warn("commitment refiner failed; the rule-based commitments stand", "err", err)
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for i, v := range verdicts {
		// Judge the commitment as it stands now: it may have gathered more
		// evidence, or a person may have edited it, since it was found.
		info, ok := k.current(job.ids[i])
		if !ok {
			continue
		}
		switch {
		case !v.Keep && !info.EditedBy(ledger.EditStatus):
			info.Status = ledger.StatusDropped
		case v.Keep && v.What != "" && v.What != info.What && !info.EditedBy(ledger.EditWhat):
			info.What = v.What
		default:
			continue
		}
		if err := k.append(context.WithoutCancel(ctx), info, "refiner"); err != nil {
			k.logger.Warn("record a refined commitment", "id", info.ID, "err", err)
			continue
		}
		k.book.Observe(info)
	}
}
