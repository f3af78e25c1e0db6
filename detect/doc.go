// Package detect finds what was said that the record keeps: commitments — who promised what, to
// whom, by when, with the quote as evidence — and the questions and objections raised. Its
// rule-based Detector reads final transcript segments in nine languages (en, es, de, fr, pt, it, nl,
// ja, zh; see Languages and Supports) with no network and no model weights; a Book merges a promise
// said again — a recap included — into the first one; an optional Refiner asks a language model to
// double-check. What it finds goes into the record as ledger events; it never
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
// Owner: the speaker's name for "I", the speaker's organisation for "we" (the speaker's name when the
// organisation is unknown), the person's name for a named colleague ("Omar will follow up…"), with the
// organisation of a colleague who has spoken in the meeting or was met (Detector.Meet). Several promises by one owner in one
// sentence make one commitment; promises by different owners are separate commitments.
//
// # Spoken text
//
// Transcripts come without punctuation or casing. Hesitations ("um", "uh", "äh", "euh", "ehm", "えーと",
// "嗯") and stutters ("I'll I'll", "我我") are dropped before the rules match. A run-on sentence joining
// clauses of one owner ("i'll put the pricing in a doc and send it across before the weekend") is one
// commitment whose date serves every clause. A hedge on the date ("I'll probably have it ready Monday",
// "wahrscheinlich", "たぶん", "应该") keeps the promise, with a lower confidence; a hedge on the promise
// ("maybe we could", "かもしれません", "也许") does not. A date corrected in the same breath ("on tuesday no
// sorry wednesday", "火曜日にいや失礼水曜日に") is the date said last, and the "no" of the correction
// negates nothing. A request needs no question mark: one that opens the sentence ("priya can you take
// the pricing", "kann jemand prüfen…") is a request. A promise that only points back ("I'll look into
// it", "deixa comigo", "我来查一下") takes up the request it answers, like an acceptance. Japanese and
// Chinese are written without spaces: their rules match the cleaned characters, and a Japanese promise
// may leave out its subject. Quotes and due phrases are the words said; action phrases keep the words
// said where they can and fall back to normalised words ("I will").
//
// # People
//
// The Detector learns the meeting's speakers as they speak, and those who have joined but not yet
// spoken from Detector.Meet (the agent calls it as each participant announces themselves), so a
// colleague named in lower-case speech ("tom will draft the statement of work", "刘洋会起草") owns the
// task under their full name, with their organisation. A task given to the person spoken to ("as the
// industrial designer, you're going to work on…", "I need you to…", "you'll need to send us the logo
// files") belongs to the role or name said before it, else to the last other speaker heard; it is only
// possible (confidence below ledger.PossibleBelow) until they take it, and its owner stays empty when
// nobody can be named. A task given by role or name in a list of assignments ("the industrial designer will…", "I'd like the
// marketing expert to…", "and the user interface designer to…", "I need Tom to…") is theirs. "You'll have it
// tomorrow" is the speaker's promise, not a task for the listener.
//
// The beneficiary is a person, never "you": the one whose request the commitment answers (for an
// accepted offer, the one who accepted; for a task given, the one who gave it), else the most recent
// earlier speaker of another organisation than the speaker's; it stays empty when nobody can be found.
// An organisation that owns a commitment ("we") has the speaker as its Contact. The action is restated
// from the owner's side: "me", "us" and "you" become names ("Sure, I'll do that" after Laura Chen's "Can
// you send me the SOC 2 report?" is "send the SOC 2 report to Laura Chen"), and a pronoun said before
// the verb ("te lo mando", "je vous envoie") adds the name after the action.
//
// # Team meetings
//
// In a team's own meeting the work is handed out more than promised. A turn about the work to come
// ("before the next meeting", "individual work", "here's what we're each going to do") opens a run of
// assignments; inside it a turn of the same speaker that names a role and a piece of work ("for U_I_D_
// the technical functions design", "marketing, the user requirement specification", "and for you the
// trend watching") is a task for that role, or for the person spoken to. The team's roles (project
// manager, industrial designer, user interface designer, marketing expert) are known by their words
// and by the letters an ASR writes for them ("P_M_", "I_D_", "U_I_D_", "M_E_"); a task said for
// someone else in a turn that names one of them ("the I_D_ is going to work on…") is that role's.
// Instructions to everyone ("don't forget to complete the questionnaire", "you will receive specific
// instructions", "we're all gonna go back to our offices") belong to "everyone", and a task for the next
// meeting ("bring some new ideas to our next meeting") to whoever says it, whoever is spoken to, or
// everyone for "we" — with no due date, as the next meeting's date is not said. None of these is a
// promise by its owner: all are possible. Talk about the meeting itself is not a task: an action done
// as it is said ("let me just check that", "I'll write that down", "I'll give it a two", "we'll have
// your presentations"), and the generic "you" of an explanation or advice ("then you have to press the
// button") — a "you" is given a task only with a piece of work (work on, look at, think about, do the…),
// a deliverable, a date or a party named.
//
// # The scorer
//
// In a meeting that is not a call between organisations — a speaker of no organisation, or one who has
// heard only people of their own — a learned scorer weighs every English utterance (score.go): a
// logistic regression over the rules' findings and their confidence, the words said (one and two at a
// time), the team's roles named, the talk about the work to come said shortly before, tasks found in
// the turns just before, how far into the meeting it is and whether the speaker is the one who talked
// about the work to come. Its weights and thresholds are learned from the train and validation
// meetings of the AMI corpus (eval/testdata/ami), the rare task utterances weighed more and the
// probabilities then calibrated back, and embedded (scorer_weights.tsv); `go test ./detect
// -run TestScorerWeights -update` trains them again, choosing the thresholds by cross-validation over
// the corpus's meeting series, and the test without -update checks that the embedded weights are what
// training gives. A finding of the rules with a due date stays; any other is kept only when the scorer
// puts the utterance at or above its threshold, and shown as possible below an even chance; an
// utterance the rules found nothing in that the scorer puts high enough, and that asks nothing,
// becomes a possible task: for the role it names, else the speaker when said in the first person, else
// everyone for "we", else the person spoken to. In a call between organisations — what the rules are
// written and tested for — the rules decide alone.
//
// # Confidence
//
// Every commitment has a confidence: a promise with a date or a party named is surer; best-effort
// wording ("try to") and hedged dates are less sure; a task given to someone, an inclusive "let's", or
// an acceptance without a date of its own sit lower. Below ledger.PossibleBelow the record shows it as
// possible, for a person to confirm.
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
//   - Italian, Dutch, Japanese and Chinese say the same with their own words: "domani", "entro venerdì",
//     "la prossima settimana", "fine mese"; "morgen", "voor vrijdag", "volgende week", "eind van de maand";
//     "明日", "金曜日までに", "来週", "月末", "3月20日"; "明天", "周五之前", "下周一", "月底", "三月二十号".
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
