package detect

import (
	"testing"
	"time"
)

func mustDate(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatalf("bad test date %q: %v", s, err)
	}
	return d
}

func TestResolveDue(t *testing.T) {
	thu := "2025-03-06" // a Thursday
	fri := "2025-09-12" // a Friday
	sat := "2025-03-08" // a Saturday
	tests := []struct {
		lang, meeting, text, want, phrase string
	}{
		// English, meeting on Thursday 2025-03-06.
		{"en", thu, "I'll send it by Thursday", "2025-03-13", "by Thursday"},
		{"en", thu, "I'll send it on Friday", "2025-03-07", "on Friday"},
		{"en", thu, "I'll send it next Tuesday", "2025-03-11", "next Tuesday"},
		{"en", thu, "I'll send it next Friday", "2025-03-14", "next Friday"},
		{"en", thu, "I'll send it this Friday", "2025-03-07", "this Friday"},
		{"en", thu, "I'll send it this Wednesday", "2025-03-12", "this Wednesday"},
		{"en", thu, "we'll have it by end of week", "2025-03-07", "by end of week"},
		{"en", thu, "we'll have it by the end of next week", "2025-03-14", "by the end of next week"},
		{"en", thu, "we'll have it next week", "2025-03-14", "next week"},
		{"en", thu, "we'll have it early next week", "2025-03-10", "early next week"},
		{"en", thu, "by EOD", "2025-03-06", "by EOD"},
		{"en", thu, "by end of day", "2025-03-06", "by end of day"},
		{"en", thu, "tomorrow EOD", "2025-03-07", "tomorrow EOD"},
		{"en", thu, "the day after tomorrow", "2025-03-08", "the day after tomorrow"},
		{"en", thu, "by the end of the month", "2025-03-31", "by the end of the month"},
		{"en", thu, "next month", "2025-04-30", "next month"},
		{"en", thu, "by end of quarter", "2025-03-31", "by end of quarter"},
		{"en", thu, "in two weeks", "2025-03-20", "in two weeks"},
		{"en", thu, "within 3 days", "2025-03-09", "within 3 days"},
		{"en", thu, "in a couple of days", "2025-03-08", "in a couple of days"},
		{"en", thu, "by March 20th", "2025-03-20", "by March 20th"},
		{"en", thu, "on the 3rd of April", "2025-04-03", "on the 3rd of April"},
		{"en", thu, "by March 3rd", "2026-03-03", "by March 3rd"}, // already past: next year
		{"en", thu, "by 3/24", "2025-03-24", "by 3/24"},           // month first in English
		{"en", thu, "by 24/3", "2025-03-24", "by 24/3"},           // unless the first part cannot be a month
		{"en", thu, "by the 31st", "2025-03-31", "by the 31st"},
		{"en", thu, "by the 2nd", "2025-04-02", "by the 2nd"},
		// Weekend: end of week is the next Friday.
		{"en", sat, "by the end of the week", "2025-03-14", "by the end of the week"},
		// Spanish, meeting on Tuesday 2025-04-08.
		{"es", "2025-04-08", "te lo envío mañana", "2025-04-09", "mañana"},
		{"es", "2025-04-08", "pasado mañana", "2025-04-10", "pasado mañana"},
		{"es", "2025-04-08", "para el martes", "2025-04-15", "para el martes"},
		{"es", "2025-04-08", "el 3 de marzo", "2026-03-03", "el 3 de marzo"},
		{"es", "2025-04-08", "antes del 15/04", "2025-04-15", "antes del 15/04"},
		{"es", "2025-04-08", "a finales de semana", "2025-04-11", "a finales de semana"},
		{"es", "2025-04-08", "la semana que viene", "2025-04-18", "la semana que viene"},
		{"es", "2025-04-08", "antes de fin de mes", "2025-04-30", "antes de fin de mes"},
		{"es", "2025-04-08", "en dos semanas", "2025-04-22", "en dos semanas"},
		{"es", "2025-04-08", "hoy mismo", "2025-04-08", "hoy mismo"},
		// German, meeting on Wednesday 2025-05-14.
		{"de", "2025-05-14", "bis Freitag", "2025-05-16", "bis Freitag"},
		{"de", "2025-05-14", "bis zum 3. März", "2026-03-03", "bis zum 3. März"},
		{"de", "2025-05-14", "bis zum 20.05.", "2025-05-20", "bis zum 20.05"},
		{"de", "2025-05-14", "morgen früh", "2025-05-15", "morgen früh"},
		{"de", "2025-05-14", "übermorgen", "2025-05-16", "übermorgen"},
		{"de", "2025-05-14", "bis Ende der Woche", "2025-05-16", "bis Ende der Woche"},
		{"de", "2025-05-14", "nächste Woche", "2025-05-23", "nächste Woche"},
		{"de", "2025-05-14", "bis Monatsende", "2025-05-31", "bis Monatsende"},
		{"de", "2025-05-14", "in zwei Wochen", "2025-05-28", "in zwei Wochen"},
		{"de", "2025-05-14", "am nächsten Montag", "2025-05-19", "am nächsten Montag"},
		// French, meeting on Monday 2025-06-02.
		{"fr", "2025-06-02", "d'ici vendredi", "2025-06-06", "d'ici vendredi"},
		{"fr", "2025-06-02", "le 3 mars", "2026-03-03", "le 3 mars"},
		{"fr", "2025-06-02", "avant le 15/06", "2025-06-15", "avant le 15/06"},
		{"fr", "2025-06-02", "après-demain", "2025-06-04", "après-demain"},
		{"fr", "2025-06-02", "demain matin", "2025-06-03", "demain matin"},
		{"fr", "2025-06-02", "la semaine prochaine", "2025-06-13", "la semaine prochaine"},
		{"fr", "2025-06-02", "à la fin du mois", "2025-06-30", "à la fin du mois"},
		{"fr", "2025-06-02", "dans quinze jours", "2025-06-16", "dans quinze jours"},
		{"fr", "2025-06-02", "lundi", "2025-06-09", "lundi"}, // Monday said on a Monday: a week later
		// Portuguese, meeting on Friday 2025-09-12.
		{"pt", fri, "até sexta", "2025-09-19", "até sexta"},
		{"pt", fri, "até sexta-feira", "2025-09-19", "até sexta-feira"},
		{"pt", fri, "até o fim da semana", "2025-09-12", "até o fim da semana"}, // Friday: the meeting date
		{"pt", fri, "3 de março", "2026-03-03", "3 de março"},
		{"pt", fri, "até 30/09", "2025-09-30", "até 30/09"},
		{"pt", fri, "depois de amanhã", "2025-09-14", "depois de amanhã"},
		{"pt", fri, "na semana que vem", "2025-09-19", "na semana que vem"},
		{"pt", fri, "daqui a duas semanas", "2025-09-26", "daqui a duas semanas"},
		{"pt", fri, "no dia 20", "2025-09-20", "no dia 20"},
	}
	for _, tc := range tests {
		t.Run(tc.lang+"/"+tc.text, func(t *testing.T) {
			got, phrase, ok := ResolveDue(tc.text, tc.lang, mustDate(t, tc.meeting))
			if !ok {
				t.Fatalf("no due date found")
			}
			if g := got.Format(time.DateOnly); g != tc.want {
				t.Errorf("due = %s, want %s", g, tc.want)
			}
			if phrase != tc.phrase {
				t.Errorf("phrase = %q, want %q", phrase, tc.phrase)
			}
		})
	}
}

