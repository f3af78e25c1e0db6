package detect

import "regexp"

func chinese() *cjkRules {
	wd := `[一二三四五六日天]`
	num := `\d{1,2}|[一二三四五六七八九十]{1,3}`
	by := `(?:在|于)?`
	before := `(?:之前|以前|前)?`
	return &cjkRules{
		fillers:    regexp.MustCompile(`呃|嗯|额|唔|^那个|^就是`),
		correction: regexp.MustCompile(`不对|哦不|说错了|更正一下|不是不是`),
		question:   regexp.MustCompile(`(?:吗|呢|么|嘛)$|^(?:你|你们|您|有人|能不能|可不可以)|什么|怎么|哪|谁|多少`),
		reject: []*regexp.Regexp{
			regexp.MustCompile(`不行|不能|不会|没法|没办法|无法|做不到|不了|别|不可以|不方便`), // negations, refusals
			regexp.MustCompile(`已经|上周|上个星期|昨天|前天|刚才|了$|过了`),           // past
			regexp.MustCompile(`如果|要是|的话|假如|除非|万一`),                   // conditionals
			regexp.MustCompile(`也许|或许|可能|说不定|考虑|看看能不能`),               // hedges of the promise
		},
		unsure:  regexp.MustCompile(`应该|大概|估计|差不多`),
		accept:  regexp.MustCompile(`^(?:好的|好|行|可以|没问题|当然|收到|ok|okay|嗯好|放心|那|然后)+`),
		promise: regexp.MustCompile(`会|来|去|负责|把|给|能|马上|尽快|要|准备|安排`),
		self:    regexp.MustCompile(`我`),
		we:      regexp.MustCompile(`我们|咱们|我司|我方`),
		named:   regexp.MustCompile(`会|来|负责|将|去`),
		object:  "给把跟和对向让",
		you:     regexp.MustCompile(`你|您`),
		request: []*regexp.Regexp{
			regexp.MustCompile(`^(?:\p{Han}{2,3})?(?:你们|你|您|有人|谁)?(?:能不能|可不可以|能|可以|帮忙|帮我|帮我们)(?:帮我们|帮我)?(?P<a>.+?)(?:吗|呢|么|吧)?$`),
		},
		trim: regexp.MustCompile(`^(?:这个|那个|这件事)|我们|咱们|我|^(?:这边|那边)|^(?:会|来|能|可以|要|马上|尽快|应该)+|一下|应该|估计|大概|(?:吧|了|的|啊|呀)$`),
		dates: []cjkDate{
			cjkDateOf(dueExplicit, by+`(?P<mon>`+num+`)月(?P<d>`+num+`)(?:日|号)`+before, cjkMonthDay),
			cjkDateOf(dueExplicit, by+`(?P<d>\d{1,2})号`+before, cjkDayOfMonth),
			cjkDateOf(dueRelative, by+`后天`+before, fixed(duePlusDays(2))),
			cjkDateOf(dueRelative, by+`明天(?:上午|下午|晚上|早上)?`+before, fixed(duePlusDays(1))),
			cjkDateOf(dueRelative, by+`(?P<mod>下|这|本)?(?:个)?(?:周|星期|礼拜)(?P<wd>`+wd+`)`+before, cjkWeekday),
			cjkDateOf(dueRelative, by+`(?:下周|下个星期|下星期|下个礼拜)(?:末)?`+before, fixed(nextWeekFriday)),
			cjkDateOf(dueRelative, by+`(?:这周末|本周末|这个周末|周末|这周|本周|这个星期)`+before, fixed(endOfWeek)),
			cjkDateOf(dueRelative, by+`(?:下个月|下月)(?:底)?`+before, fixed(endOfNextMonth)),
			cjkDateOf(dueRelative, by+`(?:这个月底|本月底|月底|这个月|本月)`+before, fixed(endOfMonth)),
			cjkDateOf(dueSameDay, by+`(?:今天(?:下班)?|今晚|下班)`+before, fixed(dueToday)),
		},
	}
}
