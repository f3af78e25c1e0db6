package detect

import (
	"strings"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

// The people of a spoken call: a vendor (Northwind) and a buyer (Castellan), two on each side.
var (
	ravi  = Speaker{Name: "Ravi Menon", Org: "Northwind"}
	priya = Speaker{Name: "Priya Shah", Org: "Northwind"}
	laura = Speaker{Name: "Laura Chen", Org: "Castellan"}
	tom   = Speaker{Name: "Tom Baker", Org: "Castellan"}
)

// turn is one utterance of a spoken dialogue.
type turn struct {
	sp   Speaker
	text string
}

// dialogue feeds turns to a fresh Detector in one language and returns what the last one commits to.
func dialogue(lang string, turns ...turn) []Commitment {
	d := NewDetector()
	var got []Commitment
	for _, t := range turns {
		got = d.Detect(Utterance{Text: t.text, Speaker: t.sp, Language: lang, MeetingDate: thursday})
	}
	return got
}

// spokenCase is a spoken dialogue and the one commitment its last turn makes.
type spokenCase struct {
	lang  string
	turns []turn
	owner string
	due   string // YYYY-MM-DD, or "" for none
	ben   string
	what  []string // words the action phrase must hold
}

func checkOne(t *testing.T, tc spokenCase) {
	t.Helper()
	got := dialogue(tc.lang, tc.turns...)
	if len(got) != 1 {
		t.Fatalf("got %d commitments, want 1: %+v", len(got), got)
	}
	c := got[0]
	if c.Owner != tc.owner {
		t.Errorf("owner = %q, want %q", c.Owner, tc.owner)
	}
	due := ""
	if c.HasDue() {
		due = c.Due.Format(time.DateOnly)
	}
	if due != tc.due {
		t.Errorf("due = %q (%q), want %q", due, c.DuePhrase, tc.due)
	}
	if c.Beneficiary != tc.ben {
		t.Errorf("beneficiary = %q, want %q", c.Beneficiary, tc.ben)
	}
	if c.Beneficiary == "you" || c.Owner == "you" {
		t.Errorf("a person left as %q: %+v", "you", c)
	}
	for _, w := range tc.what {
		if !strings.Contains(strings.ToLower(c.What), strings.ToLower(w)) {
			t.Errorf("what = %q, want it to hold %q", c.What, w)
		}
	}
	if c.Confidence <= 0 || c.Confidence > 1 {
		t.Errorf("confidence %v out of range", c.Confidence)
	}
}

func runSpoken(t *testing.T, cases []spokenCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.lang+"/"+tc.turns[len(tc.turns)-1].text, func(t *testing.T) { checkOne(t, tc) })
	}
}

// Hesitations and stutters are dropped before the rules match: "and i'll uh i'll i'll own the onboarding".
func TestSpokenFillersAndRepetitions(t *testing.T) {
	ask := func(text string) turn { return turn{laura, text} }
	runSpoken(t, []spokenCase{
		{"en", []turn{ask("what about onboarding"), {ravi, "and i'll uh i'll i'll own the onboarding sessions for your admins"}}, "Ravi Menon", "", "Laura Chen", []string{"own the onboarding sessions", "Laura Chen's admins"}},
		{"es", []turn{ask("y la formación"), {ravi, "eh yo yo te mando el plan de formación mañana"}}, "Ravi Menon", "2025-03-07", "Laura Chen", []string{"plan de formación", "Laura Chen"}},
		{"de", []turn{ask("und die schulung"), {ravi, "ich äh ich ich schicke ihnen den schulungsplan morgen"}}, "Ravi Menon", "2025-03-07", "Laura Chen", []string{"schulungsplan"}},
		{"fr", []turn{ask("et la formation"), {ravi, "je euh je je vous envoie le plan de formation demain"}}, "Ravi Menon", "2025-03-07", "Laura Chen", []string{"plan de formation", "Laura Chen"}},
		{"pt", []turn{ask("e o treinamento"), {ravi, "eu hã eu eu te mando o plano de treinamento amanhã"}}, "Ravi Menon", "2025-03-07", "Laura Chen", []string{"plano de treinamento"}},
		{"it", []turn{ask("e la formazione"), {ravi, "io ehm io io ti mando il piano di formazione domani"}}, "Ravi Menon", "2025-03-07", "Laura Chen", []string{"piano di formazione"}},
		{"nl", []turn{ask("en de training"), {ravi, "ik eh ik ik stuur je het trainingsplan morgen"}}, "Ravi Menon", "2025-03-07", "Laura Chen", []string{"trainingsplan", "Laura Chen"}},
		{"ja", []turn{ask("研修はどうなりますか"), {ravi, "えーと研修計画は私が私が明日お送りします"}}, "Ravi Menon", "2025-03-07", "Laura Chen", []string{"研修計画"}},
		{"zh", []turn{ask("培训怎么安排"), {ravi, "嗯我我明天把培训计划发给你"}}, "Ravi Menon", "2025-03-07", "Laura Chen", []string{"培训计划", "Laura Chen"}},
	})
}