func TestResolveDueNone(t *testing.T) {
	for _, tc := range []struct{ lang, text string }{
		{"en", "I'll send the next steps"},
		{"es", "te lo mando por la mañana"}, // "in the morning", not "tomorrow"
		{"es", "esta mañana hablamos con ellos"},
		{"de", "heute Morgen"}, // not tomorrow
		{"fr", "je vous envoie le document"},
		{"pt", "de manhã"},
	} {
		got, phrase, ok := ResolveDue(tc.text, tc.lang, mustDate(t, "2025-03-06"))
		if tc.text == "heute Morgen" {
			if !ok || got.Format(time.DateOnly) != "2025-03-06" {
				t.Errorf("%q: got %v %q %v, want the meeting date", tc.text, got, phrase, ok)
			}
			continue
		}
		if ok {
			t.Errorf("%s %q: found %s (%q), want none", tc.lang, tc.text, got.Format(time.DateOnly), phrase)
		}
	}
}

func TestResolveDueKeepsLocation(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no timezone database")
	}
	m := time.Date(2025, 5, 14, 23, 30, 0, 0, loc)
	got, _, ok := ResolveDue("morgen", "de", m)
	if !ok || got.Location() != loc || got.Hour() != 0 || got.Day() != 15 {
		t.Fatalf("got %v, want midnight of 2025-05-15 in Berlin", got)
	}
}

