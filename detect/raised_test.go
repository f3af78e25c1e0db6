package detect

import "testing"

func TestQuestionsAndObjections(t *testing.T) {
	for _, tc := range []struct {
		lang, s string
		want    bool
	}{
		{"en", "What is the timeline?", true}, {"en", "Can you share the deck", true}, {"en", "We can share the deck.", false},
		{"es", "¿Cuándo empezamos", true}, {"es", "Cuándo empezamos", true}, {"de", "Wann fangen wir an", true},
		{"de", "Wir fangen morgen an.", false}, {"fr", "Qu'est-ce que vous proposez", true}, {"fr", "Est-ce possible", true},
		{"pt", "Quando começamos", true}, {"pt", "O que vocês acham", true}, {"pt", "Começamos amanhã.", false},
		{"it", "quando iniziamo", true}, {"it", "iniziamo domani.", false}, {"nl", "wanneer beginnen we", true},
		{"nl", "we beginnen morgen.", false}, {"ja", "契約書はいつ届きますか", true}, {"ja", "契約書は明日お送りします", false},
		{"zh", "合同什么时候能到", true}, {"zh", "合同我明天发给你", false}, {"zh", "合同什么时候到？", true},
	} {
		if got := IsQuestion(tc.s, tc.lang); got != tc.want {
			t.Errorf("IsQuestion(%q, %s) = %v", tc.s, tc.lang, got)
		}
	}
	for s, want := range map[string]bool{
		"That's too expensive for us.": true, "I have a concern about security.": true, "I'm not sure this fits.": true,
		"Legal is a blocker here.": true, "Es demasiado caro.": true, "Das ist zu teuer.": true, "C'est trop cher.": true,
		"É muito caro para nós.": true, "Sounds great, let's go.": false, "Nous allons chercher une solution.": false,
		"Wir sorgen dafür.":     false,
		"è troppo caro per noi": true, "mi preoccupa la sicurezza": true, "non sono sicura che funzioni": true,
		"va benissimo, procediamo": false, "dat is te duur voor ons": true, "we zijn bezorgd over de beveiliging": true,
		"prima, we gaan door": false, "この価格は高すぎます": true, "セキュリティが心配です": true, "来週お送りします": false,
		"这个价格太贵了": true, "我们担心安全问题": true, "我明天发给你": false,
	} {
		if got := IsObjection(s); got != want {
			t.Errorf("IsObjection(%q) = %v", s, got)
		}
	}
}