// A run-on sentence joining clauses makes one commitment whose action says each of them, with the
// date said at its end.
func TestSpokenRunOnClauses(t *testing.T) {
	ask := func(text string) turn { return turn{laura, text} }
	runSpoken(t, []spokenCase{
		{"en", []turn{ask("we need the pricing options"), {ravi, "okay so i'll put the pricing options in a doc and send them across before the weekend"}}, "Ravi Menon", "2025-03-07", "Laura Chen", []string{"pricing options", "send them"}},
		{"es", []turn{ask("necesitamos los precios"), {ravi, "vale pues preparo los precios en un documento y te los mando el viernes"}}, "Ravi Menon", "2025-03-07", "Laura Chen", []string{"preparo los precios", "mando"}},
		{"de", []turn{ask("wir brauchen die preise"), {ravi, "okay ich schreibe die preise in ein dokument und schicke es ihnen am freitag"}}, "Ravi Menon", "2025-03-07", "Laura Chen", []string{"schreibe die preise", "schicke"}},
		{"fr", []turn{ask("il nous faut les prix"), {ravi, "bon je mets les prix dans un document et je vous l'envoie vendredi"}}, "Ravi Menon", "2025-03-07", "Laura Chen", []string{"mets les prix", "envoie"}},
		{"pt", []turn{ask("a gente precisa dos preços"), {ravi, "tá eu coloco os preços num documento e te mando na sexta"}}, "Ravi Menon", "2025-03-07", "Laura Chen", []string{"coloco os preços", "mando"}},
		{"it", []turn{ask("ci servono i prezzi"), {ravi, "ok metto i prezzi in un documento e te li mando venerdì"}}, "Ravi Menon", "2025-03-07", "Laura Chen", []string{"metto i prezzi", "mando"}},
		{"nl", []turn{ask("we hebben de prijzen nodig"), {ravi, "oké ik zet de prijzen in een document en stuur het vrijdag naar je"}}, "Ravi Menon", "2025-03-07", "Laura Chen", []string{"zet de prijzen", "stuur"}},
		{"ja", []turn{ask("価格が必要です"), {ravi, "じゃあ価格を資料にまとめて金曜日までにお送りします"}}, "Ravi Menon", "2025-03-07", "Laura Chen", []string{"価格", "まとめ"}},
		{"zh", []turn{ask("我们需要价格"), {ravi, "好那我把价格整理成文档周五之前发给你"}}, "Ravi Menon", "2025-03-07", "Laura Chen", []string{"价格", "文档"}},
	})
}

// A hedge on the date ("probably Monday") leaves the promise standing, a little less sure than without.
func TestSpokenHedgedDate(t *testing.T) {
	for _, tc := range []struct{ lang, hedged, plain string }{
		{"en", "i'll probably have the revised sow ready monday", "i'll have the revised sow ready monday"},
		{"es", "seguramente te mando el sow revisado el lunes", "te mando el sow revisado el lunes"},
		{"de", "ich schicke ihnen die leistungsbeschreibung wahrscheinlich am montag", "ich schicke ihnen die leistungsbeschreibung am montag"},
		{"fr", "je vous envoie probablement le cahier des charges lundi", "je vous envoie le cahier des charges lundi"},
		{"pt", "provavelmente eu te mando o escopo na segunda", "eu te mando o escopo na segunda"},
		{"it", "probabilmente ti mando il capitolato lunedì", "ti mando il capitolato lunedì"},
		{"nl", "ik stuur je de offerte waarschijnlijk maandag", "ik stuur je de offerte maandag"},
		{"ja", "たぶん月曜日に修正版をお送りします", "月曜日に修正版をお送りします"},
		{"zh", "修订版我应该周一发给你", "修订版我周一发给你"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			hedged := dialogue(tc.lang, turn{laura, "ok"}, turn{ravi, tc.hedged})
			plain := dialogue(tc.lang, turn{laura, "ok"}, turn{ravi, tc.plain})
			if len(hedged) != 1 || len(plain) != 1 {
				t.Fatalf("hedged %+v, plain %+v: want one commitment each", hedged, plain)
			}
			if hedged[0].Due.Format(time.DateOnly) != "2025-03-10" {
				t.Errorf("due %v (%q), want Monday 2025-03-10", hedged[0].Due, hedged[0].DuePhrase)
			}
			if hedged[0].Confidence >= plain[0].Confidence {
				t.Errorf("hedged confidence %.2f, want below the plain promise's %.2f", hedged[0].Confidence, plain[0].Confidence)
			}
		})
	}
}

