package detect

import (
	"regexp"
	"strings"
)

func spanish() *langRules {
	addWeekdays([7]string{"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"}, "miercoles", "miércoles", "sabado", "sábado")
	addMonths([12]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"}, "setiembre", "septiembre")
	wd := `lunes|martes|miércoles|miercoles|jueves|viernes|sábado|sabado|domingo`
	mon := `enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre`
	pre := `(?:(?:para|antes|hasta|de|del|el|a|al|como tarde|como muy tarde) ){0,3}`
	num := `(?P<n>un|una|uno|dos|tres|cuatro|cinco|seis|siete|ocho|diez|quince|\d+)`
	cl := `(?P<c>(?:(?:te|os|le|les|se|me|nos|lo|la|los|las) ){1,3})?`
	adv := `(?:(?:ya|luego|ahora|mañana|hoy|enseguida|también|directamente|personalmente|yo|nosotros) )?`
	sg := altRE("pongo", "meto", "envío", "mando", "paso", "comparto", "confirmo", "aviso", "digo", "preparo", "reviso", "miro", "llamo", "escribo", "respondo", "contesto", "cuento", "agendo", "organizo", "configuro", "hago", "reenvío", "facilito", "doy", "presento", "entrego", "remito", "traslado", "consulto", "compruebo", "verifico", "programo", "monto", "encargo", "ocupo", "comprometo", "busco", "actualizo", "adjunto", "comento", "muestro", "gestiono", "resuelvo", "arreglo", "contacto", "pregunto", "pido", "subo", "comunico", "hablo", "devuelvo", "mando", "remito", "agendo", "coordino", "rehago", "redacto", "corrijo", "completo", "termino", "cierro", "invito", "incluyo", "añado", "convoco", "traigo", "preparo", "reservo", "documento")
	pl := altRE("enviamos", "mandamos", "pasamos", "compartimos", "confirmamos", "avisamos", "decimos", "preparamos", "revisamos", "miramos", "llamamos", "escribimos", "respondemos", "contestamos", "contamos", "agendamos", "organizamos", "configuramos", "hacemos", "reenviamos", "facilitamos", "damos", "presentamos", "entregamos", "remitimos", "consultamos", "comprobamos", "verificamos", "programamos", "montamos", "encargamos", "ocupamos", "comprometemos", "buscamos", "actualizamos", "adjuntamos", "comentamos", "mostramos", "gestionamos", "resolvemos", "arreglamos", "contactamos", "preguntamos", "pedimos", "subimos", "comunicamos", "hablamos", "devolvemos", "coordinamos", "rehacemos", "redactamos", "corregimos", "completamos", "terminamos", "cerramos", "invitamos", "incluimos", "añadimos", "convocamos", "traemos", "reservamos", "documentamos")
	sg3 := altRE("envía", "manda", "pasa", "comparte", "confirma", "prepara", "revisa", "llama", "escribe", "organiza", "configura", "agenda", "hace", "entrega", "presenta", "responde", "contacta", "coordina", "se encarga", "se ocupa")
	// A left-dislocated object, taken up again by a clitic: "el informe lo tendré listo", "la propuesta
	// te la mando", "lo de la latencia lo miro yo". The action phrase starts at the object, so group
	// "v" marks the object's first word; the verb is restricted to action verbs, since the lemma checks see no verb.
	var fut []string
	for _, v := range strings.Split(sg, "|") {
		if strings.HasSuffix(v, "o") {
			fut = append(fut, strings.TrimSuffix(v, "o")+"aré") // mando → mandaré; other forms never match
		}
	}
	ready := `(?:tendré|tendremos) (?:listo|lista|listos|listas|preparado|preparada|preparados|preparadas|terminado|terminada)`
	// The object: a head word, an adjective, a "de" complement ("el informe de auditoría").
	// The adjective is no conjunction: "yo escribo el resumen y te lo mando" says two actions.
	obj := `(?:el|la|los|las|lo de(?: el| la| los| las)?) (?P<v>\S+) (?:(?:[^\syeo]|[yeo]\S)\S* )??(?:(?:de|del) (?:la |el |los |las )?\S+ )?`
	disloc := obj + `(?P<c>(?:(?:te|os|le|les|se) )?(?:lo|la|los|las) )`
	dislocTo := obj + `(?P<c>(?:te|os|se) (?:lo|la|los|las) )`
	// "seguramente el lunes te lo tengo": having it for someone by a date is delivering it.
	have := `(?:(?:(?:para |antes del |el |este )?(?:` + wd + `)|mañana|hoy|esta tarde|esta semana|la semana que viene|la próxima semana) )?(?P<c>(?:te|os|se) (?:lo|la|los|las) )`
	r := &langRules{
		code: "es",
		patterns: []pattern{
			{re: compileTrigger(`(?:cuenta con ello|cuente con ello|cuenta conmigo|cuente conmigo|dalo por hecho|delo por hecho|déjalo en mis manos|déjamelo a mí|yo me encargo|yo me ocupo)`), subj: subjI, mode: modePromise, initial: true},
			{re: compileTrigger(`(?P<s>yo )?(?:quedo|me quedo) (?:pendiente(?:s)? )?(?:de|en) (?P<v>\S+)`), subj: subjI, mode: modePromise},
			{re: compileTrigger(`(?P<s>nosotros )?quedamos (?:pendientes )?(?:de|en) (?P<v>\S+)`), subj: subjWe, mode: modePromise},
			{re: compileTrigger(`(?P<s>yo )?(?:me comprometo|me encargo|me ocupo)`), subj: subjI, mode: modePromise},
			{re: compileTrigger(`(?P<s>nosotros )?(?:nos comprometemos|nos encargamos|nos ocupamos)`), subj: subjWe, mode: modePromise},
			{re: compileTrigger(disloc + `(?:yo )?(?:` + sg + `|` + altRE(fut...) + `|haré|` + ready + `)`), subj: subjI, mode: modePresent},
			{re: compileTrigger(disloc + `(?:nosotros )?(?:` + pl + `|haremos|` + ready + `)`), subj: subjWe, mode: modePresent},
			{re: compileTrigger(dislocTo + `(?:yo )?tengo`), subj: subjI, mode: modeDated},
			{re: compileTrigger(dislocTo + `(?:nosotros )?tenemos`), subj: subjWe, mode: modeDated},
			{re: compileTrigger(`(?P<s>yo )?` + cl + `voy a ` + cl + `(?P<v>\S+)`), subj: subjI, mode: modeFuture},
			{re: compileTrigger(`(?P<s>nosotros |nosotras )?` + cl + `vamos a ` + cl + `(?P<v>\S+)`), subj: subjWe, mode: modeFuture},
			{re: compileTrigger(`(?P<s>yo )?(?:tengo que|debo|necesito) ` + cl + `(?P<v>\S+(?:ar|er|ir|arte|arlo|arla|arlos|arlas|aros|arles|arle|erte|erlo|erla|irte|irlo|irla|iros|eros))`), subj: subjI, mode: modeObligation},
			{re: compileTrigger(`(?P<s>nosotros )?(?:tenemos que|debemos|necesitamos) ` + cl + `(?P<v>\S+(?:ar|er|ir|arte|arlo|arla|arlos|arlas|aros|arles|arle|erte|erlo|erla|irte|irlo|irla|iros|eros))`), subj: subjWe, mode: modeObligation},
			{re: compileTrigger(`(?:déjame|déjeme|dejadme|permíteme|permítame|permitidme) (?P<v>\S+)`), subj: subjI, mode: modeLetMe},
			{re: compileTrigger(`(?P<s>yo )?` + cl + adv + `(?P<v>\S+(?:aré|eré|iré)|haré|diré|pondré|tendré|podré|sabré|querré|saldré|vendré)`), subj: subjI, mode: modeFuture},
			{re: compileTrigger(`(?P<s>nosotros )?` + cl + adv + `(?P<v>\S+(?:aremos|eremos|iremos)|haremos|diremos|pondremos|tendremos|podremos|sabremos)`), subj: subjWe, mode: modeFuture},
			{re: compileTrigger(`(?P<s>yo )?` + have + `(?P<v>tengo)`), subj: subjI, mode: modeDated},
			{re: compileTrigger(`(?P<s>nosotros )?` + have + `(?P<v>tenemos)`), subj: subjWe, mode: modeDated},
			{re: compileTrigger(`(?P<s>yo )?` + cl + `(?P<v>` + sg + `)`), subj: subjI, mode: modePresent},
			{re: compileTrigger(`(?P<s>nosotros |nosotras )?` + cl + `(?P<v>` + pl + `)`), subj: subjWe, mode: modePresent},
			{re: compileTrigger(`(?:nuestro|nuestra|mi) (?:\S+ ){1,3}?` + cl + `va a (?P<v>\S+)`), subj: subjWe, mode: modeFuture},
			{re: compileTrigger(`(?P<n>\S+) ` + cl + `va a (?P<v>\S+)`), subj: subjName, mode: modeFuture},
			{re: compileTrigger(`(?P<n>\S+) ` + cl + `(?P<v>` + sg3 + `)`), subj: subjName, mode: modeDated},
		},
		function: wordSet("el", "la", "los", "las", "que", "de", "y", "te", "os", "lo", "en", "por", "para", "con", "mañana", "vamos", "un", "una", "es", "no", "sí", "se", "del", "al", "muy", "pero", "yo", "nosotros", "envío", "vale", "claro", "esta", "este", "eso"),

		beneficiary: regexp.MustCompile(` (?:te|os|le|les|ti|vosotros|vosotras|vuestro|vuestra|vuestros|vuestras|usted|ustedes|contigo) | \S+(?:arte|erte|irte|aros|eros|iros|arle|erle|irle|arles|erles|irles|ártelo|ártela|áoslo|ároslo|ároslos|árselo|ársela) `),
		negation:    wordRE("no", "nunca", "jamás", "tampoco", "nadie", "nada", "ni"),
		hedge:       wordRE("quizás", "quizá", "tal vez", "a lo mejor", "igual", "posiblemente", "podría", "podríamos", "puede que", "no sé si", "ojalá", "en principio", "a ver si", "podríais"),
		past:        wordRE("ayer", "pasado", "pasada", "anteayer", "ya lo hice", "antes de ayer"),
		habitual:    wordRE("normalmente", "siempre", "cada mes", "cada semana", "generalmente", "habitualmente", "todos los meses", "todas las semanas", "solemos", "suelo"),
		internal:    wordRE("internamente", "entre nosotros", "a nivel interno", "de forma interna", "en interno"),
		conditional: wordRE("si", "en caso de que", "suponiendo que", "a menos que"),
		report:      wordRE("dijo", "dijeron", "comentó", "comentaron", "prometió", "prometieron", "pensaba", "dije", "decía", "dicen", "dice"),
		idioms:      wordRE("pasado mañana", "no hay problema", "sin problema", "ningún problema", "no te preocupes", "no os preocupéis", "¿no?", "no ?", "cómo no"),
		polite:      wordRE("si te parece", "si te parece bien", "si os parece", "si os parece bien", "si quieres", "si queréis", "si es posible", "si hace falta", "si lo necesitas"),
		trying:      wordRE("probablemente", "seguramente", "intentaré", "intentaremos", "intento", "intentamos", "procuraré", "trataré"),

		acceptance: compileTrigger(`(?:(?:sí|si|vale|ok) (?:, )?)?(?:claro|por supuesto|de acuerdo|sin problema|hecho|cuenta con ello|cuenta conmigo|desde luego|con gusto|con mucho gusto|cómo no|sí , por favor|sí por favor|por favor|(?:yo )?me (?:lo|la|los|las) (?:apunto|anoto|quedo)|(?:eso )?(?:lo|la) (?:apunto|anoto|cojo|pillo|asumo) yo)`),
		weakAccept: compileTrigger(`(?:sí|vale|ok|okay|perfecto|genial|venga|dale|listo|muy bien|estupendo|bueno)`),
		fillers:    wordSet("eh", "ah", "oh", "bueno", "pues", "mmm", "em", "¡", "este", "mira", "oye", "entonces"),
		// Speech has no question marks: a question word, or "te lo mando yo … o …" (an alternative).
		questionStart: compileTrigger(`(?:(?:o sea|bueno|pues|y|entonces|este|oye|vale|a ver|eh) ){0,3}(?:cuándo|dónde|quién|quiénes|cuál|cuáles|cuánto|cuánta|cuántos|cuántas|por qué|para qué|cómo (?:[^n\s]|n[^o\s])|(?:(?:te|os|le|les|se) )?(?:lo |la |los |las )?\S+ yo (?:\S+ )*?o (?:[^s\s]\S*|s[^e\s]\S*|se[^a\s]\S*|sea\S+|se))`),
		requests: []*regexp.Regexp{
			askRE(` (?:(?:me|nos) )?(?:puedes|podéis|podrías|podríais|puede|pueden|podría|podrían|podés)(?: usted| ustedes)? (?:(?:me|nos) )?(?P<a>.+)`),
			// "marta me pasas el contrato": a present-tense request to the one spoken to.
			askRE(` (?:me|nos) (?:lo |la |los |las )?(?P<a>(?:pasas|pasáis|mandas|mandáis|envías|enviáis|compartes|compartís|preparas|preparáis|haces|hacéis|confirmas|confirmáis|reenvías|reenviáis|dejas|dejáis|das|dais) .+)`),
		},
		needs: []*regexp.Regexp{
			askRE(` (?:necesitamos|necesitaríamos|nos haría falta|nos hace falta|me haría falta) (?P<a>.+)`),
			askRE(` (?:por favor) (?P<a>.+)`),
		},
		offers: []*regexp.Regexp{
			askRE(` (?:quieres|queréis|quiere|quieren|te parece|os parece) que (?:te |os |le |les |se )?(?:lo |la |los |las )?(?P<a>.+)`),
			askRE(` (?:te|os|le|les) (?:lo |la |los |las )?(?P<a>(?:` + sg + `) .+) \?`),
		},
		clauseEnd:   wordSet("y", "pero", "o", "porque", "aunque", "pues", "entonces"),
		stative:     lemmaIn(wordSet("ser", "estar", "tener", "poder", "querer", "saber", "ver", "pensar", "necesitar", "creer", "esperar", "parecer", "haber", "gustar", "encantar", "ir", "seguir", "quedar", "intentar", "soportar")),
		plan:        lemmaIn(wordSet("migrar", "evaluar", "lanzar", "contratar", "expandir", "ampliar", "cambiar", "mover", "implantar", "implementar", "decidir", "considerar", "discutir", "hablar", "comentar", "analizar", "estudiar", "valorar", "invertir", "comprar", "adquirir", "renovar", "sustituir", "reemplazar", "desplegar", "crecer", "probar", "pensar")),
		lemma:       lemmaES,
		named:       wordSet("yo", "nosotros", "él", "ella", "ellos", "ellas", "usted", "ustedes", "eso", "esto", "esta", "este", "quien", "quién", "que", "qué", "todo", "nadie", "alguien", "claro", "vale", "perfecto", "bueno", "pues", "mañana", "hoy", "luego", "también", "ya", "nuestro", "nuestra", "equipo", "lo", "la", "le", "se", "me", "te", "nos", "os", "si", "sí", "no"),
		dropAt:      wordSet("a", "de", "y", "que", "también", "luego", "ya", "entonces"),
		determiners: wordSet("el", "la", "los", "las", "un", "una", "nuestro", "nuestra", "mi", "su", "este", "esta", "ese", "esa", "tu", "vuestro", "vuestra"),
		dates: []dueRule{
			dueRuleOf(dueExplicit, pre+`(?:día )?(?P<d>\d{1,2}) de (?P<mon>`+mon+`)(?: de (?P<y>\d{4}))?`, monthDay),
			dueRuleOf(dueExplicit, pre+`(?P<x>\d{1,2})/(?P<y2>\d{1,2})(?:/(?P<y>\d{2,4}))?`, numericDate),
			dueRuleOf(dueExplicit, pre+`día (?P<d>\d{1,2})`, dayOfMonth),
			dueRuleOf(dueRelative, pre+`pasado mañana`, duePlusDays(2)),
			dueRuleOf(dueRelative, pre+`mañana(?: (?:por la mañana|temprano|a primera hora|por la tarde|sin falta))?`, duePlusDays(1), "la", "esta", "por", "pasado", "de"),
			dueRuleOf(dueRelative, pre+`(?:a )?principios de la (?:semana que viene|próxima semana)`, nextWeekMonday),
			dueRuleOf(dueRelative, pre+`(?:(?:finales|final|fin) de la (?:semana que viene|próxima semana)|(?:la )?(?:semana que viene|próxima semana|semana próxima))`, nextWeekFriday),
			dueRuleOf(dueRelative, pre+`(?:(?:finales|final|fin) de (?:la |esta )?semana|esta semana)`, endOfWeek),
			dueRuleOf(dueRelative, pre+`(?:(?:finales|final|fin) del mes que viene|(?:el )?mes que viene|(?:el )?próximo mes)`, endOfNextMonth),
			dueRuleOf(dueRelative, pre+`(?:(?:finales|final|fin) de(?:l)? mes|este mes)`, endOfMonth),
			dueRuleOf(dueRelative, pre+`(?:(?:finales|final|fin) de(?:l)? trimestre|este trimestre)`, endOfQuarter),
			dueRuleOf(dueRelative, `(?:en|dentro de) `+num+` (?P<u>días|día|semanas|semana|horas)`, inCount),
			dueRuleOf(dueRelative, `(?:(?:para|antes|hasta|del|el|este|al) ){0,2}(?:(?P<mod>próximo) )?(?P<wd>`+wd+`)(?: (?P<mod2>que viene|próximo))?`, dueWeekday),
			dueRuleOf(dueSameDay, pre+`(?:hoy(?: mismo)?|esta (?:misma )?tarde|esta (?:misma )?noche|(?:final|fin) del día|lo antes posible hoy)`, dueToday),
		},
	}
	return r
}

var esEnclitic = regexp.MustCompile(`(ar|er|ir|ár|ér|ír)(?:me|te|se|le|les|lo|la|los|las|nos|os)+$`)

func lemmaES(v string) string {
	if m := esEnclitic.FindStringSubmatchIndex(v); m != nil {
		base := v[:m[3]]
		return strings.NewReplacer("ár", "ar", "ér", "er", "ír", "ir").Replace(base)
	}
	for _, suf := range []string{"aré", "eré", "iré", "aremos", "eremos", "iremos"} {
		if strings.HasSuffix(v, suf) {
			return strings.TrimSuffix(v, suf) + suf[:2]
		}
	}
	switch v {
	case "podré", "podremos":
		return "poder"
	case "tendré", "tendremos":
		return "tener"
	case "sabré", "sabremos":
		return "saber"
	case "querré":
		return "querer"
	}
	return v
}
