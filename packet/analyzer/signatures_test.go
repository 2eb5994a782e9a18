package analyzer

import (
	"testing"
	"time"

	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packet/signature/spirent"
)

// spirentDef is udpDef with the generator's default signature: Spirent,
// PRBS-23 fill.
func spirentDef(length int, stream uint32) generator.TrafficDefinition {
	d := udpDef(length, 0, 0)
	d.Signature = &generator.SignatureConfig{StreamID: stream, Fill: generator.Fill{Kind: generator.FillPRBS}}
	return d
}

// A burst of 64 Spirent-signed frames all sent at one time: each frame's
// receive time is the burst's plus the wire time of the frames before it
// at the link speed, so the inter-arrival inside the burst is one frame's
// wire time (not 0) and the latency spreads over the burst; the sequence
// is in order and the PRBS-23 fill clean, on runt (64-byte) and longer
// frames.
func TestSpirentBurstSpreadsOverItsWireTime(t *testing.T) {
	for _, length := range []int{64, 128} {
		d := &compile(t, spirentDef(length, 42)).Definitions[0]
		c := &testClock{now: uint64(time.Now().UnixNano())}
		a := newStarted(t, Config{FlowCounters: Latency | InterarrivalTime | AdvancedSequencing | PRBS, Clock: c.read,
			LinkSpeedMbps: 10_000})
		p := newPusher(a, 0)
		buf := make([]byte, 2048)
		const lat = 5000 // ns before the burst's receive time
		tx := spirent.Ticks(int64(c.now) - lat - a.epoch)
		for i := range 64 {
			n := d.Write(buf, 0, 0, uint32(i), tx)
			p.add(buf[:n])
		}
		p.flush()
		f := flowByStream(t, a.Results(), 42)
		wire := int64(length-4+24) * 800 // ps: 0.8 ns per byte at 10 Gbps
		ia, l := f.Counters.Interarrival, f.Counters.Latency
		// Receive times are whole ns: each gap is the wire time, rounded.
		if f.Counters.FrameCount != 64 || ia == nil || ia.Min < wire/1000 || ia.Max > wire/1000+1 || ia.Total != 63*wire/1000 {
			t.Fatalf("length %d: %d frames, inter-arrival %+v, want %d ps each", length, f.Counters.FrameCount, ia, wire)
		}
		// The tx time is truncated to 2.5 ns ticks.
		if l == nil || l.Min < lat || l.Min > lat+3 || l.Max-l.Min != 63*wire/1000 {
			t.Fatalf("length %d: latency %+v, want from %d over %d ps", length, l, lat, 63*wire)
		}
		if s := f.Counters.Sequence; s == nil || s.InOrder != 64 || s.Dropped != 0 {
			t.Fatalf("length %d: sequence %+v", length, s)
		}
		if pr := f.Counters.PRBS; pr == nil || pr.BitErrors != 0 || (length > 64 && pr.Octets == 0) {
			t.Fatalf("length %d: PRBS %+v", length, pr)
		}
	}
}

// A flipped payload bit under a Spirent signature counts as a PRBS-23 bit
// error (the flip leaves the UDP checksum wrong too).
func TestSpirentPRBSBitErrorsCount(t *testing.T) {
	d := &compile(t, spirentDef(256, 7)).Definitions[0]
	c := &testClock{now: uint64(time.Now().UnixNano())}
	a := newStarted(t, Config{FlowCounters: PRBS, Clock: c.read})
	p := newPusher(a, 0)
	buf := make([]byte, 2048)
	n := d.Write(buf, 0, 0, 0, 0)
	buf[100] ^= 0x10
	p.add(buf[:n])
	p.flush()
	f := flowByStream(t, a.Results(), 7)
	if pr := f.Counters.PRBS; pr == nil || pr.BitErrors != 1 || pr.FrameErrors != 1 {
		t.Fatalf("PRBS %+v, want 1 bit error in 1 frame", pr)
	}
}
