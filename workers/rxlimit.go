package workers

import "time"

// rxLimit is a token-bucket policer on one rx queue, a test hook
// (Config.RxLimits): frames beyond Rate per second, once the bucket of
// rxLimitDepth worth of frames is empty, are dropped before any sink sees
// them, as a rate-limited link would. It belongs to the worker polling the
// queue; the control side only makes it.
type rxLimit struct {
	rate   float64 // frames per second
	depth  float64 // frames the bucket holds
	tokens float64
	last   time.Time
}

// rxLimitDepth is the burst a limit lets through, like a link's buffer:
// enough to absorb a worker's scheduling stall (the generator then sends
// what was due in a clump; stalls of 10-75 ms were seen on a busy 2-CPU
// machine) while letting a trial of T seconds pass at most 0.1/T over
// the rate.
const rxLimitDepth = 100 * time.Millisecond

func newRxLimit(fps float64) *rxLimit {
	d := max(32, fps*rxLimitDepth.Seconds())
	return &rxLimit{rate: fps, depth: d, tokens: d}
}

// admit returns how many of n frames just received pass.
func (l *rxLimit) admit(n int) int {
	now := time.Now()
	if !l.last.IsZero() {
		l.tokens = min(l.depth, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	k := min(n, int(l.tokens))
	l.tokens -= float64(k)
	return k
}
