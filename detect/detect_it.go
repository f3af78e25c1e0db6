package detect

import "regexp"

func italian() *langRules {
	addWeekdays([7]string{"domenica", "lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato"}, "lunedi", "lunedì", "martedi", "martedì", "mercoledi", "mercoledì", "giovedi", "giovedì", "venerdi", "venerdì")
	addMonths([12]string{"gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"})
	wd := `lunedì|lunedi|martedì|martedi|mercoledì|mercoledi|giovedì|giovedi|venerdì|venerdi|sabato|domenica`
	mon := `gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|dicembre`
	pre := `(?:(?:entro|per|prima di|prima del|prima della|di|il|la|a|al|alla|da qui a|non oltre) ){0,3}`
	num := `(?P<n>un|una|uno|due|tre|quattro|cinque|sei|sette|otto|dieci|quindici|\d+)`
	cl := `(?P<c>(?:(?:ti|vi|le|gli|ve|te|ce|ci|lo|la|li|ne|me|mi|glielo|gliela|glieli|gliele) ){1,2})?`
	adv := `(?:(?:anche|già|subito|poi|domani|oggi|personalmente|io|noi) )?`
	sg := altRE("mando", "invio", "passo", "condivido", "confermo", "preparo", "controllo", "verifico", "chiamo", "scrivo", "rispondo", "organizzo", "configuro", "faccio", "giro", "inoltro", "do", "presento", "consegno", "metto", "porto", "aggiorno", "sistemo", "contatto", "chiedo", "mostro", "occupo", "penso", "prendo", "preparo", "risolvo", "fisso")
	pl := altRE("mandiamo", "inviamo", "passiamo", "condividiamo", "confermiamo", "prepariamo", "controlliamo", "verifichiamo", "chiamiamo", "scriviamo", "rispondiamo", "organizziamo", "configuriamo", "facciamo", "giriamo", "inoltriamo", "diamo", "presentiamo", "consegniamo", "mettiamo", "portiamo", "aggiorniamo", "sistemiamo", "contattiamo", "mostriamo", "occupiamo", "pensiamo", "prendiamo", "risolviamo", "fissiamo")
	sg3 := altRE("manda", "invia", "passa", "condivide", "conferma", "prepara", "controlla", "verifica", "chiama", "scrive", "organizza", "configura", "fa", "consegna", "presenta", "porta", "aggiorna", "contatta", "si occupa")
	r := &langRules{
		code: "it",
		patterns: []pattern{
			{re: compileTrigger(`(?:ci penso io|me ne occupo io|me ne occupo|lo faccio io|la faccio io|conta su di me|contate su di me|consideralo fatto|lascia fare a me|ci pensiamo noi|ce ne occupiamo noi)`), subj: subjI, mode: modePromise, initial: true},
			{re: compileTrigger(`(?P<s>io )?(?:mi occupo|mi impegno|mi prendo carico) (?:di |del |della |dei |delle |degli |a )?`), subj: subjI, mode: modePromise},
			{re: compileTrigger(`(?P<s>noi )?(?:ci occupiamo|ci impegniamo) (?:di |del |della |dei |delle |degli |a )?`), subj: subjWe, mode: modePromise},
			{re: compileTrigger(`(?P<s>io )?(?:devo|ho bisogno di) ` + cl + `(?P<v>\S+(?:are|ere|ire|arti|arvi|arlo|arla|argli))`), subj: subjI, mode: modeObligation},
			{re: compileTrigger(`(?P<s>noi )?(?:dobbiamo) ` + cl + `(?P<v>\S+(?:are|ere|ire|arti|arvi|arlo|arla|argli))`), subj: subjWe, mode: modeObligation},
			{re: compileTrigger(`(?:lasciami|mi lasci|lasciatemi|fammi|mi faccia) (?P<v>\S+)`), subj: subjI, mode: modeLetMe},
			{re: compileTrigger(`(?P<s>io )?` + cl + adv + `(?P<v>\S+(?:erò|irò|arò)|farò|darò|dirò|avrò|porterò|sarò)`), subj: subjI, mode: modeFuture},
			{re: compileTrigger(`(?P<s>noi )?` + cl + adv + `(?P<v>\S+(?:eremo|iremo|aremo)|faremo|daremo|diremo|avremo|porteremo)`), subj: subjWe, mode: modeFuture},
			{re: compileTrigger(`(?P<s>io )?` + cl + `(?P<v>` + sg + `)`), subj: subjI, mode: modePresent},
			{re: compileTrigger(`(?P<s>noi )?` + cl + `(?P<v>` + pl + `)`), subj: subjWe, mode: modePresent},
			{re: compileTrigger(`(?:il nostro|la nostra|il mio|la mia) (?:\S+ ){1,2}?` + cl + `(?P<v>\S+(?:erà|irà|arà)|farà)`), subj: subjWe, mode: modeFuture},
			{re: compileTrigger(`(?P<n>\S+) ` + cl + `(?P<v>\S+(?:erà|irà)|farà|darà|porterà)`), subj: subjName, mode: modeFuture},
			{re: compileTrigger(`(?P<n>\S+) ` + cl + `(?P<v>` + sg3 + `)`), subj: subjName, mode: modeDated},
		},
		function: wordSet("il", "lo", "la", "i", "gli", "le", "che", "di", "e", "ti", "vi", "per", "con", "un", "una", "non", "è", "del", "della", "al", "alla", "io", "noi", "sì", "certo", "domani", "questa", "questo", "ci", "anche", "mando", "ok", "allora", "prima"),

		beneficiary: wordRE("ti", "te", "vi", "ve", "voi", "lei", "le mando", "vostro", "vostra", "vostri", "vostre", "tuo", "tua", "a te", "per te", "per voi"),
		negation:    wordRE("non", "mai", "nessuno", "niente", "nulla", "né", "no"),
		hedge:       wordRE("forse", "magari", "potremmo", "potrei", "chissà", "può darsi", "eventualmente", "non so se", "spero"),
		past:        wordRE("ieri", "scorso", "scorsa", "l'altro ieri", "già fatto", "ho già", "abbiamo già"),
		habitual:    wordRE("di solito", "normalmente", "sempre", "ogni mese", "ogni settimana", "ogni giorno", "solitamente", "generalmente"),
		internal:    wordRE("internamente", "tra di noi", "tra noi", "in casa"),
		conditional: wordRE("se", "qualora", "nel caso", "a meno che", "supponendo"),
		report:      wordRE("ha detto", "hanno detto", "ha promesso", "hanno promesso", "diceva", "dicono", "dice"),
		idioms:      wordRE("nessun problema", "non c'è problema", "non ti preoccupare", "non si preoccupi", "non solo"),
		polite:      wordRE("se ti va bene", "se vi va bene", "se vuoi", "se volete", "se possibile", "se serve", "se preferisci"),
		trying:      wordRE("probabilmente", "cerco di", "cercherò", "cercheremo", "provo a", "proverò"),

		questionStart: compileTrigger(`(?:(?:ehm|allora|e) )?(?:puoi|potete|potresti|potreste|può|possono|mi puoi|ci puoi|ci potete|mi potete|manderete|manderai|farete|avete|hai|qualcuno può)`),
		acceptance:    compileTrigger(`(?:(?:sì|ok|va bene) (?:, )?)?(?:certo|certamente|volentieri|d'accordo|senz'altro|assolutamente|nessun problema|ci penso io|me ne occupo|lo faccio io|posso farlo|posso farlo io|sì posso farlo|ma certo|con piacere|fatto)`),
		weakAccept:    compileTrigger(`(?:sì|ok|okay|va bene|perfetto|ottimo|benissimo|d'accordo|certo)`),
		fillers:       wordSet("ehm", "eh", "allora", "dunque", "cioè", "beh", "mah", "ecco"),
		requests: []*regexp.Regexp{
			askRE(` (?:mi |ci )?(?:puoi|potete|potresti|potreste|può|possono|riesci a|riuscite a)(?: tu| voi)? (?:mi |ci )?(?P<a>.+)`),
		},
		needs: []*regexp.Regexp{
			askRE(` (?:abbiamo bisogno di|ci serve|ci servono|mi serve|mi servono|dobbiamo vedere) (?P<a>.+)`),
			askRE(` per favore ,? (?P<a>.+)`),
		},
		offers: []*regexp.Regexp{
			askRE(` (?:vuoi|volete|preferisci|preferite) che (?:ti |vi )?(?P<a>.+)`),
			askRE(` (?:posso) (?:ti |vi )?(?P<a>.+) \?`),
		},
		clauseEnd:   wordSet("e", "ma", "o", "perché", "quando"),
		stative:     lemmaIn(wordSet("essere", "avere", "potere", "volere", "sapere", "vedere", "pensare", "sarò", "saremo", "potrò", "potremo", "vorrò", "vedrò", "vedremo", "andrò", "andremo")),
		plan:        lemmaIn(wordSet("migrare", "lanciare", "assumere", "valutare", "espandere", "cambiare", "decidere", "discutere", "investire", "comprare", "rinnovare", "sostituire", "testare", "iniziamo", "inizieremo", "lanceremo", "valuteremo", "discuteremo", "decideremo")),
		lemma:       func(v string) string { return v },
		named:       wordSet("io", "noi", "tu", "voi", "lui", "lei", "loro", "questo", "quello", "chi", "che", "tutto", "nessuno", "qualcuno", "sì", "no", "certo", "allora", "domani", "oggi", "team", "ok", "ti", "mi", "ci", "vi", "si", "ne", "lo", "la", "poi", "anche", "ma", "e"),
		dropAt:      wordSet("e", "di", "che", "per", "anche", "già", "poi", "a"),
		determiners: wordSet("un", "una", "uno", "il", "lo", "la", "i", "gli", "le", "nostro", "nostra", "mio", "mia", "suo", "sua", "questo", "questa", "quel", "quella", "del", "della"),
		dates: []dueRule{
			dueRuleOf(dueExplicit, pre+`(?P<d>\d{1,2}) (?P<mon>`+mon+`)(?: (?P<y>\d{4}))?`, monthDay),
			dueRuleOf(dueExplicit, pre+`(?P<x>\d{1,2})/(?P<y2>\d{1,2})(?:/(?P<y>\d{2,4}))?`, numericDate),
			dueRuleOf(dueRelative, pre+`dopodomani`, duePlusDays(2)),
			dueRuleOf(dueRelative, pre+`domani(?: (?:mattina|pomeriggio|sera))?`, duePlusDays(1)),
			dueRuleOf(dueRelative, pre+`(?:inizio (?:della )?(?:prossima settimana|settimana prossima))`, nextWeekMonday),
			dueRuleOf(dueRelative, pre+`(?:fine (?:della )?(?:prossima settimana|settimana prossima)|(?:la )?(?:prossima settimana|settimana prossima))`, nextWeekFriday),
			dueRuleOf(dueRelative, pre+`(?:(?:il )?fine settimana|(?:la )?fine della settimana|(?:questa|sta) settimana|(?:il )?weekend)`, endOfWeek),
			dueRuleOf(dueRelative, pre+`(?:fine del prossimo mese|(?:il )?prossimo mese|mese prossimo)`, endOfNextMonth),
			dueRuleOf(dueRelative, pre+`(?:fine mese|(?:la )?fine del mese|questo mese)`, endOfMonth),
			dueRuleOf(dueRelative, pre+`(?:fine trimestre|(?:la )?fine del trimestre|questo trimestre)`, endOfQuarter),
			dueRuleOf(dueRelative, `(?:tra|fra|entro) `+num+` (?P<u>giorni|giorno|settimane|settimana|ore)`, inCount),
			dueRuleOf(dueRelative, pre+`(?P<wd>`+wd+`)(?: (?P<mod2>prossimo|prossima))?(?: (?:mattina|pomeriggio|sera))?`, dueWeekday),
			dueRuleOf(dueSameDay, pre+`(?:oggi(?: pomeriggio| stesso)?|stasera|stamattina|fine giornata|in giornata)`, dueToday),
		},
	}
	return r
}
