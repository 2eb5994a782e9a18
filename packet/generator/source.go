package generator

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/openperfd/openperfd/packetio"
)

// Pacing says how fast and for how long a Source transmits.
type Pacing struct {
	// Rate is packets per second; > 0.
	Rate float64
	// Burst is the most packets handed to the port at once; 1..BurstSize.
	// Packets of a burst leave back to back, bursts are spread evenly.
	Burst int
	// Frames stops the source after that many packets; 0 = no limit.
	Frames uint64
	// Duration stops the source after that long; 0 = no limit.
	Duration time.Duration
}

// Validate checks a pacing, naming the field in errors.
func (p Pacing) Validate() error {
	switch {
	case !(p.Rate > 0) || math.IsInf(p.Rate, 0):
		return &ValidationError{Path: "load.rate", Msg: fmt.Sprintf("%v packets/s: must be positive", p.Rate)}
	case p.Burst < 1 || p.Burst > packetio.BurstSize:
		return &ValidationError{Path: "load.burst_size", Msg: fmt.Sprintf("%d: must be 1..%d", p.Burst, packetio.BurstSize)}
	case p.Duration < 0:
		return &ValidationError{Path: "duration", Msg: "negative"}
	}
	return nil
}

// Source transmits a compiled program through the workers at a paced rate.
// Pull runs on one worker goroutine; the counters are read by anyone.
type Source struct {
	pacing Pacing
	w      *Writer
	pool   packetio.Pool
	now    func() int64 // ns; injectable for tests
	maxLen int

	// Worker-owned.
	start  int64
	pulled uint64

	sent, dropped atomic.Uint64
	first, last   atomic.Int64 // ns of the first and last pull with packets
	done          chan struct{}
	closed        atomic.Bool
}

var _ packetio.Source = (*Source)(nil)

// NewSource makes a source of prog's packets from pool. now returns the
// time in ns (nil: the wall clock); the signature timestamps use it too.
func NewSource(prog *Program, pool packetio.Pool, p Pacing, now func() int64) (*Source, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = func() int64 { return time.Now().UnixNano() }
	}
	return &Source{pacing: p, w: prog.NewWriter(), pool: pool, now: now,
		maxLen: prog.MaxFrameLen(), done: make(chan struct{})}, nil
}

// due is how many packets the schedule allows by time t: packet k is due
// k/rate after the start, so the first goes at once.
func (s *Source) due(t int64) uint64 {
	elapsed := t - s.start
	if d := s.pacing.Duration; d > 0 && elapsed >= int64(d) {
		return s.cap(uint64(math.Ceil(float64(d) * s.pacing.Rate / 1e9)))
	}
	return s.cap(uint64(float64(elapsed)*s.pacing.Rate/1e9) + 1)
}

func (s *Source) cap(n uint64) uint64 {
	if f := s.pacing.Frames; f > 0 && n > f {
		return f
	}
	return n
}

// Pull implements packetio.Source.
func (s *Source) Pull(pkts []*packetio.Mbuf) int {
	if s.closed.Load() {
		return 0
	}
	t := s.now()
	if s.start == 0 {
		s.start = t
	}
	if d := s.pacing.Duration; d > 0 && t-s.start >= int64(d) {
		// Time is up even if the port could not take all that was due:
		// the shortfall shows as intended > actual.
		s.finish()
		return 0
	}
	due := s.due(t)
	if due <= s.pulled {
		if s.finished(t) {
			s.finish()
		}
		return 0
	}
	n := int(min(due-s.pulled, uint64(len(pkts)), uint64(s.pacing.Burst)))
	if !s.pool.Alloc(pkts[:n]) {
		return 0
	}
	for _, m := range pkts[:n] {
		room := m.Room()
		if len(room) < s.maxLen {
			// A buffer too small for the program: send nothing rather
			// than a truncated frame (cannot happen with 2 KiB buffers
			// and frames up to 1518 bytes).
			s.pool.Free(pkts[:n])
			return 0
		}
		l, _ := s.w.Next(room, uint64(t))
		m.SetLen(l)
	}
	if s.pulled == 0 {
		s.first.Store(t)
	}
	s.last.Store(t)
	s.pulled += uint64(n)
	return n
}

// finished reports whether the schedule has nothing more to send.
func (s *Source) finished(t int64) bool {
	if f := s.pacing.Frames; f > 0 && s.pulled >= f {
		return true
	}
	d := s.pacing.Duration
	return d > 0 && t-s.start >= int64(d)
}

// Sent implements packetio.Source.
func (s *Source) Sent(n, dropped int) {
	sent := s.sent.Add(uint64(n))
	drop := s.dropped.Add(uint64(dropped))
	if f := s.pacing.Frames; f > 0 && sent+drop >= f {
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
		end := s.now()
		if s.closed.Load() {
			end = s.last.Load()
		}
		elapsed := end - f
		if d := s.pacing.Duration; d > 0 && elapsed > int64(d) {
			elapsed = int64(d)
		}
		c.Intended = s.cap(uint64(float64(elapsed)*s.pacing.Rate/1e9) + 1)
	}
	return c
}
