package clock

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
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

// A CLOCK_MONOTONIC reading converts into the Now taken next to it.
func TestFromMonotonicMatchesNow(t *testing.T) {
	for range 100 {
		var ts unix.Timespec
		a := Now()
		if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
			t.Fatal(err)
		}
		b := Now()
		if m := FromMonotonic(ts.Nano()); m < a-1000 || m > b+1000 {
			t.Fatalf("FromMonotonic %d, outside the Now readings around it %d..%d (1 us slack)", m, a, b)
		}
	}
}
