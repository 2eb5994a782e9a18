package analyzer

import (
	"testing"

	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/packetio/fake"
)

// Frames of one burst from a port that stamps each frame (a NIC's
// receive timestamps; here the fake driver's, through the port's
// FrameTimes as the workers pass them) get their own receive times:
// inter-arrival is the stamps' differences and latency each frame's stamp
// minus its tx timestamp, where PushAt would have counted from the
// burst's time plus wire times.
func TestFramesOfABurstGetTheirOwnStamps(t *testing.T) {
	prog := compile(t, udpDef(128, 9, generator.FillZero))
	def := &prog.Definitions[0]
	const t0 = uint64(1 << 50)
	// Gaps unlike 128-byte frames' wire time at 10 Gbps (122 ns), and
	// latencies that differ frame by frame.
	gaps := []uint64{0, 1000, 250, 5000, 40, 3000, 777, 1200}
	lats := []uint64{500, 700, 650, 900, 520, 800, 610, 730}
	stamps := make([]int64, len(gaps))
	at := t0
	for i, g := range gaps {
		at += g
		stamps[i] = int64(at)
	}

	d := fake.New(1, 1, 256)
	next := 0
	d.SetRxStamps(func(*packetio.Mbuf) int64 { next++; return stamps[next-1] })
	from, to := d.Ports()[0], d.Ports()[1]
	tx := make([]*packetio.Mbuf, len(stamps))
	if !d.Pool().Alloc(tx) {
		t.Fatal("no buffers")
	}
	for i, m := range tx {
		m.SetLen(def.Write(m.Room(), 0, 0, uint32(i), uint64(stamps[i])-lats[i]))
	}
	if n := from.TxBurst(0, tx); n != len(tx) {
		t.Fatalf("sent %d of %d", n, len(tx))
	}
	rx := make([]*packetio.Mbuf, packetio.BurstSize)
	n := to.RxBurst(0, rx, 0)
	times := to.(packetio.FrameTimes).RxFrameTimes(0)
	if n != len(tx) || len(times) != n {
		t.Fatalf("received %d frames with %d times, want %d with one each", n, len(times), len(tx))
	}

	// A software clock far from the stamps: any use of it shows.
	soft := &testClock{now: 7}
	a := newStarted(t, Config{FlowCounters: Latency | InterarrivalTime | AdvancedSequencing, Clock: soft.read, LinkSpeedMbps: 10000})
	a.PushTimes(1, rx[:n], times)
	d.Pool().Free(rx[:n])

	want := func(vals []uint64) Summary {
		s := Summary{Count: uint64(len(vals)), Min: int64(vals[0]), Max: int64(vals[0])}
		for _, v := range vals {
			s.Min, s.Max, s.Total = min(s.Min, int64(v)), max(s.Max, int64(v)), s.Total+int64(v)
		}
		return s
	}
	f := flowByStream(t, a.Results(), 9).Counters
	check := func(name string, got *Summary, want Summary) {
		t.Helper()
		if got == nil || got.Count != want.Count || got.Min != want.Min || got.Max != want.Max || got.Total != want.Total {
			t.Errorf("%s = %+v, want count %d min %d max %d total %d", name, got, want.Count, want.Min, want.Max, want.Total)
		}
	}
	check("latency", f.Latency, want(lats))
	check("inter-arrival", f.Interarrival, want(gaps[1:]))
	if f.FrameCount != uint64(n) || f.Sequence.InOrder != uint64(n) {
		t.Errorf("frames %d, in order %d; want %d", f.FrameCount, f.Sequence.InOrder, n)
	}
}

// A burst with its frames' own times allocates nothing either, once its
// flows exist.
func TestNoAllocationsPerTimedBurst(t *testing.T) {
	p := compile(t, udpDef(128, 1, generator.FillPRBS, 1, 2, 3, 4), udpDef(128, 0, generator.FillZero, 5, 6))
	a := newStarted(t, Config{
		ProtocolCounters: CountEthernet | CountIP | CountTransport,
		FlowCounters:     FrameLength | InterarrivalTime | JitterIPDV | JitterRFC | Latency | AdvancedSequencing | PRBS,
		FlowDigests:      DigestInterarrivalTime | DigestLatency,
	})
	burst := make([]*packetio.Mbuf, packetio.BurstSize)
	times := make([]int64, packetio.BurstSize)
	w := p.NewWriter()
	for i := range burst {
		m := packetio.NewHeapMbuf(make([]byte, packetio.MbufHeadroom+p.MaxFrameLen()))
		n, _ := w.Next(m.Room(), 0)
		m.SetLen(n)
		burst[i] = m
	}
	next := int64(1 << 50)
	stamp := func() {
		for i := range times {
			next += 100
			times[i] = next
		}
	}
	stamp()
	a.PushTimes(0, burst, times) // warm-up: flows and lane made
	if n := testing.AllocsPerRun(100, func() {
		stamp()
		a.PushTimes(0, burst, times)
	}); n != 0 {
		t.Fatalf("%v allocations per burst", n)
	}
}