// A date corrected in the same breath ("tuesday no sorry wednesday") is the date said last.
func TestSpokenSelfCorrection(t *testing.T) {
	ask := func(text string) turn { return turn{laura, text} }
	runSpoken(t, []spokenCase{
		{"en", []turn{ask("when do we get the contract"), {ravi, "i'll send the contract over on tuesday no sorry wednesday"}}, "Ravi Menon", "2025-03-12", "Laura Chen", []string{"contract"}},
		{"es", []turn{ask("y el contrato"), {ravi, "te mando el contrato el martes no perdón el miércoles"}}, "Ravi Menon", "2025-03-12", "Laura Chen", []string{"contrato"}},
		{"de", []turn{ask("und der vertrag"), {ravi, "ich schicke ihnen den vertrag am dienstag nein sorry am mittwoch"}}, "Ravi Menon", "2025-03-12", "Laura Chen", []string{"vertrag"}},
		{"fr", []turn{ask("et le contrat"), {ravi, "je vous envoie le contrat mardi non pardon mercredi"}}, "Ravi Menon", "2025-03-12", "Laura Chen", []string{"contrat"}},
		{"pt", []turn{ask("e o contrato"), {ravi, "te mando o contrato na terça não desculpa na quarta"}}, "Ravi Menon", "2025-03-12", "Laura Chen", []string{"contrato"}},
		{"it", []turn{ask("e il contratto"), {ravi, "ti mando il contratto martedì no scusa mercoledì"}}, "Ravi Menon", "2025-03-12", "Laura Chen", []string{"contratto"}},
		{"nl", []turn{ask("en het contract"), {ravi, "ik stuur je het contract dinsdag nee sorry woensdag"}}, "Ravi Menon", "2025-03-12", "Laura Chen", []string{"contract"}},
		{"ja", []turn{ask("契約書はいつですか"), {ravi, "契約書は火曜日にいや失礼水曜日にお送りします"}}, "Ravi Menon", "2025-03-12", "Laura Chen", []string{"契約書"}},
		{"zh", []turn{ask("合同什么时候到"), {ravi, "合同我周二发给你不对周三"}}, "Ravi Menon", "2025-03-12", "Laura Chen", []string{"合同"}},
	})
	// The corrected date leaves the action phrase with the correction.
	if got := dialogue("en", turn{laura, "hi"}, turn{ravi, "i'll send the contract over on tuesday no sorry wednesday"}); len(got) == 1 &&
		(strings.Contains(got[0].What, "tuesday") || strings.Contains(got[0].What, "sorry")) {
		t.Errorf("what = %q, want it without the corrected date", got[0].What)
	}
}

// A request to anyone is taken by whoever accepts it; the action is the one asked for, said from the
// owner's side, for the one who asked.
func TestSpokenAcceptanceAcrossTurns(t *testing.T) {
	runSpoken(t, []spokenCase{
		{"en", []turn{{laura, "can somebody check whether the connector supports scim"}, {priya, "i'll look into it"}}, "Priya Shah", "", "Laura Chen", []string{"check whether the connector supports scim"}},
		{"en", []turn{{laura, "can somebody check whether the connector supports scim"}, {priya, "yes i can do that"}}, "Priya Shah", "", "Laura Chen", []string{"connector supports scim"}},
		{"en", []turn{{laura, "could someone update the security questionnaire"}, {ravi, "i've got it"}}, "Ravi Menon", "", "Laura Chen", []string{"security questionnaire"}},
		{"en", []turn{{laura, "can you send me the soc 2 report"}, {ravi, "sure thing"}}, "Ravi Menon", "", "Laura Chen", []string{"send the soc 2 report to Laura Chen"}},
		{"es", []turn{{laura, "alguien puede comprobar si el conector soporta scim"}, {priya, "sí eso lo miro yo"}}, "Priya Shah", "", "Laura Chen", []string{"conector soporta scim"}},
		{"de", []turn{{laura, "kann jemand prüfen ob der connector scim unterstützt"}, {priya, "ja mache ich"}}, "Priya Shah", "", "Laura Chen", []string{"connector scim"}},
		{"fr", []turn{{laura, "quelqu'un peut vérifier si le connecteur supporte scim"}, {priya, "oui je m'en occupe"}}, "Priya Shah", "", "Laura Chen", []string{"connecteur supporte scim"}},
		{"pt", []turn{{laura, "alguém pode verificar se o conector suporta scim"}, {priya, "deixa comigo"}}, "Priya Shah", "", "Laura Chen", []string{"conector suporta scim"}},
		{"it", []turn{{laura, "qualcuno può verificare se il connettore supporta scim"}, {priya, "ci penso io"}}, "Priya Shah", "", "Laura Chen", []string{"connettore supporta scim"}},
		{"nl", []turn{{laura, "kan iemand checken of de connector scim ondersteunt"}, {priya, "ja doe ik"}}, "Priya Shah", "", "Laura Chen", []string{"connector scim"}},
		{"ja", []turn{{laura, "どなたかコネクタがSCIMに対応しているか確認してもらえますか"}, {priya, "はい承知しました"}}, "Priya Shah", "", "Laura Chen", []string{"scim"}},
		{"zh", []turn{{laura, "有人能查一下连接器支不支持SCIM吗"}, {priya, "好的没问题"}}, "Priya Shah", "", "Laura Chen", []string{"scim"}},
	})
}

