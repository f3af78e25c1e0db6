package detect

import (
	"strings"
	"testing"
	"time"
)

var (
	vendorAE = Speaker{Name: "Dana", Org: "Northwind"}
	buyerCTO = Speaker{Name: "Priya", Org: "Castellan"}
	thursday = time.Date(2025, 3, 6, 0, 0, 0, 0, time.UTC) // a Thursday
)

func sayIn(d *Detector, sp Speaker, lang, text string) []Commitment {
	return d.Detect(Utterance{Text: text, Speaker: sp, Language: lang, MeetingDate: thursday})
}

func TestOwnerAttribution(t *testing.T) {
	tests := []struct {
		lang, text       string
		sp               Speaker
		owner, ownerOrg  string
		beneficiary, due string
	}{
		{"en", "I'll send you the integration architecture by Thursday.", vendorAE, "Dana", "Northwind", "", "2025-03-13"},
		{"en", "We'll send you the integration architecture by Thursday.", vendorAE, "Northwind", "Northwind", "", "2025-03-13"},
		{"en", "Our solutions engineer will send you the diagrams tomorrow.", vendorAE, "Northwind", "Northwind", "", "2025-03-07"},
		{"en", "Omar will follow up with the API limits on Monday.", vendorAE, "Omar", "", "", "2025-03-10"},
		{"en", "We'll get back to you with a decision by Friday.", buyerCTO, "Castellan", "Castellan", "", "2025-03-07"},
		{"en", "We'll send you the report tomorrow.", Speaker{Name: "Sam"}, "Sam", "", "", "2025-03-07"},
		{"en", "I'll send you the report tomorrow.", Speaker{}, "Speaker", "", "", "2025-03-07"},
		{"es", "Te envío la propuesta mañana.", vendorAE, "Dana", "Northwind", "", "2025-03-07"},
		{"es", "Os mandamos el contrato el lunes.", vendorAE, "Northwind", "Northwind", "", "2025-03-10"},
		{"de", "Ich schicke Ihnen das Angebot bis Freitag.", vendorAE, "Dana", "Northwind", "", "2025-03-07"},
		{"de", "Wir melden uns bis Ende der Woche bei Ihnen.", vendorAE, "Northwind", "Northwind", "", "2025-03-07"},
		{"fr", "Je vous envoie le devis demain.", vendorAE, "Dana", "Northwind", "", "2025-03-07"},
		{"fr", "Nous vous enverrons le contrat la semaine prochaine.", vendorAE, "Northwind", "Northwind", "", "2025-03-14"},
		{"pt", "Vou mandar a proposta amanhã.", vendorAE, "Dana", "Northwind", "", "2025-03-07"},
		{"pt", "A gente manda o contrato até sexta.", vendorAE, "Northwind", "Northwind", "", "2025-03-07"},
	}
	for _, tc := range tests {
		t.Run(tc.lang+"/"+tc.text, func(t *testing.T) {
			got := sayIn(NewDetector(), tc.sp, tc.lang, tc.text)
			if len(got) != 1 {
				t.Fatalf("got %d commitments, want 1: %+v", len(got), got)
			}
			c := got[0]
			if c.Owner != tc.owner || c.OwnerOrg != tc.ownerOrg {
				t.Errorf("owner = %q (%q), want %q (%q)", c.Owner, c.OwnerOrg, tc.owner, tc.ownerOrg)
			}
			if c.Beneficiary != tc.beneficiary {
				t.Errorf("beneficiary = %q, want %q", c.Beneficiary, tc.beneficiary)
			}
			if g := c.Due.Format(time.DateOnly); g != tc.due {
				t.Errorf("due = %s, want %s", g, tc.due)
			}
			if c.Quote != tc.text {
				t.Errorf("quote = %q, want the sentence", c.Quote)
			}
			if c.Confidence <= 0 || c.Confidence > 1 {
				t.Errorf("confidence %v out of range", c.Confidence)
			}
			if c.What == "" {
				t.Error("empty action phrase")
			}
		})
	}
}

func TestWhatAndDuePhrase(t *testing.T) {
	got := sayIn(NewDetector(), vendorAE, "en", "Great, I'll send you the integration architecture by Thursday.")
	if len(got) != 1 {
		t.Fatalf("got %+v", got)
	}
	if got[0].What != "send you the integration architecture" {
		t.Errorf("what = %q", got[0].What)
	}
	if got[0].DuePhrase != "by Thursday" {
		t.Errorf("due phrase = %q", got[0].DuePhrase)
	}
	if got[0].Language != "en" {
		t.Errorf("language = %q", got[0].Language)
	}
}

