package spirent

import "time"

// Signature timestamps count ticks of 2.5 ns since the epoch (Epoch), modulo
// 2^38: they wrap every WrapPeriod, about 11.45 minutes. OpenPerf takes the
// time of the frame's first bit (or, with FlagEndOfFrame, its last bit) as
// the time the burst is handed to the NIC plus the wire time of the bytes
// queued before it (frame length + 24 bytes of preamble, FCS and gap each,
// at the link speed).
const (
	TickPicoseconds = 2500
	TimestampBits   = 38
	TimestampMask   = 1<<TimestampBits - 1
	// WrapPeriod is the time after which a signature timestamp repeats:
	// 2^38 ticks of 2.5 ns, 687.19476736 s.
	WrapPeriod = time.Duration(1<<TimestampBits*TickPicoseconds/1000) * time.Nanosecond
)

// Epoch returns the zero of signature timestamps for a clock reading t:
// 00:00:00 UTC on 1 January of t's year in UTC. OpenPerf fixes it once, when
// a port starts, so a generator started before a new year and an analyzer
// started after it disagree (by a year, which is not a whole number of
// wraps); so does anything else that computes it at different times.
func Epoch(t time.Time) time.Time {
	return time.Date(t.UTC().Year(), time.January, 1, 0, 0, 0, 0, time.UTC)
}

// Ticks converts ns, nanoseconds since the epoch, into a signature
// timestamp: whole ticks (rounding toward zero, as OpenPerf's chrono cast
// does), modulo 2^38.
func Ticks(ns int64) uint64 {
	return uint64(ns*2/5) & TimestampMask
}

// Nanos converts ticks into nanoseconds, rounding toward zero like OpenPerf
// does; ticks are not reduced modulo 2^38 (see Unwrap).
func Nanos(ticks uint64) int64 {
	return int64(ticks) * 5 / 2
}

// DeltaTicks returns a - b for two signature timestamps as a signed 38-bit
// value: the difference modulo 2^38, taken in [-2^37, 2^37), so two times
// less than half a wrap period (~5.7 minutes) apart compare right across a
// wrap.
func DeltaTicks(a, b uint64) int64 {
	return int64((a-b)<<(64-TimestampBits)) >> (64 - TimestampBits)
}

// Unwrap returns the time, in nanoseconds since the epoch, of the signature
// timestamp ticks that lies nearest to now (also nanoseconds since the
// epoch): within half a wrap period either side. Latency across a wrap thus
// comes out right as long as it is under ~5.7 minutes (or a transmit clock
// is that far ahead of ours).
//
// OpenPerf's analyzer instead puts the timestamp in the wrap period that
// contains now, so for a frame sent just before a wrap and received after
// it, it computes a latency of about -11.45 minutes.
func Unwrap(ticks uint64, now int64) int64 {
	return UnwrapAbout(ticks, TicksSince(now))
}

// TicksSince is ns, nanoseconds since the epoch, in whole ticks (toward
// zero), not reduced modulo 2^38: the reference UnwrapAbout takes.
func TicksSince(ns int64) uint64 { return uint64(ns * 2 / 5) }

// UnwrapAbout is Unwrap about ref, a time in ticks from TicksSince: a
// receiver unwraps a burst's timestamps about one reference.
func UnwrapAbout(ticks, ref uint64) int64 {
	return Nanos(uint64(int64(ref) + DeltaTicks(ticks, ref)))
}

// Latency returns rx - tx in nanoseconds, for a frame received at rx
// (nanoseconds since the epoch) whose signature carries the tx timestamp
// ticks; see Unwrap for the range.
func Latency(rx int64, ticks uint64) int64 {
	return rx - Unwrap(ticks, rx)
}
