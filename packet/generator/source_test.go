package generator

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/packetio/fake"
	"github.com/openperfd/openperfd/workers"
)

func testProgram(t *testing.T) *Program {
	t.Helper()
	def := udpDef(nil, []Modifier{{Name: "source_port", Kind: KindField, List: vals(1, 2, 3, 4)}}, TieZip)
	def.Length = Length{Fixed: 64}
	def.Signature = &SignatureConfig{Format: FormatOpenperfd, StreamID: 7}
	p, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeClock is a settable nanosecond clock.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() int64              { return c.ns.Load() }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// pacedSource is a source of testProgram on a fake driver's pool, with a
// fake clock at 1 s, and a pull that frees what it pulls and returns how
// many.
func pacedSource(t *testing.T, p Pacing) (*Source, *fakeClock, func() int) {
	t.Helper()
	d := fake.New(1, 1, 4096)
	clk := &fakeClock{}
	clk.ns.Store(1_000_000_000)
	src, err := NewSource(testProgram(t), d.Pool(), p, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	pkts := make([]*packetio.Mbuf, packetio.BurstSize)
	return src, clk, func() int {
		n := src.Pull(pkts)
		d.Pool().Free(pkts[:n])
		return n
	}
}

func TestPacingReleasesPacketsOnSchedule(t *testing.T) {
	_, clk, pull := pacedSource(t, Pacing{Rate: 1000, Burst: 8})
	if n := pull(); n != 1 {
		t.Fatalf("first pull gave %d, want the first packet at once", n)
	}
	if n := pull(); n != 0 {
		t.Fatalf("no time passed but %d more packets came", n)
	}
	clk.advance(5 * time.Millisecond) // packets 0..5 are due by now
	if n := pull(); n != 5 {
		t.Fatalf("after 5 ms at 1000/s: %d, want 5 more", n)
	}
	clk.advance(time.Second)
	total := 6
	for {
		n := pull()
		if n == 0 {
			break
		}
		if n > 8 {
			t.Fatalf("burst of %d over burst_size 8", n)
		}
		total += n
	}
	if total != 1006 {
		t.Fatalf("after 1.005 s at 1000/s: %d packets, want 1006 (one at t=0, then one per ms)", total)
	}
}

// TestNextDueFollowsTheSchedule: what the source tells an idle worker is
// when its next packet is due, and nothing once it has sent them all.
func TestNextDueFollowsTheSchedule(t *testing.T) {
	src, clk, pull := pacedSource(t, Pacing{Rate: 1000, Burst: 8, Frames: 3})
	check := func(what string, want time.Duration, wantOK bool) {
		t.Helper()
		if got, ok := src.NextDue(); got != want || ok != wantOK {
			t.Fatalf("%s: NextDue %v, %v; want %v, %v", what, got, ok, want, wantOK)
		}
	}
	check("before the start", 0, true)
	pull() // packet 0 at t=0
	check("after packet 0", time.Millisecond, true)
	clk.advance(400 * time.Microsecond)
	check("0.4 ms later", 600*time.Microsecond, true)
	clk.advance(1600 * time.Microsecond) // t = 2 ms: packets 1 and 2 are due
	check("late", -time.Millisecond, true)
	if n := pull(); n != 2 {
		t.Fatalf("pulled %d, want 2", n)
	}
	check("all 3 frames sent", 0, false)
	src.Stop()
	check("stopped", 0, false)
}

func TestFramesLimitStopsExactly(t *testing.T) {
	d := fake.New(1, 1, 4096)
	clk := &fakeClock{}
	clk.ns.Store(1)
	src, err := NewSource(testProgram(t), d.Pool(), Pacing{Rate: 1e9, Burst: 32, Frames: 100}, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	pkts := make([]*packetio.Mbuf, packetio.BurstSize)
	total := 0
	for i := 0; i < 10; i++ {
		if i == 1 {
			clk.advance(time.Second) // the run started at the first pull
		}
		n := src.Pull(pkts)
		src.Sent(n, 0)
		d.Pool().Free(pkts[:n])
		total += n
	}
	if total != 100 {
		t.Fatalf("sent %d, want exactly 100", total)
	}
	select {
	case <-src.Done():
	default:
		t.Fatal("run not done after its frames")
	}
	if c := src.Counters(); c.Actual != 100 || c.Intended != 100 {
		t.Fatalf("counters %+v", c)
	}
}

func TestGeneratedFramesCarrySignaturesAndGoodChecksums(t *testing.T) {
	d := fake.New(1, 1, 4096)
	src, err := NewSource(testProgram(t), d.Pool(), Pacing{Rate: 1e9, Burst: 32, Frames: 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pkts := make([]*packetio.Mbuf, packetio.BurstSize)
	n := src.Pull(pkts) // the first packet goes at once
	time.Sleep(time.Millisecond)
	n += src.Pull(pkts[n:])
	if n != 8 {
		t.Fatalf("pulled %d", n)
	}
	for i, m := range pkts[:n] {
		frame := m.Data()
		l, err := protocol.Parse(frame)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if bad := l.Verify(frame); bad != 0 {
			t.Fatalf("frame %d: checksum errors %v", i, bad)
		}
		sig, ok := FrameSignature(frame)
		if !ok {
			t.Fatalf("frame %d: no signature", i)
		}
		if want := uint32(i / 4); sig.Sequence != want {
			t.Errorf("frame %d: sequence %d, want %d (per flow, 4 flows)", i, sig.Sequence, want)
		}
	}
	d.Pool().Free(pkts[:n])
}

func TestSourceRunsOnTheWorkersAndEndsOnItsOwn(t *testing.T) {
	d := fake.New(1, 1, 8192)
	w, err := workers.New(workers.Config{CPUs: []int{-1}, Driver: d, MaxIdleSleep: 200 * time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	packetio.NewService(d, w)
	src, err := NewSource(testProgram(t), d.Pool(), Pacing{Rate: 2e6, Burst: 32, Frames: 20000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.AddSource("0", src); err != nil {
		t.Fatal(err)
	}
	select {
	case <-src.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("run did not finish: %+v", src.Counters())
	}
	w.RemoveSource(src)
	if c := src.Counters(); c.Actual != 20000 {
		t.Fatalf("counters %+v, want 20000 sent", c)
	}
	if got := d.Ports()[1].Stats().RxPackets; got != 20000 {
		t.Fatalf("peer received %d, want 20000", got)
	}
}

func TestPacingValidationNamesTheField(t *testing.T) {
	for _, c := range []struct {
		p     Pacing
		field string
	}{
		{Pacing{Rate: 0, Burst: 1}, "load.rate"},
		{Pacing{Rate: 1, Burst: 0}, "load.burst_size"},
		{Pacing{Rate: 1, Burst: 999}, "load.burst_size"},
		{Pacing{Rate: 1, Burst: 1, Duration: -1}, "duration"},
	} {
		err := c.p.Validate()
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Path != c.field {
			t.Errorf("%+v: %v, want an error naming %s", c.p, err, c.field)
		}
	}
}

func TestPullDoesNotAllocate(t *testing.T) {
	d := fake.New(1, 1, 4096)
	src, err := NewSource(testProgram(t), d.Pool(), Pacing{Rate: 1e12, Burst: 32}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pkts := make([]*packetio.Mbuf, packetio.BurstSize)
	allocs := testing.AllocsPerRun(200, func() {
		n := src.Pull(pkts)
		d.Pool().Free(pkts[:n])
	})
	if allocs != 0 {
		t.Fatalf("Pull allocates %v per burst", allocs)
	}
}

// recordingSink keeps a copy of every frame it gets.
type recordingSink struct {
	mu     sync.Mutex
	frames [][]byte
}

func (r *recordingSink) Push(_ uint16, pkts []*packetio.Mbuf) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range pkts {
		r.frames = append(r.frames, bytes.Clone(m.Data()))
	}
}

// A source on the workers over the fake driver (whose ports have TxRefill,
// so the source Fills buffers allocated with the previous burst's
// transmission, or, without signatures, sends its prebuilt frames) sends
// what Writer.Next writes, in order, and gives every buffer back.
func TestSourceOnTheWorkersSendsWhatTheWriterWrites(t *testing.T) {
	for _, c := range []struct {
		name     string
		sig      bool
		flows    int
		lengths  []int
		prebuilt bool
		recycled bool
	}{
		{"signatures, fill", true, 5, []int{64, 100, 64, 300}, false, false},
		{"signatures, one length, recycled", true, 5, []int{64}, false, true},
		{"signatures, 1000 flows, recycled (ring of 1000: flow words stay)", true, 1000, []int{64}, false, true},
		{"signatures, 3000 flows, recycled (ring of 128: flow words rewritten)", true, 3000, []int{64}, false, true},
		{"signatures, one flow, 1518 bytes, recycled", true, 1, []int{1518}, false, true},
		{"no signatures, prebuilt", false, 5, []int{64, 100, 64, 300}, true, false},
		{"no signatures, one flow, prebuilt", false, 1, []int{64, 100, 64, 300}, true, false},
		{"no signatures, too many flows to prebuild", false, prebuiltMax + 1, []int{64, 100, 64, 300}, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := fake.New(1, 1, 4096)
			w, err := workers.New(workers.Config{CPUs: []int{-1}, Driver: d, MaxIdleSleep: 200 * time.Microsecond})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Start(); err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			packetio.NewService(d, w)
			var mods []Modifier
			if c.flows > 1 {
				mods = []Modifier{{Name: "source_port", Sequence: &ValueSequence{Count: uint32(c.flows), Start: Uint(100)}}}
			}
			def := udpDef(nil, mods, TieZip)
			def.Length = Length{List: c.lengths}
			if c.sig {
				def.Signature = &SignatureConfig{Format: FormatOpenperfd, StreamID: 9}
			}
			p, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
			if err != nil {
				t.Fatal(err)
			}
			rec := &recordingSink{}
			w.AddSink("1", rec)
			clk := &fakeClock{}
			clk.advance(time.Hour)
			tick := func() int64 { return clk.ns.Add(int64(time.Microsecond)) }
			const frames = 3000
			src, err := NewSource(p, d.Pool(), Pacing{Rate: 1e12, Burst: 32, Frames: frames}, tick)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.AddSource("0", src); err != nil {
				t.Fatal(err)
			}
			select {
			case <-src.Done():
			case <-time.After(10 * time.Second):
				t.Fatalf("run did not finish: %+v", src.Counters())
			}
			if (src.pre != nil) != c.prebuilt || (src.rec != nil) != c.recycled {
				t.Errorf("prebuilt %v recycled %v, want %v and %v", src.pre != nil, src.rec != nil, c.prebuilt, c.recycled)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				rec.mu.Lock()
				n := len(rec.frames)
				rec.mu.Unlock()
				if n == frames || time.Now().After(deadline) {
					break
				}
				time.Sleep(time.Millisecond)
			}
			w.RemoveSource(src)
			w.RemoveSink("1", rec)
			if len(rec.frames) != frames {
				t.Fatalf("peer got %d frames, want %d", len(rec.frames), frames)
			}
			ref := p.NewWriter()
			buf := make([]byte, p.MaxFrameLen())
			for i, got := range rec.frames {
				var ts uint64
				if c.sig {
					sig, _ := FrameSignature(got)
					ts = sig.Timestamp
				}
				n, _ := ref.Next(buf, ts)
				if !bytes.Equal(got, buf[:n]) {
					t.Fatalf("frame %d:\n got %x\nwant %x", i, got, buf[:n])
				}
			}
			if !slices.Equal(ref.seq, src.w.seq) {
				t.Errorf("sequence numbers differ from the writer's")
			}
			if st := d.Pool().Stats(); st.Used != 0 {
				t.Errorf("%d buffers still in use after RemoveSource", st.Used)
			}
		})
	}
}

// Recycled buffers still held by a port are skipped: the source takes
// fresh ones from the pool, and every packet is still the writer's.
func TestRecycledBuffersHeldByThePortAreSkipped(t *testing.T) {
	d := fake.New(1, 1, 4096)
	def := udpDef(nil, []Modifier{{Name: "source_port", List: vals(1, 2, 3)}}, TieZip)
	def.Length = Length{Fixed: 200}
	def.Signature = &SignatureConfig{Format: FormatOpenperfd, StreamID: 5}
	p, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
	if err != nil {
		t.Fatal(err)
	}
	var clk atomic.Int64
	src, err := NewSource(p, d.Pool(), Pacing{Rate: 1e12, Burst: packetio.TxBurstSize}, func() int64 { return clk.Add(1e9) })
	if err != nil {
		t.Fatal(err)
	}
	ref := p.NewWriter()
	buf := make([]byte, p.MaxFrameLen())
	var held [][]*packetio.Mbuf
	check := func(pkts []*packetio.Mbuf) {
		for i, m := range pkts {
			sig, _ := FrameSignature(m.Data())
			n, _ := ref.Next(buf, sig.Timestamp)
			if !bytes.Equal(m.Data(), buf[:n]) {
				t.Fatalf("packet %d differs from the writer's", i)
			}
		}
	}
	// The schedule's first pull has one packet.
	first := make([]*packetio.Mbuf, packetio.TxBurstSize)
	if n := src.Pull(first); n != 1 {
		t.Fatalf("first pull: %d", n)
	}
	check(first[:1])
	held = append(held, first[:1])
	// Hold every burst: after the ring's worth, buffers come fresh.
	for range 2 * recycleRing / packetio.TxBurstSize {
		pkts := make([]*packetio.Mbuf, packetio.TxBurstSize)
		n := src.Pull(pkts)
		if n != len(pkts) {
			t.Fatalf("pulled %d", n)
		}
		check(pkts)
		held = append(held, pkts)
	}
	if src.rec == nil {
		t.Fatal("not recycling")
	}
	// Let the port drop everything; the ring is used again.
	for _, pkts := range held {
		d.Pool().Free(pkts)
	}
	pkts := make([]*packetio.Mbuf, packetio.TxBurstSize)
	n := src.Pull(pkts)
	check(pkts[:n])
	if pkts[0] != src.rec.bufs[0] {
		t.Errorf("ring not reused after the port dropped its references")
	}
	d.Pool().Free(pkts[:n])
	src.Release()
	if st := d.Pool().Stats(); st.Used != 0 {
		t.Errorf("%d buffers in use after Release", st.Used)
	}
}

// BenchmarkPullRecycled is the Go part of the signed transmit path: a
// source of 1000 signed 64-byte flows over the fake pool, whose recycled
// buffers a stand-in for the driver releases after every burst.
func BenchmarkPullRecycled(b *testing.B) {
	for _, flows := range []int{1, 1000} {
		b.Run(fmt.Sprintf("%dflows", flows), func(b *testing.B) {
			d := fake.New(1, 1, 8192)
			def := udpDef(nil, nil, TieZip)
			if flows > 1 {
				def = udpDef(nil, []Modifier{{Name: "source_port", Sequence: &ValueSequence{Count: uint32(flows), Start: Uint(1024)}}}, TieZip)
			}
			def.Length = Length{Fixed: 64}
			def.Signature = &SignatureConfig{Format: FormatOpenperfd, StreamID: 1}
			p, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
			if err != nil {
				b.Fatal(err)
			}
			src, err := NewSource(p, d.Pool(), Pacing{Rate: 1e15, Burst: packetio.TxBurstSize}, nil)
			if err != nil {
				b.Fatal(err)
			}
			pkts := make([]*packetio.Mbuf, packetio.TxBurstSize)
			n := 0
			for b.Loop() {
				k := src.Pull(pkts)
				for _, m := range pkts[:k] {
					if r := m.Refcnt(); r > 1 {
						m.SetRefcnt(r - 1) // the driver's free of a shared buffer
					} else {
						d.Pool().Free([]*packetio.Mbuf{m})
					}
				}
				n += k
			}
			if src.rec == nil {
				b.Fatal("not the recycled path")
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/packet")
		})
	}
}

// A stopped run intended at least what it sent: the source never sends a
// packet before it is due, though the last pull's time it publishes may
// lag the real one by up to lastEvery.
func TestStoppedRunIntendedWhatItSent(t *testing.T) {
	src, clk, pull := pacedSource(t, Pacing{Rate: 1e6, Burst: 32})
	for range 50 {
		clk.advance(time.Microsecond) // one packet due per pull, under lastEvery
		src.Sent(pull(), 0)
	}
	src.Stop()
	if c := src.Counters(); c.Actual != 50 || c.Intended < c.Actual {
		t.Fatalf("stopped after sending %d of 50: intended %d", c.Actual, c.Intended)
	}
}

// TestWindowStartsAndEndsOnTime: a source handed over before its StartAt
// sends nothing until then, paces from StartAt (no catch-up for the time
// it waited), and ends at StopAt without sending what was due after it.
func TestWindowStartsAndEndsOnTime(t *testing.T) {
	const start, stop = 1_010_000_000, 1_020_000_000 // 10 ms and 20 ms after the fake clock's 1 s
	src, clk, pull := pacedSource(t, Pacing{Rate: 1000, Burst: 32, StartAt: start, StopAt: stop})
	if got, ok := src.NextDue(); got != 10*time.Millisecond || !ok {
		t.Fatalf("NextDue before the window %v %v, want 10 ms", got, ok)
	}
	if n := pull(); n != 0 {
		t.Fatalf("%d packets before the window", n)
	}
	clk.advance(10*time.Millisecond + 500*time.Microsecond) // 0.5 ms into the window
	if n := pull(); n != 1 {
		t.Fatalf("0.5 ms into the window: %d packets, want 1 (due at its start)", n)
	}
	clk.advance(9 * time.Millisecond) // 9.5 ms in: packets 1..9 are due
	if n := pull(); n != 9 {
		t.Fatalf("9.5 ms in: %d more, want 9", n)
	}
	clk.advance(5 * time.Millisecond) // past the end: packet 10 is due at 10 ms, not before
	if n := pull(); n != 0 {
		t.Fatalf("past StopAt: %d packets", n)
	}
	select {
	case <-src.Done():
	default:
		t.Fatal("source not done after StopAt")
	}
}

// TestWindowEndSendsWhatWasDueBeforeIt: a worker that comes back after
// StopAt (descheduled) still sends the packets due before it, and no more.
func TestWindowEndSendsWhatWasDueBeforeIt(t *testing.T) {
	src, clk, pull := pacedSource(t, Pacing{Rate: 1000, Burst: 4, StartAt: 1_000_000_000, StopAt: 1_010_000_000})
	if n := pull(); n != 1 {
		t.Fatalf("at the start: %d", n)
	}
	clk.advance(50 * time.Millisecond)
	total := 1
	for n := pull(); n > 0; n = pull() {
		total += n
	}
	if total != 10 {
		t.Fatalf("sent %d, want the 10 due in the 10 ms window", total)
	}
	select {
	case <-src.Done():
	default:
		t.Fatal("source not done")
	}
}
