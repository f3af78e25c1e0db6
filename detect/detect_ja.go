package detect

import "regexp"

func japanese() *cjkRules {
	wd := `[月火水木金土日]`
	until := `(?:まで(?:に)?|には|に|中に)?`
	return &cjkRules{
		subjectless: true,
		fillers:     regexp.MustCompile(`えーと|えっと|えー|あのー|あの|うーん|まあ|^あ`),
		correction:  regexp.MustCompile(`いや失礼|失礼しました|じゃなくて|ではなく|いや`),
		question:    regexp.MustCompile(`(?:か|かな|かね|の)$|ますか|でしょうか`),
		reject: []*regexp.Regexp{
			regexp.MustCompile(`ません|できない|しない|無理|^いえ|^いいえ|申し訳ないですが`), // negations, refusals
			regexp.MustCompile(`ました|でした|昨日|先週|先月|もう送`),              // past
			regexp.MustCompile(`たら|なら|れば|場合は`),                      // conditionals
			regexp.MustCompile(`かもしれ|かも|検討|予定です`),                   // hedges of the promise
		},
		unsure:  regexp.MustCompile(`たぶん|多分|おそらく|と思います`),
		accept:  regexp.MustCompile(`^(?:はい|ええ|了解です|了解しました|承知しました|承知いたしました|かしこまりました|わかりました|分かりました|もちろんです|もちろん|大丈夫です|いいですよ|じゃあ|では)+`),
		promise: regexp.MustCompile(`(?:ます|ましょう)$`),
		self:    regexp.MustCompile(`私|わたし|僕|自分`),
		we:      regexp.MustCompile(`弊社|私たち|我々|うちで|うちから|当社|こちらで|こちらから`),
		named:   regexp.MustCompile(`が|さんが|から|は`),
		object:  "にをとへ",
		you:     regexp.MustCompile(`[おご]\p{Han}`),
		request: []*regexp.Regexp{
			regexp.MustCompile(`^(?:\p{Han}{1,3}さん)?(?:どなたか|誰か)?(?P<a>.+?)(?:て|で)(?:もらえます|いただけます|くれます|もらえません|いただけません|ください)`),
			regexp.MustCompile(`^(?:\p{Han}{1,3}さん)?(?P<a>.+?)をお願いできます`),
		},
		trim: regexp.MustCompile(`^(?:私が|私は|私から|私の方で|弊社から|弊社で|弊社が|私たちが|うちで|うちから|こちらで)|^(?:お|ご)|たぶん|多分|おそらく|(?:できます|いたします|いたしします|しておきます|ておきます|します|ます)$`),
		dates: []cjkDate{
			cjkDateOf(dueExplicit, `(?P<mon>\d{1,2})月(?P<d>\d{1,2})日`+until, cjkMonthDay),
			cjkDateOf(dueRelative, `(?:明後日|あさって)`+until, fixed(duePlusDays(2))),
			cjkDateOf(dueRelative, `(?:明日|あした|あす)(?:の朝|の午前|の午後|中)?`+until, fixed(duePlusDays(1))),
			cjkDateOf(dueRelative, `(?P<mod>来週|今週)?の?(?P<wd>`+wd+`)曜(?:日)?`+until, cjkWeekday),
			cjkDateOf(dueRelative, `来週(?:中|末)?`+until, fixed(nextWeekFriday)),
			cjkDateOf(dueRelative, `(?:今週中|今週末|今週|週末)`+until, fixed(endOfWeek)),
			cjkDateOf(dueRelative, `来月(?:中|末)?`+until, fixed(endOfNextMonth)),
			cjkDateOf(dueRelative, `(?:月末|今月中|今月末|今月)`+until, fixed(endOfMonth)),
			cjkDateOf(dueSameDay, `(?:今日中|今日|本日中|本日|今晩|今夜)`+until, fixed(dueToday)),
		},
	}
}