// The due-date words of Italian, Dutch, Japanese and Chinese, said on Thursday 2025-03-06.
func TestResolveDueNewLanguages(t *testing.T) {
	thu := mustDate(t, "2025-03-06")
	for _, tc := range []struct{ lang, text, want, phrase string }{
		{"it", "te lo mando domani", "2025-03-07", "domani"},
		{"it", "te lo mando dopodomani", "2025-03-08", "dopodomani"},
		{"it", "te lo mando entro venerdì", "2025-03-07", "entro venerdì"},
		{"it", "te lo mando lunedì prossimo", "2025-03-10", "lunedì prossimo"},
		{"it", "te lo mando la prossima settimana", "2025-03-14", "la prossima settimana"},
		{"it", "te lo mando entro fine mese", "2025-03-31", "entro fine mese"},
		{"it", "te lo mando il 20 marzo", "2025-03-20", "il 20 marzo"},
		{"it", "te lo mando tra due settimane", "2025-03-20", "tra due settimane"},
		{"nl", "ik stuur het morgen", "2025-03-07", "morgen"},
		{"nl", "ik stuur het overmorgen", "2025-03-08", "overmorgen"},
		{"nl", "ik stuur het voor vrijdag", "2025-03-07", "voor vrijdag"},
		{"nl", "ik stuur het volgende week", "2025-03-14", "volgende week"},
		{"nl", "ik stuur het voor het weekend", "2025-03-07", "voor het weekend"},
		{"nl", "ik stuur het eind van de maand", "2025-03-31", "eind van de maand"},
		{"nl", "ik stuur het op 20 maart", "2025-03-20", "op 20 maart"},
		{"nl", "ik stuur het binnen drie dagen", "2025-03-09", "binnen drie dagen"},
		{"ja", "明日送ります", "2025-03-07", "明日"},
		{"ja", "明後日送ります", "2025-03-08", "明後日"},
		{"ja", "金曜日までに送ります", "2025-03-07", "金曜日までに"},
		{"ja", "来週の月曜日に送ります", "2025-03-10", "来週の月曜日に"},
		{"ja", "来週中に送ります", "2025-03-14", "来週中に"},
		{"ja", "月末までに送ります", "2025-03-31", "月末までに"},
		{"ja", "3月20日に送ります", "2025-03-20", "3月20日に"},
		{"zh", "我明天发给你", "2025-03-07", "明天"},
		{"zh", "我后天发给你", "2025-03-08", "后天"},
		{"zh", "我周五之前发给你", "2025-03-07", "周五之前"},
		{"zh", "我下周一发给你", "2025-03-10", "下周一"},
		{"zh", "我下周发给你", "2025-03-14", "下周"},
		{"zh", "我月底发给你", "2025-03-31", "月底"},
		{"zh", "我三月二十号发给你", "2025-03-20", "三月二十号"},
		{"zh", "我今天下班前发给你", "2025-03-06", "今天下班前"},
	} {
		due, phrase, ok := ResolveDue(tc.text, tc.lang, thu)
		if !ok || due.Format(time.DateOnly) != tc.want || phrase != tc.phrase {
			t.Errorf("%s %q: %v %q %v, want %s %q", tc.lang, tc.text, due.Format(time.DateOnly), phrase, ok, tc.want, tc.phrase)
		}
	}
}
