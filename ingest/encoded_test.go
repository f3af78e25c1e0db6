package ingest

import (
	"testing"

	"github.com/ledgerline/ledgerline/internal/leaktest"
)

// Audio encoded once reaches the endpoint whole from each of two publishers that send it as it is.
func TestWHIPPublishEncodedOpus(t *testing.T) {
	leaktest.Check(t)
	hs := newHarness(t, nil)
	ctx := testContext(t)
	src := loadFixture(t, "alice.wav")
	frames, err := EncodeOpus(src)
	if err != nil {
		t.Fatal(err)
	}
	if want := (len(src) + publishFrame - 1) / publishFrame; len(frames) != want {
		t.Fatalf("EncodeOpus made %d frames of %d samples, want %d", len(frames), len(src), want)
	}
	names := []string{"first", "second"}
	errc := make(chan error, len(names))
	for _, n := range names {
		go func() {
			pub, err := Publish(ctx, hs.endpoint(), testToken, hs.publishOptions(t, n))
			if err != nil {
				errc <- err
				return
			}
			if err := pub.SendOpus(ctx, frames); err != nil {
				_ = pub.Close(ctx)
				errc <- err
				return
			}
			errc <- pub.Close(ctx)
		}()
	}
	for range names {
		got := audioOf(collect(t, hs.nextTrack(t)))
		checkLength(t, got, len(src))
		if c := corr(got, src); c < 0.5 {
			t.Errorf("correlation with the source %.2f, want > 0.5", c)
		}
	}
	for range names {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}