// A task given to someone by name or role is theirs: the addressee of "Priya, can you take the
// pricing?" who says "Sure", "as the industrial designer, you're going to…", "Tom will draft…".
func TestSpokenAssignments(t *testing.T) {
	runSpoken(t, []spokenCase{
		{"en", []turn{{laura, "we need pricing for the second region"}, {ravi, "priya can you take the pricing"}, {priya, "sure"}}, "Priya Shah", "", "Ravi Menon", []string{"take the pricing"}},
		{"en", []turn{{tom, "hello"}, {ravi, "who drafts the statement of work"}, {laura, "tom will draft the statement of work by next friday"}}, "Tom Baker", "2025-03-14", "Ravi Menon", []string{"draft the statement of work"}},
		{"es", []turn{{tom, "hola"}, {ravi, "quién prepara el contrato"}, {laura, "tom va a redactar el contrato para el viernes"}}, "Tom Baker", "2025-03-07", "Ravi Menon", []string{"redactar el contrato"}},
		{"de", []turn{{tom, "hallo"}, {ravi, "wer schreibt den vertrag"}, {laura, "tom wird den vertrag bis freitag entwerfen"}}, "Tom Baker", "2025-03-07", "Ravi Menon", []string{"vertrag"}},
		{"fr", []turn{{tom, "bonjour"}, {ravi, "qui rédige le contrat"}, {laura, "tom va rédiger le contrat d'ici vendredi"}}, "Tom Baker", "2025-03-07", "Ravi Menon", []string{"rédiger le contrat"}},
		{"pt", []turn{{tom, "oi"}, {ravi, "quem prepara o contrato"}, {laura, "o tom vai redigir o contrato até sexta"}}, "Tom Baker", "2025-03-07", "Ravi Menon", []string{"redigir o contrato"}},
		{"it", []turn{{tom, "ciao"}, {ravi, "chi prepara il contratto"}, {laura, "tom preparerà il contratto entro venerdì"}}, "Tom Baker", "2025-03-07", "Ravi Menon", []string{"contratto"}},
		{"nl", []turn{{tom, "hallo"}, {ravi, "wie stelt het contract op"}, {laura, "tom gaat het contract voor vrijdag opstellen"}}, "Tom Baker", "2025-03-07", "Ravi Menon", []string{"contract"}},
		{"ja", []turn{{Speaker{Name: "高橋翔", Org: "Castellan"}, "こんにちは"}, {ravi, "誰が契約書を書きますか"}, {laura, "契約書は高橋が金曜日までに作成します"}}, "高橋翔", "2025-03-07", "Ravi Menon", []string{"契約書"}},
		{"zh", []turn{{Speaker{Name: "刘洋", Org: "Castellan"}, "大家好"}, {ravi, "谁来写合同"}, {laura, "合同刘洋会在周五之前起草"}}, "刘洋", "2025-03-07", "Ravi Menon", []string{"起草"}},
	})
	// A role named before "you" owns the task; given, not yet taken, it is only possible.
	got := dialogue("en", turn{Speaker{Name: "ID"}, "okay"}, turn{Speaker{Name: "PM"}, "um so as the industrial designer, you're gonna be working on the working design"})
	if len(got) != 1 || got[0].Owner != "industrial designer" || got[0].Confidence >= ledger.PossibleBelow {
		t.Errorf("role assignment: %+v, want the industrial designer, possible", got)
	}
	// "I'd like the X to…", "and the X to…": tasks given by role in a list of assignments; "I need tom to…".
	for text, owner := range map[string]string{
		"um and i'd like the industrial designer to think about the basic functions": "industrial designer",
		"and the user interface designer to work on the user interface concept":      "user interface designer",
		"i need tom to send the signed order form by friday":                         "Tom Baker",
	} {
		got = dialogue("en", turn{tom, "hi"}, turn{ravi, text})
		if len(got) != 1 || got[0].Owner != owner {
			t.Errorf("%q: %+v, want %s's task", text, got, owner)
		}
	}
	// A task given with nobody heard yet has no owner to name, and is for a person to assign.
	got = dialogue("en", turn{Speaker{Name: "PM"}, "you're going to think about the working design"})
	if len(got) != 1 || got[0].Owner != "" || got[0].Confidence >= 0.5 {
		t.Errorf("unnamed task: %+v, want no owner and a low confidence", got)
	}
	// "I'd like you to" gives a task; it is no hedge. The one spoken to is the last other speaker.
	got = dialogue("en", turn{Speaker{Name: "ID"}, "okay"}, turn{Speaker{Name: "PM"}, "I'd like you to work on just the basic look and feel"})
	if len(got) != 1 || got[0].Owner != "ID" || got[0].Beneficiary != "PM" {
		t.Errorf("I'd like you to: %+v, want ID's task for PM", got)
	}
	// Nobody named: the one spoken to is the last other speaker.
	got = dialogue("en", turn{laura, "what do you need from us"}, turn{ravi, "you'll need to send us the logo files by friday"})
	if len(got) != 1 || got[0].Owner != "Laura Chen" || got[0].Beneficiary != "Ravi Menon" {
		t.Errorf("task for the other side: %+v, want Laura Chen's, for Ravi Menon", got)
	}
	// "you'll have it tomorrow" answering a request is the speaker's promise, not a task for the asker.
	got = dialogue("en", turn{laura, "can you send me the deck"}, turn{ravi, "absolutely you'll have it tomorrow"})
	if len(got) != 1 || got[0].Owner != "Ravi Menon" {
		t.Errorf("you'll have it: %+v, want Ravi Menon's promise", got)
	}
}

