package detect

import "regexp"

func portuguese() *langRules {
	addWeekdays([7]string{"domingo", "segunda", "terça", "quarta", "quinta", "sexta", "sábado"}, "terca", "terça", "sabado", "sábado")
	addMonths([12]string{"janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro", "novembro", "dezembro"}, "marco", "março")
	wd := `segunda|terça|terca|quarta|quinta|sexta|sábado|sabado|domingo`
	mon := `janeiro|fevereiro|março|marco|abril|maio|junho|julho|agosto|setembro|outubro|novembro|dezembro`
	pre := `(?:(?:até|para|pra|pro|no|na|ao|à|o|a|dia|em|antes do|antes da|antes de|no máximo) ){0,3}`
	num := `(?P<n>um|uma|dois|duas|três|quatro|cinco|seis|sete|oito|dez|quinze|\d+)`
	cl := `(?P<c>(?:(?:te|lhe|lhes|vos|o|a|os|as|me|nos) ){1,2})?`
	adv := `(?:(?:também|já|logo|amanhã|hoje|pessoalmente|então|eu) )?`
	sg := altRE("mando", "coloco", "ponho", "junto", "envio", "passo", "compartilho", "confirmo", "aviso", "retorno", "ligo", "preparo", "cuido", "volto", "falo", "verifico", "reviso", "agendo", "marco", "organizo", "configuro", "faço", "entrego", "apresento", "encaminho", "escrevo", "respondo", "chamo", "mostro", "resolvo", "atualizo", "comprometo", "encarrego", "responsabilizo", "dou", "levanto", "checo", "consulto", "pergunto", "peço", "providencio", "coordeno", "trago", "libero", "monto", "crio", "incluo", "adiciono", "ajusto", "corrijo", "gero", "assino", "convido", "valido", "detalho", "formalizo", "reservo")
	pl := altRE("mandamos", "enviamos", "passamos", "compartilhamos", "confirmamos", "avisamos", "retornamos", "ligamos", "preparamos", "cuidamos", "voltamos", "falamos", "verificamos", "revisamos", "agendamos", "marcamos", "organizamos", "configuramos", "fazemos", "entregamos", "apresentamos", "encaminhamos", "escrevemos", "respondemos", "mostramos", "resolvemos", "atualizamos", "comprometemos", "damos", "providenciamos", "coordenamos", "trazemos", "liberamos", "montamos", "criamos", "incluímos", "adicionamos", "ajustamos", "corrigimos", "geramos", "assinamos", "convidamos", "validamos", "detalhamos", "formalizamos", "reservamos")
	sg3 := altRE("manda", "envia", "passa", "compartilha", "confirma", "avisa", "retorna", "liga", "prepara", "cuida", "volta", "fala", "verifica", "revisa", "agenda", "marca", "organiza", "configura", "faz", "entrega", "apresenta", "encaminha", "escreve", "responde", "mostra", "resolve", "atualiza", "providencia", "traz", "libera", "monta", "cria", "inclui", "adiciona", "ajusta", "corrige", "gera", "assina", "convida", "valida", "detalha", "formaliza", "reserva")
	r := &langRules{
		code: "pt",
		patterns: []pattern{
			{re: compileTrigger(`(?:pode deixar|deixa comigo|deixe comigo|conta comigo|pode contar comigo|fica comigo)`), subj: subjI, mode: modePromise, initial: true},
			{re: compileTrigger(`(?P<s>eu )?(?:me comprometo|fico responsável|fico encarregado|fico encarregada|me encarrego)`), subj: subjI, mode: modePromise},
			{re: compileTrigger(`(?P<s>nós )?(?:nos comprometemos|ficamos responsáveis|nos encarregamos)`), subj: subjWe, mode: modePromise},
			{re: compileTrigger(`(?P<s>eu )?fico de ` + cl + `(?P<v>\S+)`), subj: subjI, mode: modePromise},
			{re: compileTrigger(`(?P<s>nós |a gente )?(?:ficamos|fica) de ` + cl + `(?P<v>\S+)`), subj: subjWe, mode: modePromise},
			{re: compileTrigger(`(?P<s>eu )?` + cl + `vou ` + adv + cl + `(?P<v>\S+)`), subj: subjI, mode: modeFuture},
			{re: compileTrigger(`(?:(?P<s>nós )?` + cl + `vamos|a gente ` + cl + `vai) ` + adv + cl + `(?P<v>\S+)`), subj: subjWe, mode: modeFuture},
			{re: compileTrigger(`(?P<s>eu )?(?:preciso|tenho que|devo) ` + cl + `(?P<v>\S+r)`), subj: subjI, mode: modeObligation},
			{re: compileTrigger(`(?P<s>nós |a gente )?(?:precisamos|temos que|devemos|precisa|tem que) ` + cl + `(?P<v>\S+r)`), subj: subjWe, mode: modeObligation},
			{re: compileTrigger(`(?:deixa eu|deixe eu|deixa me|deixe me|me deixa|me deixe|permita me) (?P<v>\S+)`), subj: subjI, mode: modeLetMe},
			{re: compileTrigger(`(?P<s>eu )?` + cl + `(?P<v>\S+(?:arei|erei|irei)|farei|direi|trarei)`), subj: subjI, mode: modeFuture},
			{re: compileTrigger(`(?P<s>nós )?` + cl + `(?P<v>\S+(?:aremos|eremos|iremos)|faremos|diremos|traremos)`), subj: subjWe, mode: modeFuture},
			{re: compileTrigger(`(?P<s>eu )?` + cl + `(?P<v>` + sg + `)`), subj: subjI, mode: modePresent},
			{re: compileTrigger(`(?:(?P<s>nós )?` + cl + `(?P<v>` + pl + `)|(?P<c>a gente) ` + cl + `(?P<v2>` + sg3 + `))`), subj: subjWe, mode: modePresent},
			{re: compileTrigger(`(?:nosso|nossa|meu|minha) (?:\S+ ){1,2}?vai ` + cl + `(?P<v>\S+)`), subj: subjWe, mode: modeFuture},
			{re: compileTrigger(`(?:o |a )?(?P<n>\S+) ` + cl + `vai ` + cl + `(?P<v>\S+)`), subj: subjName, mode: modeFuture},
			{re: compileTrigger(`(?:o |a )?(?P<n>\S+) ` + cl + `(?P<v>` + sg3 + `)`), subj: subjName, mode: modeDated},
		},
		function: wordSet("eu", "você", "vocês", "a", "o", "os", "as", "que", "de", "e", "para", "com", "um", "uma", "não", "é", "do", "da", "no", "na", "vou", "te", "gente", "amanhã", "sim", "isso", "mas", "nós", "vamos", "mando", "já", "tá", "pra"),

		beneficiary: wordRE("te", "você", "vocês", "lhe", "lhes", "para você", "pra você", "para vocês", "pra vocês", "de vocês", "com vocês", "com você", "seu", "sua", "teu", "tua"),
		negation:    wordRE("não", "nunca", "jamais", "nem", "ninguém", "nada"),
		hedge:       wordRE("talvez", "quem sabe", "poderia", "poderíamos", "pudesse", "pudéssemos", "pode ser que", "possivelmente", "acho que não", "se der", "espero"),
		past:        wordRE("ontem", "passado", "passada", "anteontem"),
		habitual:    wordRE("geralmente", "normalmente", "sempre", "todo mês", "toda semana", "todo dia", "todos os meses", "costumamos", "costumo", "mensalmente", "semanalmente"),
		internal:    wordRE("internamente", "entre nós", "aqui dentro"),
		conditional: wordRE("se a gente", "se nós", "se eu", "se vocês", "se você", "se tiver", "se for", "se puder", "se precisar", "caso", "a menos que"),
		report:      wordRE("disse", "disseram", "falou", "falaram", "prometeu", "prometeram", "achava", "dizem", "diz"),
		idioms:      wordRE("sem problema", "sem problemas", "não tem problema", "não se preocupe", "não esquenta", "não é", "ou não"),
		polite:      wordRE("se estiver bom", "se estiver bem", "se quiser", "se quiserem", "se possível", "se for o caso", "se precisar", "se preferir", "se vocês quiserem"),
		trying:      wordRE("provavelmente", "tento", "tentar", "tentarei", "tentamos", "vou tentar"),
		// "já" before a past form: "nós já compartilhamos".
		acceptance: compileTrigger(`(?:(?:sim|ok|tá) (?:, )?)?(?:eu vejo isso|vejo isso|eu verifico isso|deixa comigo|deixa que eu vejo|claro|com certeza|pode deixar|sem problema|combinado|fechado|com prazer|lógico|sim , por favor|sim por favor|por favor)`),
		weakAccept: compileTrigger(`(?:sim|ok|okay|tá bom|ta bom|está bem|beleza|perfeito|tudo bem|certo|pode ser|ótimo|maravilha|positivo|bora)`),
		fillers:    wordSet("ah", "é", "então", "bom", "olha", "hum", "ué", "né", "tipo", "pronto", "aí", "assim", "enfim"),
		requests: []*regexp.Regexp{
			askRE(` (?:vocês |você )?(?:podem|pode|poderiam|poderia|conseguem|consegue|conseguiriam|conseguiria) (?:me |nos )?(?P<a>.+)`),
		},
		needs: []*regexp.Regexp{
			askRE(` (?:precisamos|precisaríamos|a gente precisa|eu preciso|preciso) (?:de |da |do |das |dos )?(?P<a>.+)`),
			askRE(` por favor ,? (?P<a>.+)`),
		},
		offers: []*regexp.Regexp{
			askRE(` (?:quer|querem|você quer|vocês querem|prefere|preferem) que eu (?:te |lhe |lhes )?(?P<a>.+)`),
			askRE(` (?:posso) (?:te |lhe |lhes )?(?P<a>.+) \?`),
		},
		clauseEnd:   wordSet("e", "mas", "ou", "porque", "pois"),
		stative:     lemmaIn(wordSet("ser", "estar", "ter", "poder", "querer", "saber", "ver", "pensar", "precisar", "achar", "esperar", "ficar", "ir", "gostar", "adorar", "conseguir", "suportar", "poderei", "poderemos", "terei", "teremos", "saberei", "verei", "veremos", "serei", "seremos", "estarei", "precisarei", "precisaremos")),
		plan:        lemmaIn(wordSet("migrar", "lançar", "contratar", "avaliar", "expandir", "mudar", "trocar", "implantar", "implementar", "decidir", "discutir", "conversar", "analisar", "estudar", "investir", "comprar", "renovar", "substituir", "testar")),
		lemma:       func(v string) string { return v },
		named:       wordSet("eu", "nós", "você", "vocês", "ele", "ela", "eles", "elas", "isso", "isto", "quem", "que", "tudo", "ninguém", "alguém", "sim", "não", "claro", "então", "amanhã", "hoje", "time", "equipe", "me", "te", "se", "lhe", "gente", "pode", "tá", "já", "também", "mas", "e"),
		dropAt:      wordSet("e", "de", "que", "para", "também", "já", "então", "por"),
		determiners: wordSet("um", "uma", "nosso", "nossa", "meu", "minha", "seu", "sua", "este", "esta", "esse", "essa", "do", "da", "no", "na", "os", "as"),
		dates: []dueRule{
			dueRuleOf(dueExplicit, pre+`(?P<d>\d{1,2}) de (?P<mon>`+mon+`)(?: de (?P<y>\d{4}))?`, monthDay),
			dueRuleOf(dueExplicit, pre+`(?P<x>\d{1,2})/(?P<y2>\d{1,2})(?:/(?P<y>\d{2,4}))?`, numericDate),
			dueRuleOf(dueExplicit, `(?:(?:até|para|no|o) ){0,2}dia (?P<d>\d{1,2})`, dayOfMonth),
			dueRuleOf(dueRelative, pre+`depois de amanhã`, duePlusDays(2)),
			dueRuleOf(dueRelative, pre+`amanhã(?: (?:de manhã|cedo|à tarde|sem falta|cedinho))?`, duePlusDays(1), "de"),
			dueRuleOf(dueRelative, pre+`(?:começo|início) da (?:próxima semana|semana que vem)`, nextWeekMonday),
			dueRuleOf(dueRelative, pre+`(?:(?:fim|final) da (?:próxima semana|semana que vem)|(?:semana que vem|próxima semana))`, nextWeekFriday),
			dueRuleOf(dueRelative, pre+`(?:(?:fim|final) da semana|(?:esta|essa) semana)`, endOfWeek),
			dueRuleOf(dueRelative, pre+`(?:(?:fim|final) do (?:mês que vem|próximo mês)|mês que vem|próximo mês)`, endOfNextMonth),
			dueRuleOf(dueRelative, pre+`(?:(?:fim|final) do mês|(?:este|esse) mês)`, endOfMonth),
			dueRuleOf(dueRelative, pre+`(?:(?:fim|final) do trimestre|(?:este|esse) trimestre)`, endOfQuarter),
			dueRuleOf(dueRelative, `(?:em|daqui a|dentro de) `+num+` (?P<u>dias|dia|semanas|semana|horas)`, inCount),
			dueRuleOf(dueRelative, `(?:(?:até|na|no|para|a) ){0,2}(?:(?P<mod>próxima|próximo|nesta|nessa|esta|essa) )?(?P<wd>`+wd+`)(?: feira)?(?: (?P<mod2>que vem))?(?: (?:tipo |lá |mais ou menos )?(?:(?:ao|no|pelo|até ao|até o) (?:fim|final) do dia|de manhã|à tarde|à noite|cedo|cedinho))?`, dueWeekday),
			dueRuleOf(dueSameDay, pre+`(?:hoje(?: mesmo| à tarde| à noite| ainda)?|(?:fim|final) do dia|ainda hoje)`, dueToday),
		},
	}
	// "já" followed by a past form marks a report: "nós já compartilhamos".
	r.past = regexp.MustCompile(` (?:ontem|passado|passada|anteontem) | já \S+(?:amos|emos|imos|ei|ou|eu) `)
	return r
}
