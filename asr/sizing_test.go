package asr

import (
	"errors"
	"testing"
)

func TestSizeForKeepsDecodesWithinTheCores(t *testing.T) {
	for _, tc := range []struct {
		cores, workers, threads int
		want                    Sizing
	}{
		{2, 0, 0, Sizing{2, 1}},
		{4, 0, 0, Sizing{2, 2}},
		{16, 0, 0, Sizing{4, 4}},
		{128, 0, 0, Sizing{32, 4}},
		{1, 0, 0, Sizing{1, 1}},
		{16, 2, 0, Sizing{2, 8}},
		{16, 0, 8, Sizing{2, 8}},
		{16, 16, 1, Sizing{16, 1}},
		{2, 0, 4, Sizing{1, 4}}, // more threads than cores: refused
	} {
		got, err := SizeFor(tc.cores, tc.workers, tc.threads)
		if tc.want.Workers*tc.want.Threads > tc.cores {
			if !errors.Is(err, ErrSizing) {
				t.Errorf("SizeFor(%d, %d, %d) = %v, %v; want ErrSizing", tc.cores, tc.workers, tc.threads, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("SizeFor(%d, %d, %d) = %v, %v; want %v", tc.cores, tc.workers, tc.threads, got, err, tc.want)
		}
		if got.Workers*got.Threads > tc.cores {
			t.Errorf("SizeFor(%d, %d, %d) = %v oversubscribes", tc.cores, tc.workers, tc.threads, got)
		}
	}
	for _, bad := range [][3]int{{16, 16, 8}, {2, 2, 2}, {4, -1, 0}} {
		if _, err := SizeFor(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("SizeFor%v: want an error", bad)
		}
	}
}
