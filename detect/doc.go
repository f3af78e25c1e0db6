// Package detect finds what was said that the record keeps: commitments — who promised what, to
// whom, by when, with the quote as evidence — and the questions and objections raised. Its
// rule-based Detector reads final transcript segments (en, es, de, fr, pt) with no network and no
// model weights; a Book merges a promise said again into the first one; an optional Refiner asks a
// language model to double-check. What it finds goes into the record as ledger events; it never
// writes the record itself.
//
// # Detection rules
//
// A commitment is an action the speaker's side promises to do for, or report back to, another
// party of the call. The Detector finds three kinds:
//
//   - first-person promises and obligations: "we'll send you…", "I will…", "let me get back to you…",
//     "te lo envío…", "ich schicke Ihnen…", "je vous envoie…", "vou mandar…", "I need to send…";
//   - requests another speaker made that the speaker accepts ("can you share the pricing?" … "sure, by
//     Friday"): the owner is the one who accepts;
//   - offers the speaker made that another speaker accepts ("shall I send the deck?" … "yes please"): the
//     owner is the one who offered.
//
// It rejects questions, unaccepted offers, hedges ("we might", "maybe we could", "probably"), negations
// ("we won't"), hypotheticals and conditionals ("if we were to…"; a politeness tail such as "if that works
// for you" is ignored), past-tense reports ("we sent it last week"), reported speech about others ("they
// said they'd send it"), habits ("we usually send") and a side's own plans. The rule for plans: a verb of
// running one's own organisation (migrate, roll out, hire, evaluate, launch, discuss…) is a commitment only
// when the clause directs it at another party ("in your staging environment", "with you"); anything said
// to be internal ("we'll discuss it internally") never is. The rule is the same for every speaker, so a
// buyer's "we'll get back to you with a decision by Friday" is a commitment and "we're going to migrate our
// ERP next year" is not. Two more rules keep a meeting's own talk out of the ledger: an inclusive "we"
// (or "let's", or a "we have to…") must name the other party, a date or a deliverable (send, share,
// follow up…) — "we'll make the adjustments" is the group's own work; and verbs that usually describe the
// meeting itself (tell, show, explain, introduce…) count only with a date ("I'll show you the roadmap on
// Tuesday"). A short acceptance ("ok", "yeah") accepts a request only together with a date or a promise
// of its own ("okay, tomorrow"); a clear one ("sure", "claro", "gerne", "bien sûr", "pode deixar") suffices.
// An accepted request or offer must be one of the last two utterances and is accepted once.
//
// Hesitations ("um", "uh", "äh", "euh") and stutters ("I'll I'll") are ignored. Quotes and due phrases
// are the words said; action phrases keep the words said where they can and fall back to normalised words ("I will").
//
// Owner: the speaker's name for "I", the speaker's organisation for "we" (the speaker's name when the
// organisation is unknown), the person's name for a named colleague ("Omar will follow up…"), whose
// organisation is left empty. Several promises by one owner in one sentence make one commitment;
// promises by different owners are separate commitments.
//
// # Due dates
//
// Due dates are resolved against the meeting's date in its timezone (see ResolveDue):
//
//   - "today", "EOD", "end of day", "tonight", "this afternoon": the meeting date; "tomorrow" +1 day;
//     "the day after tomorrow" +2.
//   - A bare weekday ("by Thursday", "el jueves", "bis Freitag") is its next occurrence strictly after the
//     meeting date: "Thursday" said on a Thursday is a week later. "next Thursday" is the Thursday of the
//     following calendar week (weeks start on Monday); "this Thursday" is the current week's when still ahead.
//   - "end of (the) week", "this week": Friday of the meeting's week (the meeting date on a Friday; the
//     next Friday on a weekend). "next week", "end of next week": Friday of the following week;
//     "early next week": its Monday.
//   - "end of (the) month", "this month": the month's last day; "next month": the last day of next month;
//     "end of quarter": the quarter's last day.
//   - "in two weeks", "in 3 days", "dans quinze jours": counted from the meeting date.
//   - Dates with a month name ("March 3rd", "3 de marzo", "3. März", "le 3 mars", "3 de março") and
//     numeric dates ("15/03", "20.05."). Numeric dates are day-first in es, de, fr and pt and month-first
//     in English (US usage) unless the first number exceeds 12. Without a year, a date is the next one
//     on or after the meeting date. "the 31st" is that day of the current month, or of the next when past.
//
// When a clause holds several phrases, an explicit date wins over a relative one, and either wins over a
// same-day phrase ("tomorrow EOD" is tomorrow).
//
// # Concurrency
//
// A Detector holds the context of one meeting and is not safe for concurrent use: feed it one
// meeting's final utterances in order from one goroutine. A Book is safe for concurrent use, but a
// commitment has one owner: whoever appends a Book's results must hold one lock across each change
// and its append, so that changes reach the record in the order they were made. The language tables
// are read-only and shared. Nothing in this package starts a goroutine.
package detect