// Taking a task on is an action, though "take" alone is not ("I'll take a seat").
func TestTakingATaskOn(t *testing.T) {
	for _, text := range []string{"I'll take care of the NDA.", "I will take charge of the security review by Friday."} {
		got := sayIn(NewDetector(), vendorAE, "en", text)
		if len(got) != 1 || !strings.HasPrefix(got[0].What, "take ") {
			t.Errorf("%q: %+v, want one commitment to take the task on", text, got)
		}
	}
	for _, text := range []string{"I'll take a seat.", "I'll take that as a yes."} {
		if got := sayIn(NewDetector(), vendorAE, "en", text); len(got) != 0 {
			t.Errorf("%q: %+v, want none", text, got)
		}
	}
}

func TestSeveralOwnersInOneSentence(t *testing.T) {
	got := sayIn(NewDetector(), vendorAE, "en", "I'll send the deck today, and Omar will set up the demo by Tuesday.")
	if len(got) != 2 {
		t.Fatalf("got %d commitments, want 2: %+v", len(got), got)
	}
	if got[0].Owner != "Dana" || got[0].Due.Format(time.DateOnly) != "2025-03-06" {
		t.Errorf("first = %+v", got[0])
	}
	if got[1].Owner != "Omar" || got[1].Due.Format(time.DateOnly) != "2025-03-11" {
		t.Errorf("second = %+v", got[1])
	}
	// One owner, two verbs: one commitment.
	got = sayIn(NewDetector(), vendorAE, "en", "I'll check with engineering and get back to you by Friday.")
	if len(got) != 1 || got[0].Due.Format(time.DateOnly) != "2025-03-07" {
		t.Errorf("got %+v, want one commitment due Friday", got)
	}
}

// TestNotCommitments covers hedges, negations, questions, hypotheticals, past reports, reported speech,
// habits and own plans in each language.
func TestNotCommitments(t *testing.T) {
	tests := map[string][]string{
		"en": {
			"We might send you a draft next week.",
			"Maybe we could set up a workshop.",
			"We won't be able to send it before June.",
			"I'm not going to send the pricing today.",
			"Can you send me the pricing?",
			"Shall I send you the deck?",
			"If we were to deploy it on-prem, we'd send you an installer.",
			"We sent the questionnaire last week.",
			"They said they'd send the contract by Friday.",
			"We usually send a report every month.",
			"We're going to migrate our ERP next year.",
			"We'll discuss it internally.",
			"We'll probably hire two engineers.",
			"I'll be honest with you.",
			"I'll tell you what, that's a good question.",
			"Let me know if you have questions.",
		},
		"es": {
			"Quizás te mandemos algo la semana que viene.",
			"No vamos a enviar el contrato esta semana.",
			"¿Nos puedes enviar la propuesta?",
			"Si lo desplegáramos en vuestro centro de datos, os mandaríamos un instalador.",
			"Te envié la propuesta la semana pasada.",
			"Ellos dijeron que nos enviarían el contrato.",
			"Vamos a migrar el ERP el año que viene.",
			"Lo vamos a hablar internamente.",
			"Normalmente os mandamos un informe cada mes.",
		},
		"de": {
			"Vielleicht schicken wir Ihnen nächste Woche etwas.",
			"Wir werden den Vertrag nicht vor Juni schicken.",
			"Können Sie uns das Angebot schicken?",
			"Wenn wir das bei Ihnen betreiben würden, bräuchten wir mehr Zeit.",
			"Ich habe Ihnen das Angebot letzte Woche geschickt.",
			"Sie haben gesagt, dass sie uns den Vertrag schicken.",
			"Wir werden nächstes Jahr unser ERP migrieren.",
			"Wir besprechen das intern.",
		},
		"fr": {
			"On pourrait peut-être vous envoyer un brouillon.",
			"Nous n'allons pas vous envoyer le contrat avant juin.",
			"Pouvez-vous nous envoyer la proposition ?",
			"Si nous devions le déployer chez vous, il nous faudrait plus de temps.",
			"Je vous ai envoyé la proposition la semaine dernière.",
			"Ils ont dit qu'ils nous enverraient le contrat.",
			"Nous allons migrer notre ERP l'année prochaine.",
			"On va en discuter en interne.",
		},
		"pt": {
			"Talvez a gente mande algo semana que vem.",
			"Não vamos enviar o contrato antes de junho.",
			"Vocês podem mandar a proposta?",
			"Se a gente tivesse que implantar aí, precisaríamos de mais tempo.",
			"Eu mandei a proposta semana passada.",
			"Eles disseram que iam mandar o contrato.",
			"Vamos migrar nosso ERP no ano que vem.",
			"Vamos conversar internamente.",
		},
	}
	for lang, texts := range tests {
		for _, text := range texts {
			if got := sayIn(NewDetector(), vendorAE, lang, text); len(got) != 0 {
				t.Errorf("%s %q: got %+v, want none", lang, text, got)
			}
		}
	}
}