// Owners may be on the buyer's side; "we" is the organisation, with the person who spoke as contact.
func TestSpokenIdentities(t *testing.T) {
	runSpoken(t, []spokenCase{
		{"en", []turn{{ravi, "it would help to have finance on the next call"}, {laura, "yeah i'll get our cfo on the next call"}}, "Laura Chen", "", "Ravi Menon", []string{"cfo"}},
		{"de", []turn{{ravi, "finanzen wäre gut"}, {laura, "ich bringe unseren finanzchef zum nächsten termin mit"}}, "Laura Chen", "", "Ravi Menon", []string{"finanzchef"}},
	})
	got := dialogue("en", turn{laura, "what do we need for the deployment"}, turn{ravi, "we will share the deployment checklist"})
	want := Commitment{Owner: "Northwind", OwnerOrg: "Northwind", Contact: "Ravi Menon", Beneficiary: "Laura Chen", BeneficiaryOrg: "Castellan"}
	if len(got) != 1 || got[0].Owner != want.Owner || got[0].OwnerOrg != want.OwnerOrg || got[0].Contact != want.Contact ||
		got[0].Beneficiary != want.Beneficiary || got[0].BeneficiaryOrg != want.BeneficiaryOrg {
		t.Errorf("we: %+v, want %+v", got, want)
	}
	got = dialogue("en", turn{laura, "Can you send me the SOC 2 report?"}, turn{ravi, "Sure, I'll do that."})
	if len(got) != 1 || got[0].What != "send the SOC 2 report to Laura Chen" {
		t.Errorf("restated action: %+v, want %q", got, "send the SOC 2 report to Laura Chen")
	}
	// Nobody to name: the beneficiary stays empty rather than "you".
	got = NewDetector().Detect(Utterance{Text: "I'll send you the deck tomorrow.", Speaker: ravi, Language: "en", MeetingDate: thursday})
	if len(got) != 1 || got[0].Beneficiary != "" || got[0].BeneficiaryOrg != "" {
		t.Errorf("no one heard: %+v, want no beneficiary", got)
	}
}

