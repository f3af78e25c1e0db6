package ledger

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkAppend measures appends of final segments to one meeting, each committed and fsynced
// before Append returns, as in a live meeting. Reports events/s.
func BenchmarkAppend(b *testing.B) {
	s, _ := openStore(b)
	ctx := context.Background()
	seg := SegmentInfo{Channel: "system", Speaker: "spk-tom", Org: "Contoso", StartMS: 9200, EndMS: 14800,
		Text: "We'll send you the integration architecture by Thursday.", Language: "en"}
	i := 0
	for b.Loop() {
		g := seg
		g.ID = fmt.Sprint("s", i)
		i++
		if _, err := s.Append(ctx, Event{Type: TypeSegmentFinal, Meeting: "m", Segment: &g}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "events/s")
}