func TestAcceptedRequest(t *testing.T) {
	d := NewDetector()
	if got := sayIn(d, buyerCTO, "en", "Can you share the pricing for the enterprise tier?"); len(got) != 0 {
		t.Fatalf("a request is not a commitment: %+v", got)
	}
	got := sayIn(d, vendorAE, "en", "Sure, by Friday.")
	if len(got) != 1 {
		t.Fatalf("got %+v, want the accepted request", got)
	}
	c := got[0]
	if c.Owner != "Dana" || c.What != "share the pricing for the enterprise tier" || c.Due.Format(time.DateOnly) != "2025-03-07" {
		t.Errorf("got %+v", c)
	}
	// A request is accepted once.
	if got := sayIn(d, vendorAE, "en", "Sure."); len(got) != 0 {
		t.Errorf("accepted twice: %+v", got)
	}
}

func TestAcceptedOffer(t *testing.T) {
	d := NewDetector()
	sayIn(d, vendorAE, "de", "Soll ich Ihnen die Fallstudie schicken?")
	got := sayIn(d, buyerCTO, "de", "Ja, gerne.")
	if len(got) != 1 || got[0].Owner != "Dana" || got[0].OwnerOrg != "Northwind" {
		t.Fatalf("got %+v, want Dana's offer", got)
	}
}

func TestAcceptanceNeedsContext(t *testing.T) {
	tests := []struct {
		name  string
		turns []struct {
			sp   Speaker
			text string
		}
	}{
		{"no request", []struct {
			sp   Speaker
			text string
		}{{vendorAE, "Sure, by Friday."}}},
		{"own request", []struct {
			sp   Speaker
			text string
		}{{vendorAE, "Can you send me the logs?"}, {vendorAE, "Sure, by Friday."}}},
		{"refused", []struct {
			sp   Speaker
			text string
		}{{buyerCTO, "Can you send me the pen test?"}, {vendorAE, "Unfortunately we can't share that."}}},
		{"weak ok without a date", []struct {
			sp   Speaker
			text string
		}{{buyerCTO, "Can you send me the pen test?"}, {vendorAE, "Okay."}}},
		{"too old", []struct {
			sp   Speaker
			text string
		}{{buyerCTO, "Can you send me the pen test?"}, {buyerCTO, "And the SOC 2 report."}, {Speaker{Name: "Tom", Org: "Castellan"}, "Also the DPA."}, {vendorAE, "Sure."}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDetector()
			var got []Commitment
			for _, turn := range tc.turns {
				got = sayIn(d, turn.sp, "en", turn.text)
			}
			if len(got) != 0 {
				t.Errorf("got %+v, want none", got)
			}
		})
	}
	// A weak acceptance with a date counts.
	d := NewDetector()
	sayIn(d, buyerCTO, "en", "Could you send us the SOC 2 report?")
	if got := sayIn(d, vendorAE, "en", "Okay, tomorrow."); len(got) != 1 || got[0].Owner != "Dana" {
		t.Errorf("got %+v, want one commitment", got)
	}
}

func TestAcceptanceEachLanguage(t *testing.T) {
	tests := []struct{ lang, ask, answer string }{
		{"es", "¿Nos podéis compartir los precios?", "Claro, para el jueves los tenéis."},
		{"de", "Können Sie uns den Bericht schicken?", "Klar, bis Freitag."},
		{"fr", "Pouvez-vous nous partager la grille tarifaire ?", "Bien sûr, d'ici jeudi."},
		{"pt", "Vocês podem compartilhar a tabela de preços?", "Claro, até quinta."},
	}
	for _, tc := range tests {
		d := NewDetector()
		sayIn(d, buyerCTO, tc.lang, tc.ask)
		got := sayIn(d, vendorAE, tc.lang, tc.answer)
		if len(got) != 1 || got[0].Owner != "Dana" || !got[0].HasDue() {
			t.Errorf("%s: got %+v, want Dana's dated commitment", tc.lang, got)
		}
	}
}

