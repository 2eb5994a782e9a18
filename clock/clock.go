// Package clock is openperfd's time stamp source: nanoseconds since the
// Unix epoch, read as the wall clock once at start-up plus the monotonic
// time since. One read costs one monotonic clock read (time.Now costs
// two), the value never steps backwards when the wall clock is set, and
// every user in the process (generator signatures, analyzer receive
// times, capture stamps) shares it, so their times compare.
package clock

import (
	"time"

	"golang.org/x/sys/unix"
)

// epoch anchors Now.
var epoch = time.Now()

// Now returns nanoseconds since the Unix epoch (see the package comment).
func Now() int64 { return epoch.UnixNano() + int64(time.Since(epoch)) }

// monoAtEpoch is CLOCK_MONOTONIC, in ns, at epoch: Go's monotonic clock
// is CLOCK_MONOTONIC, so a reading taken outside Go (a driver's, in C)
// converts to Now's scale with one addition (FromMonotonic).
var monoAtEpoch = findMonoAtEpoch()

// findMonoAtEpoch reads CLOCK_MONOTONIC next to Go's monotonic clock a
// few times and keeps the pair read closest together: off by the few tens
// of ns one read takes.
func findMonoAtEpoch() int64 {
	best, gap := int64(0), int64(-1)
	for range 8 {
		var ts unix.Timespec
		a := time.Since(epoch)
		if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
			return 0 // no CLOCK_MONOTONIC: nothing converts from it
		}
		b := time.Since(epoch)
		if g := int64(b - a); gap < 0 || g < gap {
			best, gap = ts.Nano()-int64(a+b)/2, g
		}
	}
	return best
}

// FromMonotonic converts a CLOCK_MONOTONIC reading in ns into Now's
// scale: what Now would have returned at that moment.
func FromMonotonic(mono int64) int64 { return epoch.UnixNano() + mono - monoAtEpoch }