// Questions, past actions, conditionals, negations, refusals and hedged promises stay out, in every language.
func TestSpokenNegatives(t *testing.T) {
	for _, tc := range []struct {
		lang string
		ask  string // said before by the buyer, or ""
		text string
	}{
		{"en", "", "um will you will you be sending the the invoice this week"},
		{"en", "", "yeah i i already sent the pricing deck uh last tuesday"},
		{"en", "", "if legal signs off we'll we'll start the pilot in april"},
		{"en", "can you send me the source code", "uh no i can't do that sorry"},
		{"en", "", "we're not gonna have the the integration ready by friday"},
		{"es", "", "ya te mandé las tarifas el martes pasado"},
		{"es", "nos podéis mandar el código fuente", "eh no eso no lo podemos compartir"},
		{"de", "", "wenn die rechtsabteilung zustimmt starten wir den pilot im april"},
		{"de", "", "wir werden die integration nicht bis freitag fertig haben"},
		{"fr", "", "je vous ai déjà envoyé les tarifs mardi dernier"},
		{"fr", "", "on pourrait peut être euh regarder une remise"},
		{"pt", "", "se o jurídico aprovar a gente começa o piloto em abril"},
		{"pt", "", "a gente não vai ter a integração pronta até sexta"},
		{"it", "", "ti ho già mandato i prezzi martedì scorso"},
		{"it", "", "se l'ufficio legale approva iniziamo il pilota ad aprile"},
		{"it", "ci potete mandare il codice sorgente", "no quello non possiamo condividerlo mi dispiace"},
		{"it", "", "non avremo l'integrazione pronta per venerdì"},
		{"nl", "", "ik heb je de prijzen vorige dinsdag al gestuurd"},
		{"nl", "", "als juridische zaken akkoord gaat starten we de pilot in april"},
		{"nl", "kunnen jullie ons de broncode sturen", "nee dat kunnen we helaas niet delen"},
		{"nl", "", "eh gaan jullie gaan jullie de factuur deze week sturen"},
		{"ja", "", "えーと請求書は今週送っていただけますか"},
		{"ja", "", "料金表は先週の火曜日にもう送りました"},
		{"ja", "", "法務が承認したら四月にパイロットを始めます"},
		{"ja", "ソースコードを送ってもらえますか", "いえそれは申し訳ないですがお渡しできません"},
		{"ja", "", "いつか割引を検討できるかもしれません"},
		{"zh", "", "呃你们这周会发发票吗"},
		{"zh", "", "价格表我上周二已经发给你了"},
		{"zh", "", "如果法务批准了我们四月开始试点"},
		{"zh", "你们能把源代码发给我们吗", "不行这个我们没办法提供不好意思"},
		{"zh", "", "周五之前我们没法把集成做好"},
	} {
		t.Run(tc.lang+"/"+tc.text, func(t *testing.T) {
			turns := []turn{{laura, "ok"}}
			if tc.ask != "" {
				turns = []turn{{laura, tc.ask}}
			}
			if got := dialogue(tc.lang, append(turns, turn{ravi, tc.text})...); len(got) != 0 {
				t.Errorf("found %+v", got)
			}
		})
	}
}

// A recap restating an earlier promise merges into its Book entry, adding the quote.
func TestSpokenRecapMerges(t *testing.T) {
	d, b := NewDetector(), NewBook()
	say := func(sp Speaker, id, text string) []ledger.CommitmentInfo {
		var out []ledger.CommitmentInfo
		for _, c := range d.Detect(Utterance{Text: text, Speaker: sp, Language: "en", MeetingDate: thursday}) {
			info, _ := b.Add(c, ledger.SegmentInfo{ID: id, Text: text})
			out = append(out, info)
		}
		return out
	}
	say(laura, "s1", "can you send me the soc 2 report")
	first := say(ravi, "s2", "sure i'll do that by friday")
	say(laura, "s3", "great thanks")
	recap := say(ravi, "s4", "so to recap i'll send the soc 2 report to laura by friday")
	if len(first) != 1 || len(recap) != 1 || recap[0].ID != first[0].ID || len(b.Commitments()) != 1 {
		t.Fatalf("first %+v, recap %+v, book %+v: want the recap merged", first, recap, b.Commitments())
	}
	if !strings.Contains(recap[0].Quote, "so to recap") || len(recap[0].SegmentIDs) != 2 {
		t.Errorf("recap evidence %q %v", recap[0].Quote, recap[0].SegmentIDs)
	}
	if recap[0].Beneficiary != "Laura Chen" || recap[0].BeneficiaryOrg != "Castellan" {
		t.Errorf("book entry %+v, want Laura Chen of Castellan as beneficiary", recap[0])
	}
}