func TestDetectLanguage(t *testing.T) {
	tests := map[string]string{
		"I'll send you the deck by Friday.":                   "en",
		"Te envío la propuesta mañana, ¿vale?":                "es",
		"Ich schicke Ihnen das Angebot bis Freitag.":          "de",
		"Je vous envoie la proposition demain.":               "fr",
		"Vou mandar a proposta amanhã, tá bom?":               "pt",
		"Nós vamos entregar o conector no fim do mês.":        "pt",
		"Nous vous livrerons le connecteur à la fin du mois.": "fr",
	}
	for text, want := range tests {
		if got := DetectLanguage(text); got != want {
			t.Errorf("DetectLanguage(%q) = %s, want %s", text, got, want)
		}
	}
	// Language left empty: detected.
	got := NewDetector().Detect(Utterance{Text: "Ich schicke Ihnen das Angebot bis Freitag.", Speaker: vendorAE, MeetingDate: thursday})
	if len(got) != 1 || got[0].Language != "de" {
		t.Errorf("got %+v, want one German commitment", got)
	}
	// A regional code is reduced to its language.
	got = NewDetector().Detect(Utterance{Text: "Vou mandar a proposta amanhã.", Speaker: vendorAE, Language: "pt-BR", MeetingDate: thursday})
	if len(got) != 1 || got[0].Language != "pt" {
		t.Errorf("got %+v, want one Portuguese commitment", got)
	}
}

func TestDisfluencies(t *testing.T) {
	got := sayIn(NewDetector(), vendorAE, "en", "I'll I'll uh send you the the deck tomorrow.")
	if len(got) != 1 || !strings.HasPrefix(got[0].What, "send you the deck") {
		t.Errorf("got %+v", got)
	}
	if got := sayIn(NewDetector(), vendorAE, "en", "Okay, I will uh"); len(got) != 0 {
		t.Errorf("a broken-off sentence is not a commitment: %+v", got)
	}
}

func TestDetectorContextSize(t *testing.T) {
	d := NewDetector(WithContext(1))
	sayIn(d, buyerCTO, "en", "Can you send me the logs?")
	sayIn(d, buyerCTO, "en", "Thanks.")
	if got := sayIn(d, vendorAE, "en", "Sure, by Friday."); len(got) != 0 {
		t.Errorf("remembered beyond its context: %+v", got)
	}
	d.Reset()
	if len(d.history) != 0 {
		t.Error("Reset kept history")
	}
	if got := d.Detect(Utterance{Text: "   ", Speaker: vendorAE}); got != nil {
		t.Errorf("empty text: %+v", got)
	}
}

// An agenda for the meeting itself ("today we will walk through…") is not a promise to anyone,
// while the same verb with a later date is.
func TestAgendaIsNotACommitment(t *testing.T) {
	d := NewDetector()
	if got := sayIn(d, vendorAE, "en", "Today we will walk through the integration plan for the data platform."); len(got) != 0 {
		t.Errorf("agenda detected as %+v", got)
	}
	if got := sayIn(d, vendorAE, "en", "I will walk you through the deployment on Monday."); len(got) != 1 || got[0].Due.Format(time.DateOnly) != "2025-03-10" {
		t.Errorf("a walkthrough promised for Monday: %+v", got)
	}
}

// "I'll get that to you" answering a request takes its action from the request.
func TestPointingBackTakesTheRequestedAction(t *testing.T) {
	for _, tc := range []struct{ lang, ask, answer, what string }{
		{"en", "Can you also send the pricing for the enterprise tier?", "Sure, I will get that to you by Friday.", "send the pricing for the enterprise tier to Priya"},
		{"es", "¿Nos puedes mandar la propuesta actualizada?", "Claro, te la mando mañana.", "mandar la propuesta actualizada a Priya"},
	} {
		d := NewDetector()
		sayIn(d, buyerCTO, tc.lang, tc.ask)
		got := sayIn(d, vendorAE, tc.lang, tc.answer)
		if len(got) != 1 || got[0].What != tc.what || got[0].Owner != "Dana" {
			t.Errorf("%s: %+v, want Dana to %q", tc.lang, got, tc.what)
		}
	}
	if !vagueAction("get that to you") || vagueAction("send the pricing") {
		t.Error("vagueAction does not tell a pointer from an action")
	}
}

