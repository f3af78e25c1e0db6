package detect

import "regexp"

func french() *langRules {
	addWeekdays([7]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"})
	addMonths([12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}, "fevrier", "février", "aout", "août", "decembre", "décembre")
	wd := `lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche`
	mon := `janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre`
	pre := `(?:(?:de ici|avant|pour|le|jusque à|jusque au|au|au plus tard|à partir de) ){0,2}`
	num := `(?P<n>un|une|deux|trois|quatre|cinq|six|sept|huit|dix|quinze|\d+)`
	cl := `(?P<c>(?:(?:vous|te|le|la|les|lui|leur|en|y|me|nous) ){1,3})?`
	adv := `(?:(?:aussi|également|bien|rapidement|tout de suite|personnellement|donc|alors|demain|ensuite) )?`
	sg := altRE("envoie", "rédige", "transmets", "fais", "rappelle", "appelle", "prépare", "présente", "confirme", "occupe", "reviens", "tiens", "vérifie", "contacte", "engage", "partage", "organise", "écris", "livre", "fournis", "planifie", "regarde", "relance", "recontacte", "propose", "donne", "mets", "cale", "programme", "réserve", "renvoie", "transfère", "demande", "préviens", "charge", "communique", "mail", "dis", "redis", "adresse", "retourne", "occupe", "fixe", "installe", "configure", "monte", "mets")
	pl := altRE("envoyons", "transmettons", "faisons", "rappelons", "appelons", "préparons", "présentons", "confirmons", "occupons", "revenons", "tenons", "vérifions", "contactons", "engageons", "partageons", "organisons", "écrivons", "livrons", "fournissons", "planifions", "regardons", "relançons", "proposons", "donnons", "mettons", "calons", "programmons", "réservons", "prévenons", "demandons", "chargeons", "communiquons", "disons", "adressons", "installons", "configurons")
	on3 := altRE("envoie", "transmet", "fait", "rappelle", "appelle", "prépare", "présente", "confirme", "occupe", "revient", "tient", "vérifie", "contacte", "partage", "organise", "écrit", "livre", "fournit", "planifie", "regarde", "relance", "propose", "donne", "met", "cale", "programme", "réserve", "prévient", "demande", "charge", "communique", "dit", "installe", "configure")
	r := &langRules{
		code: "fr",
		patterns: []pattern{
			{re: compileTrigger(`(?:je me en occupe|je me en charge|comptez sur moi|compte sur moi|considérez que ce est fait|ce est noté pour moi)`), subj: subjI, mode: modePromise, initial: true},
			// "on s'en occupe" is the speaker's side: "on" is "nous" in speech.
			{re: compileTrigger(`(?:on se en (?:occupe|charge)|nous nous en (?:occupons|chargeons)|comptez sur nous)`), subj: subjWe, mode: modePromise, initial: true},
			{re: compileTrigger(`je me (?:engage|occupe|charge)`), subj: subjI, mode: modePromise},
			{re: compileTrigger(`(?:nous nous (?:engageons|occupons|chargeons)|on se (?:engage|occupe|charge))`), subj: subjWe, mode: modePromise},
			{re: compileTrigger(`je ` + cl + `vais ` + adv + cl + `(?P<v>\S+)`), subj: subjI, mode: modeFuture},
			{re: compileTrigger(`(?:nous ` + cl + `allons|on ` + cl + `va) ` + adv + cl + `(?P<v>\S+)`), subj: subjWe, mode: modeFuture},
			{re: compileTrigger(`je ` + cl + `dois ` + adv + cl + `(?P<v>\S+)`), subj: subjI, mode: modeObligation},
			{re: compileTrigger(`(?:nous ` + cl + `devons|on ` + cl + `doit) ` + adv + cl + `(?P<v>\S+)`), subj: subjWe, mode: modeObligation},
			{re: compileTrigger(`(?:laissez moi|laisse moi|permettez moi) (?P<v>\S+)`), subj: subjI, mode: modeLetMe},
			{re: compileTrigger(`je ` + cl + `(?P<v>\S+rai|ferai|serai|aurai|pourrai|verrai|saurai|irai)`), subj: subjI, mode: modeFuture},
			{re: compileTrigger(`(?:nous ` + cl + `(?P<v>\S+rons)|on ` + cl + `(?P<v2>\S+ra))`), subj: subjWe, mode: modeFuture},
			{re: compileTrigger(`je ` + cl + `(?P<v>` + sg + `)`), subj: subjI, mode: modePresent},
			{re: compileTrigger(`(?:nous ` + cl + `(?P<v>` + pl + `)|on ` + cl + `(?P<v2>` + on3 + `))`), subj: subjWe, mode: modePresent},
			{re: compileTrigger(`(?:notre|nos|mon|ma) (?:\S+ ){1,2}?(?:va|vont) ` + cl + `(?P<v>\S+)`), subj: subjWe, mode: modeFuture},
			{re: compileTrigger(`(?P<n>\S+) ` + cl + `va ` + cl + `(?P<v>\S+)`), subj: subjName, mode: modeFuture},
			{re: compileTrigger(`(?P<n>\S+) ` + cl + `(?P<v>` + on3 + `)`), subj: subjName, mode: modeDated},
		},
		function: wordSet("je", "nous", "vous", "le", "la", "les", "de", "et", "est", "que", "un", "une", "pour", "avec", "des", "on", "pas", "ce", "du", "au", "en", "demain", "bien", "oui", "ne", "il", "sur", "envoie", "dans", "par", "mais", "très"),

		beneficiary: wordRE("vous", "te", "toi", "votre", "vos", "vers vous", "avec vous", "pour vous"),
		negation:    wordRE("ne", "pas", "jamais", "rien", "non", "aucun", "aucune", "ni", "personne ne"),
		hedge:       wordRE("peut être", "pourrait", "pourrions", "pourrais", "pourriez", "éventuellement", "on verra", "il se peut", "si possible", "en principe", "espère", "espérons"),
		past:        wordRE("hier", "dernier", "dernière", "déjà", "avant hier"),
		habitual:    wordRE("de habitude", "toujours", "habituellement", "généralement", "chaque mois", "chaque semaine", "tous les mois", "toutes les semaines", "régulièrement"),
		internal:    wordRE("en interne", "entre nous", "de notre côté seulement"),
		conditional: wordRE("si", "au cas où", "à condition que", "à moins que", "supposons"),
		report:      wordRE("dit", "disait", "promis", "pensais", "disent", "affirmé", "annoncé"),
		idioms:      wordRE("pas de problème", "pas de souci", "pas de soucis", "sans problème", "ne hésitez pas", "ne est ce pas", "non seulement"),
		polite:      wordRE("si ça vous va", "si cela vous convient", "si vous voulez", "si vous le souhaitez", "si besoin", "si nécessaire", "si ça vous convient", "si vous préférez"),
		// "normalement", "sûrement" hedge the date of a firm promise ("je vous l'envoie normalement demain").
		trying: wordRE("probablement", "sans doute", "normalement", "sûrement", "essaie", "essayer", "essaierai", "essayerai", "tâcherai", "tenter"),

		questionStart: compileTrigger(`(?:est ce que|est ce qu|pouvez vous|pourriez vous|voulez vous|peux tu|pourrais tu|veux tu|souhaitez vous|dois je|devons nous|faut il)`),
		acceptance:    compileTrigger(`(?:(?:oui|ok|okay) (?:, )?)?(?:bien sûr|de accord|pas de problème|avec plaisir|volontiers|entendu|absolument|sans problème|pas de souci|ça marche|ce est noté|évidemment|bien entendu|certainement|oui , merci|oui merci|je veux bien)`),
		weakAccept:    compileTrigger(`(?:oui|ok|okay|très bien|parfait|tout à fait|super)`),
		fillers:       wordSet("euh", "ah", "oh", "bon", "alors", "ben", "eh", "hum"),
		requests: []*regexp.Regexp{
			askRE(` (?:pouvez|pourriez|peux|pourrais|pourrez) (?:vous|tu) (?:nous |me )?(?P<a>.+)`),
			askRE(` quelqu'un (?:peut|pourrait) (?:nous |me )?(?P<a>.+)`),
			askRE(` (?:vous|tu) (?:pouvez|pourriez|peux|pourrais) (?:nous |me |m' )?(?P<a>.+)`),
			askRE(` est ce que (?:vous|tu) (?:pouvez|pourriez|peux|pourrais) (?:nous |me )?(?P<a>.+)`),
		},
		needs: []*regexp.Regexp{
			askRE(` (?:il faudrait|il nous faudrait|il nous faut|nous avons besoin de|on a besoin de|nous aurions besoin de) (?:nous |me )?(?P<a>.+)`),
			askRE(` merci de (?:nous |me )?(?P<a>.+)`),
		},
		offers: []*regexp.Regexp{
			askRE(` (?:voulez|veux|souhaitez) (?:vous|tu) que je (?:vous |te )?(?:le |la |les )?(?P<a>.+)`),
			askRE(` (?:dois je|je vous (?:` + sg + `)) (?P<a>.+) \?`),
		},
		clauseEnd: wordSet("et", "mais", "ou", "car", "puis"),
		// Speech says the object first and takes it up with a pronoun: "la doc sécurité je vous l'envoie".
		fronted:        regexp.MustCompile(`^(?:(?:alors|bon|euh|ben|donc|et|ok|okay|oui|bah|hum) )*(?P<o>(?:le|la|les) \S+(?: \S+){0,3}?) $`),
		objectPronouns: wordSet("le", "la", "les"),
		stative:        lemmaIn(wordSet("être", "avoir", "pouvoir", "vouloir", "savoir", "voir", "penser", "croire", "espérer", "falloir", "devoir", "sembler", "aller", "rester", "attendre", "aimer", "serai", "serons", "aurai", "aurons", "pourrai", "pourrons", "verrai", "verrons", "saurai", "saurons", "sera", "aura", "pourra", "verra", "faudra", "peut", "prendre")),
		plan:           lemmaIn(wordSet("migrer", "lancer", "recruter", "évaluer", "déployer", "étendre", "changer", "décider", "discuter", "réfléchir", "considérer", "analyser", "étudier", "investir", "acheter", "remplacer", "renouveler", "adopter", "tester", "embaucher", "parler")),
		lemma:          func(v string) string { return v },
		named:          wordSet("je", "nous", "vous", "il", "elle", "ils", "elles", "on", "ce", "cela", "ça", "qui", "que", "tout", "personne", "quelqu'un", "oui", "non", "bon", "alors", "demain", "équipe", "le", "la", "les", "me", "te", "se", "lui", "leur", "bien", "super", "parfait", "et", "mais", "donc", "ensuite"),
		dropAt:         wordSet("à", "de", "et", "que", "aussi", "donc", "alors"),
		determiners:    wordSet("le", "la", "les", "un", "une", "notre", "nos", "mon", "ma", "mes", "votre", "vos", "ce", "cette", "ces", "son", "sa", "leur", "du", "des"),
		dates: []dueRule{
			dueRuleOf(dueExplicit, pre+`(?P<d>\d{1,2}|1er) (?P<mon>`+mon+`)(?: (?P<y>\d{4}))?`, monthDay),
			dueRuleOf(dueExplicit, pre+`(?P<x>\d{1,2})/(?P<y2>\d{1,2})(?:/(?P<y>\d{2,4}))?`, numericDate),
			dueRuleOf(dueRelative, pre+`après demain`, duePlusDays(2)),
			dueRuleOf(dueRelative, pre+`demain(?: (?:matin|soir|après midi|midi|sans faute))?`, duePlusDays(1), "après"),
			dueRuleOf(dueRelative, pre+`(?:le )?début de (?:la )?semaine prochaine`, nextWeekMonday),
			dueRuleOf(dueRelative, pre+`(?:(?:la |en )?fin de (?:la )?semaine prochaine|(?:la )?semaine prochaine)`, nextWeekFriday),
			dueRuleOf(dueRelative, pre+`(?:(?:la |en )?fin de (?:la |cette )?semaine|cette semaine)`, endOfWeek),
			dueRuleOf(dueRelative, pre+`(?:(?:la |à la )?fin du mois prochain|le mois prochain)`, endOfNextMonth),
			dueRuleOf(dueRelative, pre+`(?:(?:à la |la |en )?fin (?:du|de) mois|ce mois ci)`, endOfMonth),
			dueRuleOf(dueRelative, pre+`(?:(?:à la |la |en )?fin (?:du|de) trimestre|ce trimestre)`, endOfQuarter),
			dueRuleOf(dueRelative, `(?:dans|de ici|sous) `+num+` (?P<u>jours|jour|semaines|semaine|heures)`, inCount),
			dueRuleOf(dueRelative, `(?:(?:de ici|avant|pour|jusque à|ce|le|dès) ){0,2}(?P<wd>`+wd+`)(?: (?:matin|soir|après midi))?(?: (?P<mod>prochain))?`, dueWeekday, "dernier"),
			dueRuleOf(dueSameDay, pre+`(?:aujourd'hui|ce soir|cet après midi|ce matin|(?:la )?fin de (?:la )?journée|dans la journée)`, dueToday),
		},
	}
	return r
}
