package detect

import "regexp"

func dutch() *langRules {
	addWeekdays([7]string{"zondag", "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag"})
	addMonths([12]string{"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"})
	wd := `maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag`
	mon := `januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december`
	pre := `(?:(?:voor|uiterlijk|tegen|op|vóór) ){0,2}`
	num := `(?P<n>een|één|twee|drie|vier|vijf|zes|zeven|acht|tien|veertien|\d+)`
	sg := altRE("stuur", "verstuur", "deel", "bevestig", "regel", "bel", "mail", "check", "controleer", "zoek", "bereid", "plan", "organiseer", "verzorg", "lever", "zet", "maak", "schrijf", "neem", "breng", "pak", "kijk", "update", "geef", "laat", "koppel", "zorg", "stel", "werk", "doe")
	pl := altRE("sturen", "versturen", "delen", "bevestigen", "regelen", "bellen", "mailen", "checken", "controleren", "zoeken", "bereiden", "plannen", "organiseren", "verzorgen", "leveren", "zetten", "maken", "schrijven", "nemen", "brengen", "pakken", "kijken", "geven", "laten", "koppelen", "zorgen", "stellen", "werken", "doen")
	sg3 := altRE("stuurt", "verstuurt", "deelt", "bevestigt", "regelt", "belt", "mailt", "checkt", "controleert", "zoekt", "bereidt", "plant", "organiseert", "verzorgt", "levert", "zet", "maakt", "schrijft", "neemt", "brengt", "kijkt", "geeft", "zorgt", "stelt")
	r := &langRules{
		code: "nl",
		patterns: []pattern{
			{re: compileTrigger(`(?:(?:dat|die) )?(?:doe|regel|pak|neem) ik(?: (?:dat|het|wel|graag|op me))?|(?:laat het|laat dat) (?:maar )?aan mij over|komt goed`), subj: subjI, mode: modePromise, initial: true},
			{re: compileTrigger(`(?:(?:dat|die) )?(?:doen|regelen|pakken) wij(?: (?:dat|het|wel|graag))?`), subj: subjWe, mode: modePromise},
			{re: compileTrigger(`ik beloof(?: (?:je|u|jullie))?`), subj: subjI, mode: modePromise},
			{re: compileTrigger(`(?:ik zal|zal ik|ik ga|ga ik)`), subj: subjI, mode: modeFuture, verbFinal: true},
			{re: compileTrigger(`(?:we zullen|wij zullen|zullen we|we gaan|wij gaan|gaan we)`), subj: subjWe, mode: modeFuture, verbFinal: true},
			{re: compileTrigger(`(?:ik moet|moet ik)`), subj: subjI, mode: modeObligation, verbFinal: true},
			{re: compileTrigger(`(?:we moeten|wij moeten|moeten we)`), subj: subjWe, mode: modeObligation, verbFinal: true},
			{re: compileTrigger(`(?:laat me|laat mij|laat u mij)`), subj: subjI, mode: modeLetMe, verbFinal: true},
			{re: compileTrigger(`(?:laten we|laten wij)`), subj: subjLetUs, mode: modeLetMe, verbFinal: true},
			{re: compileTrigger(`ik (?P<v>` + sg + `)`), subj: subjI, mode: modePresent},
			{re: compileTrigger(`ik (?P<v>heb)`), subj: subjI, mode: modeDated},
			{re: compileTrigger(`(?P<v>` + sg + `) ik`), subj: subjI, mode: modePresent},
			{re: compileTrigger(`(?:we|wij) (?P<v>` + pl + `)`), subj: subjWe, mode: modePresent},
			{re: compileTrigger(`(?:onze|ons|mijn) (?:\S+ ){1,2}?(?:zal|gaat)`), subj: subjWe, mode: modeFuture, verbFinal: true},
			{re: compileTrigger(`(?P<n>\S+) (?:zal|gaat)`), subj: subjName, mode: modeFuture, verbFinal: true},
			{re: compileTrigger(`(?P<n>\S+) (?P<v>` + sg3 + `)`), subj: subjName, mode: modeDated},
		},
		function: wordSet("ik", "we", "wij", "je", "jullie", "u", "de", "het", "een", "en", "van", "voor", "niet", "met", "dat", "dit", "is", "op", "naar", "morgen", "ja", "oké", "zal", "zullen", "ga", "gaan", "dus", "maar", "ook", "nog", "wel", "graag", "stuur", "heb", "kan"),

		beneficiary: wordRE("je", "jou", "jullie", "u", "uw", "jouw", "naar jullie", "naar je", "aan jullie", "voor jullie", "met jullie", "met je"),
		negation:    wordRE("niet", "nooit", "geen", "niks", "niets", "nee", "niemand"),
		hedge:       wordRE("misschien", "eventueel", "mogelijk", "zou", "zouden", "kunnen we", "wellicht", "hopelijk", "ooit"),
		past:        wordRE("gisteren", "vorige", "vorig", "al gestuurd", "al gedaan", "eergisteren", "gestuurd", "gedaan", "gedeeld"),
		habitual:    wordRE("meestal", "normaal", "normaal gesproken", "altijd", "elke week", "elke maand", "elke dag", "doorgaans"),
		internal:    wordRE("intern", "onder ons", "in huis"),
		conditional: wordRE("als", "indien", "mits", "tenzij", "of", "stel dat"),
		report:      wordRE("zei", "zeiden", "beloofde", "beloofden", "zegt", "zeggen", "dacht"),
		idioms:      wordRE("geen probleem", "geen zorgen", "niet alleen"),
		polite:      wordRE("als dat uitkomt", "als dat goed is", "als je wilt", "als jullie willen", "indien nodig", "als het kan"),
		trying:      wordRE("waarschijnlijk", "probeer", "proberen", "doe mijn best", "doen ons best"),

		questionStart: compileTrigger(`(?:(?:en|dus|oké) )?(?:kan|kun|kunt|kunnen|zou|zouden|wil|wilt|willen|gaan|ga|gaat|heb|hebben|stuur|sturen|zal|zullen) (?:je|jij|u|jullie|we|wij|iemand|ik)`),
		acceptance:    compileTrigger(`(?:(?:ja|oké|ok|prima) (?:, )?)?(?:ik kijk ernaar|ik kijk er even naar|ik zoek het uit|ik pak het op|natuurlijk|tuurlijk|zeker|graag|geen probleem|doe ik|komt goed|akkoord|prima|dat kan ik doen|ik zoek het uit|ik regel het|ik pak het op|is goed|afgesproken)`),
		weakAccept:    compileTrigger(`(?:ja|oké|ok|okay|goed|prima|top|super|klopt|helemaal goed|prima)`),
		fillers:       wordSet("eh", "ehm", "nou", "dus", "oh", "ah", "hè", "zeg"),
		requests: []*regexp.Regexp{
			askRE(` (?:kan|kun|kunt|kunnen|zou|zouden|wil|wilt|willen)(?: je| jij| u| jullie| iemand)(?: me| mij| ons)? (?P<a>.+)`),
		},
		needs: []*regexp.Regexp{
			askRE(` (?:we hebben|ik heb) (?:ook )?(?P<a>.+) nodig`),
			askRE(` (?:we moeten|ik moet) (?P<a>.+) zien`),
			askRE(` graag (?P<a>.+)`),
		},
		offers: []*regexp.Regexp{
			askRE(` (?:zal|moet) ik (?:je |u |jullie )?(?P<a>.+)`),
			askRE(` (?:wil|wilt|willen) (?:je|u|jullie) dat ik (?P<a>.+)`),
		},
		clauseEnd:   wordSet("en", "maar", "of", "want", "dat", "als", "voordat", "omdat", "zodat", "zodra"),
		stative:     lemmaIn(wordSet("zijn", "hebben", "heb", "kunnen", "moeten", "willen", "zien", "weten", "denken", "hopen", "blijven", "wachten", "vinden", "begrijpen", "gaan")),
		plan:        lemmaIn(wordSet("migreren", "invoeren", "evalueren", "aannemen", "lanceren", "uitrollen", "overstappen", "bespreken", "beslissen", "investeren", "kopen", "uitbreiden", "testen", "starten")),
		lemma:       func(v string) string { return v },
		named:       wordSet("ik", "we", "wij", "je", "jij", "u", "jullie", "hij", "zij", "ze", "het", "dat", "dit", "die", "wie", "wat", "iemand", "niemand", "alles", "team", "ja", "nee", "oké", "dan", "dus", "en", "maar", "morgen", "vandaag", "onze", "ons", "mijn", "er", "hier", "daar", "dit"),
		dropAt:      wordSet("en", "dan", "nog", "ook", "even", "te"),
		determiners: wordSet("de", "het", "een", "onze", "ons", "mijn", "jullie", "uw", "deze", "dit", "die", "dat", "elke", "geen"),
		dates: []dueRule{
			dueRuleOf(dueExplicit, pre+`(?P<d>\d{1,2}) (?P<mon>`+mon+`)(?: (?P<y>\d{4}))?`, monthDay),
			dueRuleOf(dueExplicit, pre+`(?P<x>\d{1,2})[-/](?P<y2>\d{1,2})(?:[-/](?P<y>\d{2,4}))?`, numericDate),
			dueRuleOf(dueRelative, pre+`overmorgen`, duePlusDays(2)),
			dueRuleOf(dueRelative, pre+`morgen(?: (?:ochtend|middag|avond|vroeg))?`, duePlusDays(1), "goede"),
			dueRuleOf(dueRelative, pre+`begin volgende week`, nextWeekMonday),
			dueRuleOf(dueRelative, pre+`(?:eind volgende week|einde van volgende week|volgende week)`, nextWeekFriday),
			dueRuleOf(dueRelative, pre+`(?:eind(?:e)? van de week|(?:het )?weekend|deze week|eind deze week)`, endOfWeek),
			dueRuleOf(dueRelative, pre+`(?:eind volgende maand|volgende maand)`, endOfNextMonth),
			dueRuleOf(dueRelative, pre+`(?:eind(?:e)? van de maand|eind deze maand|deze maand)`, endOfMonth),
			dueRuleOf(dueRelative, pre+`(?:eind(?:e)? van het kwartaal|dit kwartaal)`, endOfQuarter),
			dueRuleOf(dueRelative, `(?:binnen|over) `+num+` (?P<u>dagen|dag|weken|week|uur)`, inCount),
			dueRuleOf(dueRelative, pre+`(?:(?P<mod>volgende|komende|deze) )?(?P<wd>`+wd+`)(?: (?:ochtend|middag|avond))?`, dueWeekday),
			dueRuleOf(dueSameDay, pre+`(?:vandaag(?: nog)?|vanavond|vanmiddag|vanochtend|eind van de dag)`, dueToday),
		},
	}
	return r
}
