package generator

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/openperfd/openperfd/clock"
	"github.com/openperfd/openperfd/packetio"
)

// Pacing says how fast and for how long a Source transmits.
type Pacing struct {
	// Rate is packets per second; > 0.
	Rate float64
	// Burst is the most packets handed to the port at once;
	// 1..packetio.TxBurstSize.
	// Packets of a burst leave back to back, bursts are spread evenly.
	Burst int
	// Frames stops the source after that many packets; 0 = no limit.
	Frames uint64
	// Duration stops the source after that long; 0 = no limit.
	Duration time.Duration
	// StartAt, when set, is the time (ns, on the source's clock) the
	// schedule starts: packet k is due k/rate after it, not after the
	// first pull, and nothing goes before it. A source can so be handed to
	// a worker ahead of time and start exactly on time (a TVLP step).
	StartAt int64
	// StopAt, when set, ends the source at that time (ns): packet k goes
	// only if it is due before StopAt, so a window holds exactly its
	// packets and the next window's first packet is due when the last
	// one's time is up.
	StopAt int64
}

// Validate checks a pacing, naming the field in errors.
func (p Pacing) Validate() error {
	switch {
	case !(p.Rate > 0) || math.IsInf(p.Rate, 0):
		return &ValidationError{Path: "load.rate", Msg: fmt.Sprintf("%v packets/s: must be positive", p.Rate)}
	case p.Burst < 1 || p.Burst > packetio.TxBurstSize:
		return &ValidationError{Path: "load.burst_size", Msg: fmt.Sprintf("%d: must be 1..%d", p.Burst, packetio.TxBurstSize)}
	case p.Duration < 0:
		return &ValidationError{Path: "duration", Msg: "negative"}
	}
	return nil
}

// Source transmits a compiled program through the workers at a paced rate.
// Pull runs on one worker goroutine; the counters are read by anyone.
type Source struct {
	pacing Pacing
	// limit is the most packets the run sends (0: no limit): the frames
	// limit, or for a time limit d the packets due before d (k/rate < d),
	// as OpenPerf turns a duration into a frame count.
	limit  uint64
	w      *Writer
	pool   packetio.Pool
	now    func() int64 // ns; injectable for tests
	maxLen int

	// Prebuilt frames: ref is pool as a RefPool, prebuild says the program
	// qualifies (and no attempt failed yet), pre is the cycle once built.
	ref      packetio.RefPool
	prebuild bool
	recycle  bool // the same for recycled buffers
	// pullOnly: pool is not the port driver's (jumbo frames), so the
	// worker's Fill buffers would be too small; Want asks for none.
	pullOnly bool
	// rp is the driver's recycle pool, where a recycled ring is taken
	// from first (SetRecyclePool); nil: none.
	rp packetio.RecyclePool

	// Worker-owned.
	start    int64
	pulled   uint64
	pre      *prebuilt
	rec      *recycled
	lastPull int64 // time of the last pull with packets
	lastPub  int64 // the last one published in last

	sent, dropped atomic.Uint64
	first, last   atomic.Int64 // ns of the first and last pull with packets
	done          chan struct{}
	closed        atomic.Bool
}

var (
	_ packetio.FillSource = (*Source)(nil)
	_ packetio.Scheduled  = (*Source)(nil)
)

// NewSource makes a source of prog's packets from pool. now returns the
// time in ns (nil: the wall clock, advanced by the monotonic clock); the
// signature timestamps use it too.
func NewSource(prog *Program, pool packetio.Pool, p Pacing, now func() int64) (*Source, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = clock.Now // one clock read per burst, and no steps mid-run
	}
	s := &Source{pacing: p, limit: p.limit(), w: prog.NewWriter(), pool: pool, now: now,
		maxLen: prog.MaxFrameLen(), done: make(chan struct{})}
	s.ref, s.prebuild = pool.(packetio.RefPool)
	s.recycle = s.prebuild && recyclable(prog)
	s.prebuild = s.prebuild && prebuildable(prog)
	return s, nil
}

// PullOnly tells the source that its pool is not the one its port's
// worker fills from (a jumbo pool for frames longer than that pool's
// buffers hold): it then takes every buffer from its own pool in Pull.
// Call it before the first Pull.
func (s *Source) PullOnly() { s.pullOnly = true }

