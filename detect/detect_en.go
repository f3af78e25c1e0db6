package detect

import (
	"regexp"
	"strings"
)

func english() *langRules {
	addWeekdays([7]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"},
		"mon", "monday", "tue", "tuesday", "tues", "tuesday", "wed", "wednesday", "thu", "thursday", "thur", "thursday", "thurs", "thursday", "fri", "friday")
	addMonths([12]string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"},
		"jan", "january", "feb", "february", "mar", "march", "apr", "april", "jun", "june", "jul", "july", "aug", "august", "sep", "september", "sept", "september", "oct", "october", "nov", "november", "dec", "december")
	wd := `monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues|tue|wed|thurs|thur|thu|fri`
	mon := `january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec`
	by := `(?:(?:by|before|on|for|until|till|no later than|latest|around) )?`
	num := `(?P<n>a couple of|couple of|a few|few|an|a|one|two|three|four|five|six|seven|eight|ten|\d+)`

	roles := `designer|designers|expert|experts|manager|managers|engineer|engineers|developer|developers|lead|architect|consultant|specialist|administrator|director|officer|analyst`
	adv := `(?:(?:also|just|definitely|then|personally|certainly|quickly|first|actually|still|gladly|happily|absolutely|immediately|really|now|probably|both|all|right|go ahead and|make sure to|be sure to|try to|try and) )*`
	r := &langRules{
		code: "en",
		patterns: []pattern{
			{re: compileTrigger(`(?:will do|leave it with me|consider it done|(?:i am|we are) on it|that is on me|that one is on me)`), subj: subjI, mode: modePromise, initial: true},
			{re: compileTrigger(`i (?:(?:also|just|then|definitely) )?(?:promise|commit) to (?P<v>\S+)`), subj: subjI, mode: modePromise},
			{re: compileTrigger(`we (?:(?:also|just|then|definitely) )?(?:promise|commit) to (?P<v>\S+)`), subj: subjWe, mode: modePromise},
			{re: compileTrigger(`i (?:still )?owe (?:you|them|your team) (?P<v>\S+)`), subj: subjI, mode: modePromise},
			{re: compileTrigger(`we (?:still )?owe (?:you|them|your team) (?P<v>\S+)`), subj: subjWe, mode: modePromise},
			{re: compileTrigger(`(?P<n>\S+) (?:still )?owes (?:you|them|your team) (?P<v>\S+)`), subj: subjName, mode: modePromise},
			{re: compileTrigger(`(?:i am )?(?:happy|glad) to ` + adv + `(?P<v>\S+)`), subj: subjI, mode: modeFuture, initial: true},
			{re: compileTrigger(`we are (?:happy|glad) to ` + adv + `(?P<v>\S+)`), subj: subjWe, mode: modeFuture},
			{re: compileTrigger(`i ` + adv + `(?:will|shall) ` + adv + `(?:need|have) to (?P<v>\S+)`), subj: subjI, mode: modeObligation},
			{re: compileTrigger(`we ` + adv + `(?:will|shall) ` + adv + `(?:need|have) to (?P<v>\S+)`), subj: subjWe, mode: modeObligation},
			{re: compileTrigger(`i ` + adv + `(?:will|shall) ` + adv + `(?P<v>\S+)`), subj: subjI, mode: modeFuture},
			{re: compileTrigger(`we ` + adv + `(?:will|shall) ` + adv + `(?P<v>\S+)`), subj: subjWe, mode: modeFuture},
			{re: compileTrigger(`i am ` + adv + `going to ` + adv + `(?P<v>\S+)`), subj: subjI, mode: modeFuture},
			{re: compileTrigger(`we are ` + adv + `going to ` + adv + `(?P<v>\S+)`), subj: subjWe, mode: modeFuture},
			{re: compileTrigger(`i (?:need|have|got|have got) to (?P<v>\S+)`), subj: subjI, mode: modeObligation},
			{re: compileTrigger(`we (?:need|have|got|have got) to (?P<v>\S+)`), subj: subjWe, mode: modeObligation},
			{re: compileTrigger(`i must (?P<v>\S+)`), subj: subjI, mode: modeObligation},
			{re: compileTrigger(`we must (?P<v>\S+)`), subj: subjWe, mode: modeObligation},
			{re: compileTrigger(`let me ` + adv + `(?P<v>\S+)`), subj: subjI, mode: modeLetMe},
			{re: compileTrigger(`let us ` + adv + `(?P<v>\S+)`), subj: subjLetUs, mode: modeLetMe},
			{re: compileTrigger(`i am (?P<v>\S+ing)`), subj: subjI, mode: modeDated},
			{re: compileTrigger(`we are (?P<v>\S+ing)`), subj: subjWe, mode: modeDated},
			{re: compileTrigger(`i can (?:also |just |definitely )?(?P<v>\S+)`), subj: subjI, mode: modeDated},
			{re: compileTrigger(`we can (?:also |just |definitely )?(?P<v>\S+)`), subj: subjWe, mode: modeDated},
			{re: compileTrigger(`(?:our|my) (?:\S+ ){1,3}?(?:will|shall|is going to|are going to) ` + adv + `(?P<v>\S+)`), subj: subjWe, mode: modeFuture},
			{re: compileTrigger(`(?:you|you two|you guys|both of you|y'all) ` + adv + `(?:will|shall|are going to|have to|need to|should|must|have got to|got to|are to)(?: (?:need|have) to)? ` + adv + `(?:be )?(?P<v>\S+)`), subj: subjYou, mode: modeFuture},
			{re: compileTrigger(`(?:i|we) (?:need|want|would like|would want) (?:you|you two|you guys|both of you|everyone|everybody) to ` + adv + `(?P<v>\S+)`), subj: subjYou, mode: modeFuture},
			{re: compileTrigger(`(?:i|we) (?:need|want|would like|would want) (?:the |our |your )?(?P<n>(?:\S+ ){0,2}?(?:` + roles + `)) to ` + adv + `(?P<v>\S+)`), subj: subjRole, mode: modeFuture},
			{re: compileTrigger(`(?:i|we) (?:need|want|would like|would want) (?P<n>\S+) to ` + adv + `(?P<v>\S+)`), subj: subjName, mode: modeFuture},
			{re: compileTrigger(`(?:and )?(?:the|your) (?P<n>(?:\S+ ){0,2}?(?:` + roles + `)) to ` + adv + `(?P<v>\S+)`), subj: subjRole, mode: modeFuture, initial: true},
			{re: compileTrigger(`(?:the|your) (?P<n>(?:\S+ ){0,2}?(?:` + roles + `)) (?:will|should|is going to|are going to|has to|have to|must|needs to|need to|is to) ` + adv + `(?:be )?(?P<v>\S+)`), subj: subjRole, mode: modeFuture},
			{re: compileTrigger(`(?P<n>\S+) (?:will|shall|is going to)(?: (?:have|need) to)? (?:also |then |just |quickly )?(?:be )?(?P<v>\S+)`), subj: subjName, mode: modeFuture},
		},
		function: wordSet("the", "and", "you", "we", "i", "will", "to", "of", "is", "it", "that", "this", "for", "with", "can", "on", "have", "be", "let", "me", "our", "your", "by", "just", "what", "are", "so", "yeah", "okay", "not", "do"),

		beneficiary: wordRE("you", "your", "yours", "y'all", "you guys", "yourself", "yourselves"),
		negation:    wordRE("not", "never", "no one", "nobody", "neither", "nor", "unable", "no way", "nothing"),
		hedge:       wordRE("might", "may", "maybe", "perhaps", "possibly", "hopefully", "could", "would", "not sure", "i guess", "i suppose", "in theory", "ideally", "potentially"),
		past:        wordRE("yesterday", "ago", "already", "last week", "last month", "last time", "last year", "last monday", "last tuesday", "last wednesday", "last thursday", "last friday", "earlier today", "previously"),
		habitual:    wordRE("usually", "normally", "always", "typically", "generally", "every week", "every month", "every day", "every quarter", "each month", "each week"),
		internal:    wordRE("internally", "in-house", "among ourselves", "on our side only", "in house"),
		conditional: wordRE("if", "unless", "whether", "in case", "suppose", "supposing"),
		report:      wordRE("said", "told", "mentioned", "promised", "thought", "claimed", "says", "say"),
		idioms:      wordRE("no problem", "no worries", "not a problem", "why not", "no doubt", "not only"),
		polite:      wordRE("if that works", "if that works for you", "if that is ok", "if that is okay", "if that is alright", "if that is fine", "if that helps", "if you like", "if you want", "if needed", "if possible", "if you need it", "if it helps"),
		trying:      wordRE("try", "try to", "try and", "do my best", "do our best", "aim to", "hope to", "probably", "likely"),

		questionStart: compileTrigger(`(?:(?:so|and|ok|okay|um|uh) )?(?:can|could|would|will|shall|should|do|does|did|is|are|am|was|were) (?:you|we|i|someone|somebody|they|it|there|anyone)`),
		acceptance:    compileTrigger(`(?:(?:yes|yeah|yep|ok|okay|oh) (?:, )?)?(?:sure|absolutely|of course|definitely|certainly|no problem|will do|happy to|can do|for sure|consider it done|gladly|sure thing|you got it|yes please|i can do that|i can do it|i can do this|i have got it|i got it|i will do that|i will do it|i will take care of it|i will handle it|i am on it|on it|i can take it|i will take it|yes , please|please do|that would be great|that would be helpful)`),
		weakAccept:    compileTrigger(`(?:yes|yeah|yep|yup|ok|okay|alright|all right|sounds good|perfect|great|fine|no worries)`),
		fillers:       wordSet("um", "uh", "oh", "well", "so", "ah", "hmm", "mm"),
		requests: []*regexp.Regexp{
			askRE(` (?:can|could|would|will) (?:you|someone|somebody|y'all|you guys|anyone|one of you)(?: (?:please|maybe|also|just|possibly))?(?: be able to)? (?P<a>.+)`),
			askRE(` (?:is it possible to|any chance you could|do you mind) (?P<a>.+)`),
		},
		needs: []*regexp.Regexp{
			askRE(` (?:we|i) (?:need|would need|would like|would love|want) (?:you|someone) to (?P<a>.+)`),
			askRE(` (?:we|i) (?:need|would need|would like) (?P<a>(?:the|a|an|your|some) .+)`),
			askRE(`^(?:please) (?P<a>.+)`),
		},
		offers: []*regexp.Regexp{
			askRE(` (?:shall|should|can|could) i (?P<a>.+) \?`),
			askRE(` (?:do you want|would you like|want|do you need) me to (?P<a>.+)`),
		},
		clauseEnd:   wordSet("and", "but", "or", "so", "because", "then"),
		stative:     lemmaIn(wordSet("be", "need", "see", "know", "want", "like", "love", "think", "hope", "wish", "feel", "seem", "wonder", "guess", "remember", "understand", "mind", "prefer", "wait", "stay", "not", "never", "say", "go", "hear", "believe", "expect", "appreciate", "keep", "take", "end", "find", "lose", "miss", "do", "happen")),
		plan:        lemmaIn(wordSet("migrate", "roll", "hire", "evaluate", "launch", "expand", "move", "switch", "grow", "invest", "decide", "discuss", "consider", "budget", "buy", "purchase", "replace", "upgrade", "adopt", "renew", "implement", "deploy", "start", "stop", "focus", "use", "continue", "prioritize", "prioritise", "assess", "compare", "touch", "build", "pilot", "test", "try", "talk")),
		lemma:       lemmaEN,
		inMeeting:   lemmaIn(wordSet("give", "describe", "speak", "list", "note", "act", "demonstrate", "meet", "suggest", "propose", "remind", "conclude", "attempt", "tell", "show", "explain", "introduce", "start", "begin", "pass", "draw", "sit", "erase", "read", "present", "move", "turn", "open", "click", "repeat", "summarise", "summarize", "recap", "wrap", "hand", "skip", "leave", "jump", "let", "come", "finish", "close", "walk", "go", "discuss", "talk", "cover", "chat")),
		deliverable: lemmaIn(wordSet("send", "share", "forward", "complete", "fill", "email", "mail", "provide", "deliver", "prepare", "draft", "write", "schedule", "set", "book", "arrange", "organize", "organise", "follow", "get", "circle", "confirm", "check", "find", "review", "update", "fix", "call", "ping", "reach", "connect", "loop", "invite", "create", "raise", "escalate", "sign", "ship", "run", "walk", "demo", "cover", "handle", "sort", "reply", "respond", "revert", "investigate", "research", "dig", "chase", "ask", "talk", "speak", "coordinate", "sync", "report", "submit", "upload", "post", "put together")),
		named:       wordSet("i", "we", "you", "he", "she", "they", "it", "this", "that", "there", "what", "which", "who", "everything", "everyone", "nobody", "someone", "something", "nothing", "everybody", "great", "sure", "okay", "ok", "yes", "yeah", "so", "and", "but", "then", "also", "team", "nobody", "one", "legal"),
		dropAt:      wordSet("to", "and", "then", "also", "just", "so", "but", "that", "which", "with", "a"),
		determiners: wordSet("the", "a", "an", "our", "my", "your", "their", "this", "that", "these", "those", "his", "her", "its", "every", "each", "no"),
		role:        regexp.MustCompile(` (?:as|for) (?:the |our |my |your )?((?:\S+ ){0,2}?(?:` + roles + `)) `),
		dates: []dueRule{
			dueRuleOf(dueExplicit, by+`(?:the )?(?P<d>\d{1,2}(?:st|nd|rd|th)?) (?:of )?(?P<mon>`+mon+`)(?: ,)?(?: (?P<y>\d{4}))?`, monthDay),
			dueRuleOf(dueExplicit, by+`(?P<mon>`+mon+`) (?:the )?(?P<d>\d{1,2}(?:st|nd|rd|th)?)(?: ,)?(?: (?P<y>\d{4}))?`, monthDay),
			dueRuleOf(dueExplicit, by+`(?P<x>\d{1,2})/(?P<y2>\d{1,2})(?:/(?P<y>\d{2,4}))?`, numericDate),
			dueRuleOf(dueExplicit, by+`the (?P<d>\d{1,2}(?:st|nd|rd|th))`, dayOfMonth),
			dueRuleOf(dueRelative, by+`(?:the )?day after tomorrow`, duePlusDays(2)),
			dueRuleOf(dueRelative, by+`(?:first thing )?tomorrow(?: (?:morning|afternoon|evening|night|eod|end of day|cob))?`, duePlusDays(1), "after"),
			dueRuleOf(dueRelative, by+`(?:early next week|(?:the )?(?:beginning|start) of next week)`, nextWeekMonday),
			dueRuleOf(dueRelative, by+`(?:(?:the )?end of (?:the )?next week|(?:sometime |later )?next week)`, nextWeekFriday),
			dueRuleOf(dueRelative, by+`(?:(?:the )?end of (?:the |this )?week|eow|(?:later )?this week|the weekend)`, endOfWeek),
			dueRuleOf(dueRelative, by+`(?:(?:the )?end of (?:the )?next month|next month)`, endOfNextMonth),
			dueRuleOf(dueRelative, by+`(?:(?:the )?end of (?:the |this )?month|eom|(?:later )?this month)`, endOfMonth),
			dueRuleOf(dueRelative, by+`(?:(?:the )?end of (?:the |this )?quarter|eoq|this quarter)`, endOfQuarter),
			dueRuleOf(dueRelative, `(?:in|within) (?:the next )?`+num+` (?P<u>business days|business day|days|day|weeks|week|hours|hour)`, inCount),
			dueRuleOf(dueRelative, by+`(?:(?P<mod>next|this|coming) )?(?P<wd>`+wd+`)s?(?: (?:morning|afternoon|evening|eod))?`, dueWeekday, "last"),
			dueRuleOf(dueSameDay, by+`(?:(?:the )?end of (?:the )?(?:business )?day|eod|cob|close of business|(?:later )?today|tonight|this afternoon|this evening|this morning)`, dueToday),
		},
	}
	return r
}