func TestLanguagesAndSupports(t *testing.T) {
	langs := Languages()
	if len(langs) != 9 {
		t.Fatalf("Languages() = %v, want nine", langs)
	}
	for _, l := range langs {
		if !Supports(l) || !Supports(strings.ToUpper(l)+"-XX") {
			t.Errorf("Supports(%q) = false", l)
		}
	}
	for _, l := range []string{"ko", "", "xx"} {
		if Supports(l) {
			t.Errorf("Supports(%q) = true", l)
		}
	}
	for text, want := range map[string]string{
		"契約書は明日お送りします":                                     "ja",
		"合同我明天发给你":                                         "zh",
		"ti mando il contratto domani e poi ci sentiamo":   "it",
		"ik stuur je het contract morgen en dan bellen we": "nl",
		"I'll send you the contract tomorrow":              "en",
	} {
		if got := DetectLanguage(text); got != want {
			t.Errorf("DetectLanguage(%q) = %q, want %q", text, got, want)
		}
	}
}

// "Have it ready" with a date is a promise in every language; without a date it is only a state where
// "have" is a state verb.
func TestSpokenReadyByDate(t *testing.T) {
	for _, tc := range []struct{ lang, dated, undated string }{
		{"en", "i'll likely have the report ready by friday", "i'll have the report ready"},
		{"es", "tendré el informe listo el viernes", "tendré el informe listo"},
		{"de", "ich habe den bericht wahrscheinlich freitag fertig", "ich habe den bericht fertig"},
		{"fr", "j'aurai probablement le rapport prêt vendredi", "j'aurai le rapport prêt"},
		{"pt", "provavelmente eu vou ter o relatório pronto na sexta", "eu vou ter o relatório pronto"},
		{"it", "avrò il report pronto venerdì", ""}, // a future "avrò" is a promise with or without a date
		{"nl", "ik heb het rapport waarschijnlijk vrijdag klaar", "ik heb het rapport klaar"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			got := dialogue(tc.lang, turn{laura, "ok"}, turn{ravi, tc.dated})
			if len(got) != 1 || got[0].Due.Format(time.DateOnly) != "2025-03-07" {
				t.Errorf("%q: %+v, want one commitment due Friday", tc.dated, got)
			}
			if len(got) == 1 && strings.Contains(strings.ToLower(got[0].What), "prob") {
				t.Errorf("what %q keeps the hedge", got[0].What)
			}
			if got := dialogue(tc.lang, turn{laura, "ok"}, turn{ravi, tc.undated}); tc.undated != "" && len(got) != 0 {
				t.Errorf("%q: %+v, want none", tc.undated, got)
			}
		})
	}
}

// "I'll look into it" and its kin take up the request they answer.
func TestSpokenLookIntoIt(t *testing.T) {
	runSpoken(t, []spokenCase{
		{"en", []turn{{laura, "could somebody find out whether the api has rate limits"}, {priya, "i'll look into that"}}, "Priya Shah", "", "Laura Chen", []string{"api has rate limits"}},
		{"de", []turn{{laura, "kann jemand die limits der api prüfen"}, {priya, "ich kümmere mich darum"}}, "Priya Shah", "", "Laura Chen", []string{"limits der api"}},
		{"nl", []turn{{laura, "kan iemand de limieten van de api checken"}, {priya, "ik kijk ernaar"}}, "Priya Shah", "", "Laura Chen", []string{"limieten van de api"}},
		{"pt", []turn{{laura, "alguém pode verificar os limites da api"}, {priya, "eu vejo isso"}}, "Priya Shah", "", "Laura Chen", []string{"limites da api"}},
		{"zh", []turn{{laura, "有人能查一下API的限制吗"}, {priya, "这个我来看一下"}}, "Priya Shah", "", "Laura Chen", []string{"限制"}},
		{"ja", []turn{{laura, "どなたかAPIの制限を確認してもらえますか"}, {priya, "確認しておきます"}}, "Priya Shah", "", "Laura Chen", []string{"制限"}},
	})
}

// "We" is the speaker's organisation, with the speaker as its contact and the other side as beneficiary.
func TestSpokenWeIsTheOrganisation(t *testing.T) {
	for _, tc := range []struct{ lang, ask, we string }{
		{"en", "what do we need for the deployment", "right so we will share the deployment checklist tomorrow"},
		{"es", "qué necesitamos para el despliegue", "nosotros compartimos la lista de despliegue mañana"},
		{"de", "was brauchen wir für das deployment", "wir teilen die checkliste morgen mit ihnen"},
		{"fr", "qu'est ce qu'il faut pour le déploiement", "nous partagerons la checklist de déploiement demain"},
		{"pt", "o que a gente precisa para a implantação", "a gente vai compartilhar o checklist de implantação amanhã"},
		{"it", "cosa serve per il deployment", "condivideremo la checklist di deployment domani"},
		{"nl", "wat hebben we nodig voor de deployment", "we zullen de checklist morgen delen"},
		{"ja", "導入には何が必要ですか", "弊社から導入チェックリストを明日共有します"},
		{"zh", "部署需要准备什么", "我们明天会把部署清单共享给你们"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			got := dialogue(tc.lang, turn{laura, tc.ask}, turn{ravi, tc.we})
			if len(got) != 1 {
				t.Fatalf("got %+v, want one commitment", got)
			}
			c := got[0]
			if c.Owner != "Northwind" || c.OwnerOrg != "Northwind" || c.Contact != "Ravi Menon" ||
				c.Beneficiary != "Laura Chen" || c.BeneficiaryOrg != "Castellan" || c.Due.Format(time.DateOnly) != "2025-03-07" {
				t.Errorf("got %+v, want Northwind (Ravi Menon) for Laura Chen of Castellan, due 2025-03-07", c)
			}
		})
	}
}