// SetLinkSpeed sets the link speed, in Mbps, of the port the source sends
// on: it spaces the signature timestamps of a burst's frames by their wire
// time (0: unknown, every frame of a burst gets the burst's time). Call it
// before the first Pull.
func (s *Source) SetLinkSpeed(mbps int64) { s.w.SetLinkSpeed(mbps) }

// due is how many packets the schedule allows by time t: packet k is due
// k/rate after the start, so the first goes at once.
func (s *Source) due(t int64) uint64 {
	return s.cap(uint64(float64(t-s.start)*s.pacing.Rate/1e9) + 1)
}

func (s *Source) cap(n uint64) uint64 {
	if s.limit > 0 && n > s.limit {
		return s.limit
	}
	return n
}

// limit is the number of packets the pacing allows at most (0: none).
func (p Pacing) limit() uint64 {
	n := p.Frames
	if p.Duration > 0 {
		d := uint64(math.Ceil(float64(p.Duration) * p.Rate / 1e9))
		if d == 0 {
			d = 1
		}
		if n == 0 || d < n {
			n = d
		}
	}
	return n
}

// overrun reports whether a time-limited run is so late (the port could
// not take the rate) that it must end now rather than send the rest: the
// shortfall then shows as intended > actual.
func (s *Source) overrun(t int64) bool {
	d := s.pacing.Duration
	return d > 0 && t-s.start >= int64(d)+max(int64(d)/100, int64(20*time.Millisecond))
}

// Pull implements packetio.Source.
func (s *Source) Pull(pkts []*packetio.Mbuf) int {
	if s.pre != nil {
		return s.pullPrebuilt(pkts)
	}
	if s.rec != nil {
		return s.pullRecycled(pkts)
	}
	if s.prebuild || s.recycle {
		if s.closed.Load() {
			return 0
		}
		if s.prebuild && s.build() {
			s.prebuild, s.recycle = false, false
			return s.pullPrebuilt(pkts)
		}
		if s.recycle && s.buildRecycled() {
			s.prebuild, s.recycle = false, false
			return s.pullRecycled(pkts)
		}
		s.prebuild, s.recycle = false, false
	}
	n, t := s.ready(len(pkts))
	if n == 0 || !s.pool.Alloc(pkts[:n]) {
		return 0
	}
	k := s.w.fill(pkts[:n], uint64(t))
	if k < n {
		// A buffer too small for the program: send what fit rather than
		// a truncated frame.
		s.pool.Free(pkts[k:n])
	}
	s.account(t, k)
	return k
}

// SetRecyclePool gives the source the driver's recycle pool
// (packetio.RecyclePools), which a ring of recycled frames then comes
// from when the pool can spare it, so that ports free its buffers without
// an atomic decrement. Call it before the first Pull; a source of frames
// longer than the pool's buffers hold ignores it.
func (s *Source) SetRecyclePool(p packetio.RecyclePool) {
	if !s.pullOnly {
		s.rp = p
	}
}

// Want implements packetio.FillSource.
func (s *Source) Want() int {
	if s.closed.Load() || s.pre != nil || s.rec != nil || s.prebuild || s.recycle || s.pullOnly {
		return 0 // prebuilt or recycled frames, or jumbo ones, need no worker buffers: Pull
	}
	if f := s.limit; f > 0 {
		return int(min(f-s.pulled, uint64(s.pacing.Burst)))
	}
	return s.pacing.Burst
}

// Fill implements packetio.FillSource: Pull into buffers the worker
// allocated with the transmission of the previous burst.
func (s *Source) Fill(raw []*packetio.Mbuf) int {
	n, t := s.ready(len(raw))
	if n == 0 {
		return 0
	}
	k := s.w.fill(raw[:n], uint64(t))
	s.account(t, k)
	return k
}

