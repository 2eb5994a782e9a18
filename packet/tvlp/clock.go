package tvlp

import (
	"runtime"
	"time"
)

// Clock is the time a replay keeps. The real one is WallClock; tests use
// a fake that they advance by hand.
type Clock interface {
	Now() time.Time
	// Wait blocks until t or until stop is closed; it reports whether t
	// was reached.
	Wait(t time.Time, stop <-chan struct{}) bool
}

// WallClock is the system clock, waiting to within a few microseconds:
// a timer wakes up a little early and the last stretch is spun with
// yields, because Go timers can fire a millisecond late and a late step
// change is a gap in the traffic.
type WallClock struct{}

// spinFor is how long before a deadline the timer hands over to the spin.
const spinFor = 500 * time.Microsecond

// Now implements Clock.
func (WallClock) Now() time.Time { return time.Now() }

// Wait implements Clock.
func (WallClock) Wait(t time.Time, stop <-chan struct{}) bool {
	if d := time.Until(t) - spinFor; d > 0 {
		tm := time.NewTimer(d)
		select {
		case <-tm.C:
		case <-stop:
			tm.Stop()
			return false
		}
	}
	for time.Now().Before(t) {
		select {
		case <-stop:
			return false
		default:
			runtime.Gosched()
		}
	}
	return true
}
