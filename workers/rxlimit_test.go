package workers

import (
	"testing"
	"time"
)

// A limit passes its bucket at once, then the rate.
func TestRxLimitPassesTheRate(t *testing.T) {
	l := newRxLimit(1000) // bucket of 100 frames
	if got := l.admit(500); got != 100 {
		t.Fatalf("first burst: %d pass, want the bucket's 100", got)
	}
	start := time.Now()
	passed := 0
	for time.Since(start) < 200*time.Millisecond {
		passed += l.admit(32)
		time.Sleep(100 * time.Microsecond)
	}
	el := time.Since(start).Seconds()
	if want := 1000 * el; float64(passed) > want+100 || float64(passed) < want*0.9 {
		t.Fatalf("%d passed in %.3f s, want about %.0f", passed, el, want)
	}
}