// ready returns how many packets (at most max) are due now, and now.
func (s *Source) ready(max int) (int, int64) {
	if s.closed.Load() {
		return 0, 0
	}
	t := s.now()
	if s.start == 0 {
		if at := s.pacing.StartAt; at > 0 {
			if t < at {
				return 0, t
			}
			// Anchored at StartAt even when the worker gets here late
			// (descheduled): the packets of the wait then go at once, as
			// they do when it is descheduled mid-run, and the window
			// holds the packets it should.
			s.start = at
		} else {
			s.start = t
		}
	}
	if end := s.pacing.StopAt; end > 0 && t >= end {
		// Past the end only what was due before it still goes (a worker
		// descheduled across the end), then the source is done.
		due := s.cap(uint64(math.Ceil(float64(end-s.start) * s.pacing.Rate / 1e9)))
		if due > s.pulled {
			return int(min(due-s.pulled, uint64(max), uint64(s.pacing.Burst))), t
		}
		if s.pulled > 0 {
			s.last.Store(s.lastPull)
		}
		s.finish()
		return 0, t
	}
	due := s.due(t)
	if due <= s.pulled || s.overrun(t) {
		if s.finished(t) {
			if s.pulled > 0 {
				s.last.Store(s.lastPull)
			}
			s.finish()
		}
		return 0, t
	}
	return int(min(due-s.pulled, uint64(max), uint64(s.pacing.Burst))), t
}

// account accounts for n packets written at t. The last pull's time is
// published at most every lastEvery (an atomic store per burst is not
// free), and always for the last packet of a frames limit or when the
// schedule ends (ready).
func (s *Source) account(t int64, n int) {
	if n == 0 {
		return
	}
	if s.pulled == 0 {
		s.first.Store(t)
		s.last.Store(t)
		s.lastPub = t
	}
	s.pulled += uint64(n)
	s.lastPull = t
	if t-s.lastPub >= lastEvery || s.pulled == s.limit {
		s.last.Store(t)
		s.lastPub = t
	}
}

// lastEvery bounds how stale Counters().Last may be while a source runs.
const lastEvery = int64(10 * time.Microsecond)

// finished reports whether the schedule has nothing more to send.
func (s *Source) finished(t int64) bool {
	if f := s.limit; f > 0 && s.pulled >= f {
		return true
	}
	return s.overrun(t)
}

// NextDue implements packetio.Scheduled: packet k is due k/rate after the
// start.
func (s *Source) NextDue() (time.Duration, bool) {
	if s.closed.Load() || s.limit > 0 && s.pulled >= s.limit {
		return 0, false
	}
	if s.start == 0 {
		if at := s.pacing.StartAt; at > 0 {
			return time.Duration(at - s.now()), true
		}
		return 0, true
	}
	if end := s.pacing.StopAt; end > 0 && s.pulled > 0 {
		// Past the end the next pull finishes the source: wake for it.
		next := s.start + int64(float64(s.pulled)*1e9/s.pacing.Rate)
		return time.Duration(min(next, end) - s.now()), true
	}
	at := s.start + int64(float64(s.pulled)*1e9/s.pacing.Rate)
	return time.Duration(at - s.now()), true
}

// Sent implements packetio.Source.
func (s *Source) Sent(n, dropped int) {
	sent := s.sent.Add(uint64(n))
	drop := s.dropped.Load()
	if dropped > 0 {
		drop = s.dropped.Add(uint64(dropped))
	}
	if f := s.limit; f > 0 && sent+drop >= f {
		s.finish()
	}
}

// Detached implements packetio.Source: the port went away, so the run ends.
func (s *Source) Detached() { s.finish() }

func (s *Source) finish() {
	if s.closed.CompareAndSwap(false, true) {
		close(s.done)
	}
}

// Stop ends the run; packets already handed to the port still go out.
func (s *Source) Stop() { s.finish() }

// Done is closed when the run ends (frames or duration reached, stopped,
// or the port detached).
func (s *Source) Done() <-chan struct{} { return s.done }

// Counters are what a generator result reports.
type Counters struct {
	Actual, Dropped, Intended uint64
	First, Last               time.Time // zero before the first packet
}

// Counters reports the run so far. Intended is what the schedule asked for
// by now; Actual below it means the port could not keep up.
func (s *Source) Counters() Counters {
	c := Counters{Actual: s.sent.Load(), Dropped: s.dropped.Load()}
	if f := s.first.Load(); f != 0 {
		c.First = time.Unix(0, f)
		c.Last = time.Unix(0, s.last.Load())
		end, closed := s.now(), s.closed.Load()
		if closed {
			end = s.last.Load()
		}
		c.Intended = s.cap(uint64(float64(end-f)*s.pacing.Rate/1e9) + 1)
		// No packet leaves before it is due, so a finished run intended at
		// least what it tried; the schedule above can fall short because
		// last may lag the last pull by up to lastEvery, and the schedule
		// started at the first ready, a little before first.
		if tried := c.Actual + c.Dropped; closed && c.Intended < tried {
			c.Intended = tried
		}
	}
	return c
}
