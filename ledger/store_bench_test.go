package ledger

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/ledgerline/ledgerline/internal/pgtest"
)

// BenchmarkAppend measures appends of final segments, each committed before Append returns, as in
// a live meeting; it reports events/s. "one meeting" appends to a single meeting from one
// goroutine; "meetings side by side" has each of several goroutines append to a meeting of its own,
// as a server recording many meetings does.
//
// The figures are not alike in durability: SQLite fsyncs every commit to the test's temporary
// directory, while the test cluster of PostgreSQL runs without fsync (see internal/pgtest).
func BenchmarkAppend(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) Store
	}{
		{"sqlite", func(b *testing.B) Store { s, _ := openStore(b); return s }},
		{"postgres", func(b *testing.B) Store {
			s, err := OpenPostgres(b.Context(), pgtest.Shared(b).NewDatabase(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
	}
	for _, st := range stores {
		b.Run(st.name+"/one meeting", func(b *testing.B) {
			s := st.open(b)
			i := 0
			for b.Loop() {
				appendFinal(b, s, "m", i)
				i++
			}
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "events/s")
		})
		b.Run(st.name+"/meetings side by side", func(b *testing.B) {
			s := st.open(b)
			b.ResetTimer()
			b.SetParallelism(4)
			var meetings, n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				meeting := fmt.Sprint("m", meetings.Add(1))
				for i := 0; pb.Next(); i++ {
					appendFinal(b, s, meeting, i)
					n.Add(1)
				}
			})
			b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func appendFinal(b *testing.B, s Store, meeting string, i int) {
	seg := SegmentInfo{ID: fmt.Sprint("s", i), Channel: "system", Speaker: "spk-tom", Org: "Contoso", StartMS: 9200, EndMS: 14800,
		Text: "We'll send you the integration architecture by Thursday.", Language: "en"}
	if _, err := s.Append(context.Background(), Event{Type: TypeSegmentFinal, Meeting: meeting, Segment: &seg}); err != nil {
		b.Error(err)
	}
}