// A colleague who joined but has not spoken is known by full name when named in lower case.
func TestMeetKnowsAnAttendeeBeforeTheySpeak(t *testing.T) {
	lea := Speaker{Name: "Léa Petit", Org: "Northwind"}
	say := "d'accord du coup léa vous prépare la démo pour la semaine prochaine"
	d := NewDetector()
	d.Meet(lea)
	sayIn(d, buyerCTO, "fr", "il nous faudrait une démo pour l'équipe support")
	got := sayIn(d, vendorAE, "fr", say)
	if len(got) != 1 || got[0].Owner != "Léa Petit" || got[0].OwnerOrg != "Northwind" || got[0].Due.Format(time.DateOnly) != "2025-03-14" {
		t.Errorf("with Léa met: got %+v, want one commitment of Léa Petit (Northwind) due 2025-03-14", got)
	}
	d = NewDetector()
	sayIn(d, buyerCTO, "fr", "il nous faudrait une démo pour l'équipe support")
	for _, c := range sayIn(d, vendorAE, "fr", say) {
		if strings.Contains(strings.ToLower(c.Owner), "léa") {
			t.Errorf("without Léa met, the lower-case word became an owner: %+v", c)
		}
	}
}

// Words that are hesitations in one language are words in another: German "um", Portuguese "um"
// (a), Dutch "er" (there) stay in the action.
func TestHesitationsOfOneLanguageAreWordsOfAnother(t *testing.T) {
	tests := []struct{ lang, text, want string }{
		{"de", "ich kümmere mich um die lizenzen bis freitag", "um die lizenzen"},
		{"pt", "eu te mando um resumo amanhã", "um resumo"},
		{"en", "I'll um send you the deck tomorrow", "send"},
	}
	for _, tc := range tests {
		got := sayIn(NewDetector(), vendorAE, tc.lang, tc.text)
		if len(got) != 1 || !strings.Contains(got[0].What, tc.want) {
			t.Errorf("%s %q: got %+v, want one commitment whose action has %q", tc.lang, tc.text, got, tc.want)
		}
		if tc.lang == "en" && len(got) == 1 && strings.Contains(got[0].What, "um") {
			t.Errorf("%q: the hesitation stayed in the action %q", tc.text, got[0].What)
		}
	}
}

// A bare promise merged with the next promise of the same owner takes that one's action.
func TestBarePromiseTakesTheActionOfTheNext(t *testing.T) {
	got := sayIn(NewDetector(), vendorAE, "fr", "ok on s'en occupe et on vous fait un retour d'ici vendredi")
	if len(got) != 1 || got[0].Owner != "Northwind" || !strings.Contains(got[0].What, "retour") {
		t.Errorf("got %+v, want one commitment of Northwind to get back", got)
	}
}

// The other side is who was heard last from another organisation, however long the speaker's side
// has talked since.
func TestBeneficiaryOutlastsALongTurnOfOneSide(t *testing.T) {
	d := NewDetector()
	sayIn(d, buyerCTO, "en", "We need the pricing for three hundred seats.")
	for _, line := range []string{"Understood.", "Let me think about the tiers.", "There are two options.",
		"One is annual.", "The other is monthly.", "Both include support."} {
		sayIn(d, vendorAE, "en", line)
	}
	got := sayIn(d, vendorAE, "en", "I'll send you the pricing tomorrow.")
	if len(got) != 1 || got[0].Beneficiary != "Priya" || got[0].BeneficiaryOrg != "Castellan" || strings.Contains(got[0].What, "you") {
		t.Errorf("got %+v, want one commitment for Priya (Castellan) with no \"you\" in its action", got)
	}
}

// Said to someone by name, "you" is them, whoever spoke last.
func TestVocativeNamesTheBeneficiary(t *testing.T) {
	d := NewDetector()
	sayIn(d, buyerCTO, "en", "We need the invoice for the pilot.")
	got := sayIn(d, vendorAE, "en", "Laura, I will send you the invoice tomorrow.")
	if len(got) != 1 || got[0].Beneficiary != "Laura" || got[0].What != "send the invoice to Laura" {
		t.Errorf("got %+v, want the invoice for Laura", got)
	}
}

// A promise that says no action and answers nothing asked ("Will do.") is only possible.
func TestBarePromiseWithNothingAskedIsPossible(t *testing.T) {
	got := sayIn(NewDetector(), vendorAE, "en", "Will do.")
	if len(got) != 1 || got[0].Confidence >= 0.6 {
		t.Errorf("got %+v, want one possible commitment, for a person to say what it was", got)
	}
}
