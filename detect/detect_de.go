package detect

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

func german() *langRules {
	addWeekdays([7]string{"sonntag", "montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag"}, "sonnabend", "samstag")
	addMonths([12]string{"januar", "februar", "märz", "april", "mai", "juni", "juli", "august", "september", "oktober", "november", "dezember"},
		"jänner", "januar", "maerz", "märz", "jan", "januar", "feb", "februar", "apr", "april", "jun", "juni", "jul", "juli", "aug", "august", "sep", "september", "sept", "september", "okt", "oktober", "nov", "november", "dez", "dezember")
	wd := `montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonnabend|sonntag`
	mon := `januar|jänner|februar|märz|maerz|april|mai|juni|juli|august|september|oktober|november|dezember`
	pre := `(?:(?:bis|zum|am|spätestens|vor dem|vor|ab|bis zum|bis spätestens|für) ){0,2}`
	ordinals := altRE(slices.Sorted(maps.Keys(germanOrdinals))...)
	num := `(?P<n>einer|einem|eine|zwei|drei|vier|fünf|sechs|sieben|acht|zehn|vierzehn|\d+)`
	sgList := []string{"schicke", "sende", "melde", "kläre", "prüfe", "richte", "kümmere", "leite", "gebe", "stelle", "rufe", "schreibe", "bereite", "liefere", "organisiere", "plane", "buche", "lade", "verschicke", "übermittle", "erstelle", "teile", "besorge", "kontaktiere", "checke", "schaue", "informiere", "aktualisiere", "setze", "hole", "bringe", "erledige", "zeige", "präsentiere", "vereinbare", "regle", "sorge", "maile", "frage", "übernehme", "mache", "reiche", "lasse", "trage", "stimme", "spreche", "kläre", "beantworte"}
	var plList, sg3List []string
	for _, v := range sgList {
		if strings.HasSuffix(v, "ere") {
			plList = append(plList, v[:len(v)-1]+"n")
		} else {
			plList = append(plList, v+"n")
		}
		sg3List = append(sg3List, strings.TrimSuffix(v, "e")+"t")
	}
	// Spoken German drops the -e of the first person: "ich schick", "bring ich", "ich organisier".
	// Stems in -t stay out ("ich bereit", "ich leit" read as the adjective or the third person), and
	// so do those in a consonant and -l ("übermittl", "regl"), which nobody says.
	var spoken []string
	for _, v := range sgList {
		st := strings.TrimSuffix(v, "e")
		if st != v && !strings.HasSuffix(st, "t") && !(strings.HasSuffix(st, "l") && !strings.ContainsAny(st[len(st)-2:len(st)-1], "aeiou")) {
			spoken = append(spoken, st)
		}
	}
	plList = append(plList, "kümmern", "liefern", "übermitteln", "regeln")
	sg3List = append(sg3List, "kümmert", "liefert", "richtet", "bereitet", "meldet", "sendet", "leitet")
	sg, pl, sg3 := altRE(append(sgList, spoken...)...), altRE(plList...), altRE(sg3List...)
	r := &langRules{
		code: "de",
		patterns: []pattern{
			{re: compileTrigger(`(?:(?:das|den|die|dies) )?(?:übernehme|übernehm|erledige|erledig|mache|mach) ich(?: (?:das|gerne|gern))?`), subj: subjI, mode: modePromise, initial: true},
			{re: compileTrigger(`(?:(?:das|den|die|dies) )?(?:übernehmen|erledigen|machen) wir(?: (?:das|gerne|gern))?`), subj: subjWe, mode: modePromise},
			{re: compileTrigger(`ich verspreche(?: (?:ihnen|dir|euch))?`), subj: subjI, mode: modePromise},
			{re: compileTrigger(`wir versprechen(?: (?:ihnen|dir|euch))?`), subj: subjWe, mode: modePromise},
			{re: compileTrigger(`(?:ich werde|werde ich|ich werd|werd ich)`), subj: subjI, mode: modeFuture, verbFinal: true},
			{re: compileTrigger(`(?:wir werden|werden wir)`), subj: subjWe, mode: modeFuture, verbFinal: true},
			{re: compileTrigger(`(?:ich muss|muss ich)`), subj: subjI, mode: modeObligation, verbFinal: true},
			{re: compileTrigger(`(?:wir müssen|müssen wir)`), subj: subjWe, mode: modeObligation, verbFinal: true},
			{re: compileTrigger(`(?:lassen sie mich|lass mich|lasst mich)`), subj: subjI, mode: modeLetMe, verbFinal: true},
			{re: compileTrigger(`(?:lassen sie uns|lass uns|lasst uns)`), subj: subjLetUs, mode: modeLetMe, verbFinal: true},
			{re: compileTrigger(`ich (?P<v>` + sg + `)`), subj: subjI, mode: modePresent},
			{re: compileTrigger(`ich (?P<v>habe|hab)`), subj: subjI, mode: modeDated},
			{re: compileTrigger(`(?P<v>habe|hab) ich`), subj: subjI, mode: modeDated},
			{re: compileTrigger(`(?P<v>` + sg + `) ich`), subj: subjI, mode: modePresent},
			{re: compileTrigger(`wir (?P<v>` + pl + `)`), subj: subjWe, mode: modePresent},
			{re: compileTrigger(`(?P<v>` + pl + `) wir`), subj: subjWe, mode: modePresent},
			{re: compileTrigger(`(?:unser|unsere|mein|meine) (?:\S+ ){1,2}?(?:wird|werden)`), subj: subjWe, mode: modeFuture, verbFinal: true},
			{re: compileTrigger(`(?P<n>\S+) wird`), subj: subjName, mode: modeFuture, verbFinal: true},
			{re: compileTrigger(`(?P<n>\S+) (?P<v>` + sg3 + `)`), subj: subjName, mode: modeDated},
		},
		function: wordSet("ich", "wir", "sie", "ihnen", "und", "der", "die", "das", "den", "dem", "nicht", "mit", "bis", "zu", "ist", "ein", "eine", "auf", "für", "werden", "es", "uns", "noch", "morgen", "ja", "gerne", "klar", "des", "mich", "dass", "wenn", "aber", "auch"),

		beneficiary: wordRE("ihnen", "dir", "euch", "für sie", "bei ihnen", "sie", "ihr", "ihre", "ihrem", "ihren", "ihrer", "mit ihnen", "an sie"),
		negation:    wordRE("nicht", "nie", "niemals", "kein", "keine", "keinen", "keiner", "keinem", "nichts", "nein", "weder"),
		hedge: wordRE("vielleicht", "eventuell", "evtl", "möglicherweise", "könnte", "könnten", "würde", "würden", "mal sehen", "mal schauen", "mal gucken", "schauen wir mal", "schau mal ob", "schaue mal ob", "schauen mal ob", "guck mal ob", "gucke mal ob", "unter umständen",
			// agreeing and wondering are no promise: "da geb ich ihnen recht", "ich frag mich ob das passt"
			"ihnen recht", "ihnen da recht", "dir recht", "stimme ihnen", "stimm ihnen", "stimme ich ihnen", "stimm ich ihnen",
			"frage mich", "frag mich", "fragen uns",
			// settling how, not promising what: "dann machen wir das so"
			"mach ich das so", "mache ich das so", "machen wir das so", "machen wir es so", "machen wir so", "hoffentlich", "womöglich", "ggf", "gegebenenfalls"),
		past:        wordRE("gestern", "letzte", "letzten", "letztes", "letzter", "bereits", "vorhin", "vorige", "vorigen", "vorgestern", "schon erledigt"),
		habitual:    wordRE("normalerweise", "immer", "jeden monat", "jede woche", "jeden tag", "üblicherweise", "regelmäßig", "in der regel", "monatlich", "wöchentlich"),
		internal:    wordRE("intern", "unter uns", "im haus", "inhouse"),
		conditional: wordRE("wenn", "falls", "sofern", "ob", "angenommen"),
		report:      wordRE("gesagt", "sagte", "meinte", "meinten", "versprochen", "sagten", "sagt", "meint", "behauptet"),
		idioms:      wordRE("kein problem", "kein thema", "keine sorge", "keine ursache", "nicht nur", "nicht wahr"),
		polite:      wordRE("wenn das passt", "wenn es passt", "wenn ihnen das passt", "wenn sie möchten", "wenn sie wollen", "falls nötig", "wenn nötig", "falls gewünscht", "wenn das okay ist", "wenn das ok ist"),
		trying:      wordRE("wahrscheinlich", "voraussichtlich", "versuche", "versuchen", "bemühe", "bemühen"),

		questionStart: compileTrigger(`(?:können|könnten|würden|werden|sollen|soll|möchten|wollen|haben|hätten|kann|könnt|kannst|schicken|senden) (?:sie|wir|ich|du|ihr)`),
		acceptance:    compileTrigger(`(?:(?:ja|ok|okay) (?:, )?)?(?:ich kümmere? mich (?:darum|drum)|ich schaue? mir das an|ich schaue? es mir an|schaue? ich mir an|ich kläre? das|(?:das )?übernehme? ich|klar|klaro|gerne|gern|natürlich|selbstverständlich|kein problem|kein thema|mache? ich|machen wir|auf jeden fall|geht klar|geht in ordnung|wird gemacht|wird erledigt|sehr gerne|ja bitte|ja , bitte)`),
		weakAccept:    compileTrigger(`(?:ja|okay|ok|in ordnung|sicher|alles klar|passt|gut|super|prima)`),
		fillers:       wordSet("äh", "ähm", "also", "ah", "oh", "hm", "na", "naja", "halt", "sozusagen", "quasi", "genau", "dann"),
		requests: []*regexp.Regexp{
			askRE(` (?:können|könnten|würden) sie (?:uns |mir )?(?P<a>.+)`),
			askRE(` (?:kannst|könntest) du (?:uns |mir )?(?P<a>.+)`),
			askRE(` (?:kann|könnte) (?:sich )?(?:jemand|einer)(?: von ihnen| von euch)? (?:mal )?(?:uns |mir )?(?P<a>.+)`),
		},
		needs: []*regexp.Regexp{
			askRE(` (?:wir brauchen|wir bräuchten|ich brauche|ich bräuchte) (?:noch )?(?P<a>.+)`),
			askRE(` bitte (?P<a>.+)`),
		},
		offers: []*regexp.Regexp{
			askRE(` (?:soll|sollen) (?:ich|wir) (?:ihnen |dir |euch )?(?P<a>.+)`),
			askRE(` (?:möchten|wollen|willst|möchtest) (?:sie|du) ,? dass ich (?P<a>.+)`),
		},
		clauseEnd: wordSet("und", "aber", "oder", "sondern", "dass", "bevor", "wenn", "weil", "damit", "sobald", "falls", "um"),
		stative:   lemmaIn(wordSet("sein", "haben", "habe", "hab", "brauchen", "können", "müssen", "wollen", "sehen", "wissen", "denken", "glauben", "hoffen", "mögen", "werden", "lassen", "dürfen", "sollen", "bleiben", "warten", "freuen", "finden", "verstehen", "unterstützen")),
		plan:      lemmaIn(wordSet("migrieren", "einführen", "evaluieren", "einstellen", "launchen", "ausrollen", "wechseln", "umstellen", "besprechen", "diskutieren", "entscheiden", "überlegen", "investieren", "kaufen", "erweitern", "ausbauen", "analysieren", "testen", "bewerten", "nachdenken", "abstimmen", "starten", "umziehen")),
		// Showing and presenting happen in the meeting itself unless a later day is said.
		inMeeting:   lemmaIn(wordSet("zeige", "zeig", "zeigen", "zeigt", "präsentiere", "präsentier", "präsentieren", "präsentiert")),
		lemma:       func(v string) string { return v },
		named:       wordSet("ich", "wir", "sie", "er", "es", "das", "dies", "die", "der", "den", "dem", "man", "jemand", "niemand", "alles", "wer", "was", "team", "ja", "klar", "gerne", "morgen", "heute", "dann", "also", "und", "aber", "nein", "unser", "unsere", "mein", "meine", "ihr", "ihre", "wer", "zeit", "woche", "integration", "migration", "demo"),
		dropAt:      wordSet("und", "dann", "noch", "auch", "gleich", "das", "zu"),
		determiners: wordSet("der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer", "unser", "unsere", "unseren", "mein", "meine", "ihr", "ihre", "dieser", "diese", "dieses", "jeder", "jede", "kein", "keine"),
		dates: []dueRule{
			dueRuleOf(dueExplicit, pre+`(?P<d>\d{1,2}) \. (?P<mon>`+mon+`)(?: (?P<y>\d{4}))?`, monthDay),
			dueRuleOf(dueExplicit, pre+`(?P<x>\d{1,2})\.(?P<y2>\d{1,2})(?:\.(?P<y>\d{2,4}))?`, numericDate),
			// "bis zum zehnten", "spätestens am 3.": a day of this month, or of the next once it is past.
			dueRuleOf(dueExplicit, `(?:bis (?:spätestens )?(?:zum |am )?|spätestens (?:bis )?(?:zum |am )?)(?P<d>`+ordinals+`|\d{1,2} \.)`, germanDayOfMonth),
			dueRuleOf(dueRelative, pre+`übermorgen`, duePlusDays(2)),
			dueRuleOf(dueRelative, pre+`morgen(?: (?:früh|vormittag|nachmittag|abend|mittag))?`, duePlusDays(1), "heute", "am", "jeden", "guten", "den", "der"),
			dueRuleOf(dueRelative, pre+`anfang (?:der )?(?:nächsten|kommenden) woche`, nextWeekMonday),
			dueRuleOf(dueRelative, pre+`(?:ende (?:der )?(?:nächsten|nächster|kommenden) woche|(?:nächste|kommende|nächster|nächsten|kommenden) woche)`, nextWeekFriday),
			dueRuleOf(dueRelative, pre+`(?:ende (?:der|dieser) woche|diese woche|dieser woche|(?:zum )?wochenende)`, endOfWeek),
			dueRuleOf(dueRelative, pre+`(?:ende (?:des )?nächsten monats|nächsten monat)`, endOfNextMonth),
			dueRuleOf(dueRelative, pre+`(?:monatsende|ende (?:des|dieses) monats|diesen monat)`, endOfMonth),
			dueRuleOf(dueRelative, pre+`(?:quartalsende|ende (?:des|dieses) quartals|dieses quartal)`, endOfQuarter),
			dueRuleOf(dueRelative, `(?:in|innerhalb von|binnen) `+num+` (?P<u>tagen|tag|wochen|woche|stunden)`, inCount),
			dueRuleOf(dueRelative, pre+`(?:(?P<mod>nächsten|kommenden|diesen) )?(?P<wd>`+wd+`)(?: (?:früh|vormittag|nachmittag|abend))?`, dueWeekday),
			dueRuleOf(dueSameDay, pre+`(?:heute(?: noch| abend| nachmittag| morgen| mittag)?|feierabend|ende des tages|tagesende|dienstschluss)`, dueToday),
		},
	}
	return r
}