func lemmaEN(v string) string {
	switch {
	case strings.HasSuffix(v, "ing") && len(v) > 5:
		b := strings.TrimSuffix(v, "ing")
		if n := len(b); n > 2 && b[n-1] == b[n-2] && !strings.HasSuffix(b, "ll") && !strings.HasSuffix(b, "ss") {
			b = b[:n-1]
		}
		if enStems[b+"e"] {
			return b + "e"
		}
		return b
	case strings.HasSuffix(v, "s") && len(v) > 3 && !strings.HasSuffix(v, "ss"):
		return strings.TrimSuffix(v, "s")
	}
	return v
}

var enStems = wordSet("make", "have", "give", "take", "share", "prepare", "schedule", "write", "evaluate", "migrate", "hire", "move", "use", "continue", "prioritize", "compare", "purchase", "replace", "upgrade", "issue", "provide", "raise", "arrange", "organise", "organize", "invite", "figure", "configure", "update", "circle", "double", "close", "see", "be", "decide", "come", "leave", "love", "like", "hope")

// enTakeOn is "take" as taking a task on, an action although "take" alone is stative ("I'll take
// a seat"): "I'll take care of the NDA", "we'll take ownership of the rollout".
var enTakeOn = regexp.MustCompile(`^ take (?:care|charge|ownership|responsibility) (?:of|for) (?:the|a|an|our|your|this|that|these|those|all|every) `)
