package clock

import (
	"testing"
	"time"
)

// Now tracks the wall clock (within a generous bound: the wall clock may
// be slewed while a test runs) and never goes backwards.
func TestNowTracksTheWallClockAndNeverGoesBack(t *testing.T) {
	prev := Now()
	for range 1000 {
		n := Now()
		if n < prev {
			t.Fatalf("Now went back from %d to %d", prev, n)
		}
		prev = n
	}
	if d := time.Duration(Now() - time.Now().UnixNano()); d < -time.Second || d > time.Second {
		t.Errorf("Now is %v off the wall clock", d)
	}
}