// germanOrdinals are the days of a month said as ordinals: "bis zum zehnten".
var germanOrdinals = func() map[string]int {
	m := map[string]int{}
	for i, w := range []string{"ersten", "zweiten", "dritten", "vierten", "fünften", "sechsten", "siebten", "achten", "neunten", "zehnten",
		"elften", "zwölften", "dreizehnten", "vierzehnten", "fünfzehnten", "sechzehnten", "siebzehnten", "achtzehnten", "neunzehnten", "zwanzigsten",
		"einundzwanzigsten", "zweiundzwanzigsten", "dreiundzwanzigsten", "vierundzwanzigsten", "fünfundzwanzigsten", "sechsundzwanzigsten",
		"siebenundzwanzigsten", "achtundzwanzigsten", "neunundzwanzigsten", "dreißigsten", "einunddreißigsten"} {
		m[w] = i + 1
	}
	return m
}()

// germanDayOfMonth resolves a day of the month said as an ordinal word or as "10 .".
func germanDayOfMonth(g map[string]string, m time.Time, lang string) (time.Time, bool) {
	d := strings.TrimSpace(strings.TrimSuffix(g["d"], "."))
	if n, ok := germanOrdinals[d]; ok {
		d = strconv.Itoa(n)
	}
	return dayOfMonth(map[string]string{"d": d}, m, lang)
}