// A recap said later in the same language merges into the promise it restates.
func TestSpokenRecapMergesInEveryLanguage(t *testing.T) {
	for _, tc := range []struct{ lang, ask, promise, recap string }{
		{"es", "me puedes mandar el informe soc 2", "claro te mando el informe soc 2 el viernes", "entonces resumiendo te mando el informe soc 2 el viernes"},
		{"de", "können sie mir den soc 2 bericht schicken", "ja ich schicke ihnen den soc 2 bericht am freitag", "also zusammengefasst ich schicke ihnen den soc 2 bericht am freitag"},
		{"fr", "vous pouvez m'envoyer le rapport soc 2", "oui je vous envoie le rapport soc 2 vendredi", "donc pour résumer je vous envoie le rapport soc 2 vendredi"},
		{"pt", "você pode me mandar o relatório soc 2", "claro eu te mando o relatório soc 2 na sexta", "então resumindo eu te mando o relatório soc 2 na sexta"},
		{"it", "mi puoi mandare il report soc 2", "certo ti mando il report soc 2 venerdì", "quindi riassumendo ti mando il report soc 2 venerdì"},
		{"nl", "kun je me het soc 2 rapport sturen", "ja ik stuur je het soc 2 rapport vrijdag", "dus samengevat ik stuur je het soc 2 rapport vrijdag"},
		{"ja", "SOC2レポートを送ってもらえますか", "はいSOC2レポートを金曜日にお送りします", "まとめるとSOC2レポートを金曜日にお送りします"},
		{"zh", "你能把SOC2报告发给我吗", "好的我周五把SOC2报告发给你", "总结一下我周五把SOC2报告发给你"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			d, b := NewDetector(), NewBook()
			var ids []string
			for i, tn := range []turn{{laura, tc.ask}, {ravi, tc.promise}, {laura, "ok"}, {ravi, tc.recap}} {
				for _, c := range d.Detect(Utterance{Text: tn.text, Speaker: tn.sp, Language: tc.lang, MeetingDate: thursday}) {
					info, _ := b.Add(c, ledger.SegmentInfo{ID: "s" + string(rune('1'+i)), Text: tn.text})
					ids = append(ids, info.ID)
				}
			}
			if len(ids) != 2 || ids[0] != ids[1] || len(b.Commitments()) != 1 || len(b.Commitments()[0].SegmentIDs) != 2 {
				t.Errorf("ids %v, book %+v: want the recap merged into the promise", ids, b.Commitments())
			}
		})
	}
}

// A first promise that only points back ("je le fais") is named by the request it accepts, and the
// promises said after it follow; an object said first and taken up by a pronoun ("la doc sécurité je
// vous l'envoie") is the object of the action.
func TestSpokenPromisesAfterOneThatPointsBack(t *testing.T) {
	runSpoken(t, []spokenCase{
		{"fr", []turn{{laura, "pouvez-vous faire une estimation du coût de migration ?"}, {ravi, "oui je le fais et je vous envoie l'estimation vendredi"}},
			"Ravi Menon", "2025-03-07", "Laura Chen", []string{"estimation du coût de migration et envoie l'estimation"}},
		{"fr", []turn{{laura, "on attend le dossier de sécurité"}, {ravi, "alors la doc sécurité je vous l'envoie demain et je vous cale un créneau avec notre expert"}},
			"Ravi Menon", "2025-03-07", "Laura Chen", []string{"envoie la doc sécurité et cale un créneau avec notre expert"}},
		{"es", []turn{{laura, "nos puedes hacer un resumen de hoy"}, {ravi, "eh yo yo escribo el resumen y te lo mando esta noche"}},
			"Ravi Menon", "2025-03-06", "Laura Chen", []string{"escribo el resumen y mando"}},
	})
}
