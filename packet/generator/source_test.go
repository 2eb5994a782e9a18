package generator

import (
	"errors"
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
	def.Signature = &SignatureConfig{StreamID: 7}
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

func TestPacingReleasesPacketsOnSchedule(t *testing.T) {
	d := fake.New(1, 1, 4096)
	clk := &fakeClock{}
	clk.ns.Store(1_000_000_000)
	src, err := NewSource(testProgram(t), d.Pool(), Pacing{Rate: 1000, Burst: 8}, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	pkts := make([]*packetio.Mbuf, packetio.BurstSize)
	pull := func() int {
		n := src.Pull(pkts)
		d.Pool().Free(pkts[:n])
		return n
	}
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
