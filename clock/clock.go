// Package clock is openperfd's time stamp source: nanoseconds since the
// Unix epoch, read as the wall clock once at start-up plus the monotonic
// time since. One read costs one monotonic clock read (time.Now costs
// two), the value never steps backwards when the wall clock is set, and
// every user in the process (generator signatures, analyzer receive
// times, capture stamps) shares it, so their times compare.
package clock

import "time"

// epoch anchors Now.
var epoch = time.Now()

// Now returns nanoseconds since the Unix epoch (see the package comment).
func Now() int64 { return epoch.UnixNano() + int64(time.Since(epoch)) }
