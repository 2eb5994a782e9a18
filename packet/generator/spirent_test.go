package generator

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packet/signature/spirent"
	"github.com/openperfd/openperfd/packetio"
)

// Spirent signatures are the default: every stack's packets, through
// Writer.Next and the burst writer, parse, verify and carry the Spirent
// signature at the frame's end, with PRBS-23 fill that checks clean.
func TestSpirentSignaturesParseVerifyAndDecode(t *testing.T) {
	stacks := sigStacks()
	stacks["eth/ipv4/udp runt"] = udpDef(nil, []Modifier{{Name: "source_port", List: vals(1, 0xffff, 0x8000)}}, TieZip).Headers
	fills := []Fill{{Kind: FillZero}, {Kind: FillConstant, Value: 0xabcd}, {Kind: FillPRBS}}
	for name, hs := range stacks {
		for fi, fill := range fills {
			def := TrafficDefinition{Headers: slices.Clone(hs),
				Length:    Length{List: []int{64 + 60, 65 + 60, 1518, 127 + 60}},
				Signature: &SignatureConfig{StreamID: 1000, Latency: Latency(fi & 1), Fill: fill}}
			if name == "eth/ipv4/udp runt" {
				def.Length = Length{List: []int{64, 65, 66}}
			}
			p, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			d := &p.Definitions[0]
			hlen := 0
			for _, h := range hs {
				hlen += h.Header.Len()
			}
			w := p.NewWriter()
			buf := make([]byte, p.MaxFrameLen())
			check := func(i int, frame []byte) spirent.Signature {
				t.Helper()
				l, err := protocol.Parse(frame)
				if err != nil || l.Verify(frame) != 0 {
					t.Fatalf("%s fill %d: packet %d: parse %v, checksums fail %v", name, fi, i, err, l.Verify(frame))
				}
				sig, ok := FrameSpirent(frame)
				flags := uint8(fi & 1)
				if fill.Kind == FillPRBS {
					flags |= spirent.FlagPRBS
					pay := frame[min(hlen, len(frame)-SpirentLen) : len(frame)-SpirentLen]
					if e := spirent.PRBS23BitErrors(pay, hlen); e != 0 {
						t.Fatalf("%s: packet %d: PRBS-23 fill has %d bit errors", name, i, e)
					}
				}
				if !ok || sig.Flags != flags {
					t.Fatalf("%s: packet %d: signature %+v %v, want flags %d", name, i, sig, ok, flags)
				}
				return sig
			}
			for i := range int(d.Cycle) + 3 {
				ts := rand.Uint64N(1 << 62)
				n, g := w.Next(buf, ts)
				sig := check(i, buf[:n])
				want := spirent.Signature{StreamID: 1000 + uint32(g), Sequence: w.Sequence(g) - 1, Timestamp: w.spirentTicks(ts), Flags: sig.Flags}
				if sig != want {
					t.Fatalf("%s: packet %d: signature %+v, want %+v", name, i, sig, want)
				}
			}
			// The burst writer continues the same flows and sequences.
			next := w.cur.pos[0].flow
			pkts := heapBurst(packetio.TxBurstSize)
			k := w.fill(pkts, 12345)
			for i, m := range pkts[:k] {
				sig := check(i, m.Data())
				if g := (next + i) % d.FlowCount; sig.StreamID != 1000+uint32(g) || sig.Sequence+1 != w.Sequence(g) && d.FlowCount > k {
					t.Fatalf("%s: burst packet %d: signature %+v, want stream %d", name, i, sig, 1000+g)
				}
			}
		}
	}
}

// Each frame of a burst is stamped with the burst's time plus the wire
// time of the frames before it (its length + 24 bytes at the link
// speed), and with end-of-frame latency, plus its own.
func TestSpirentTimestampsSpreadOverTheBurstAtLinkSpeed(t *testing.T) {
	for _, lat := range []Latency{LatencyStartOfFrame, LatencyEndOfFrame} {
		def := udpDef(nil, []Modifier{{Name: "source_port", Sequence: &ValueSequence{Count: 3, Start: Uint(1024)}}}, TieZip)
		def.Length = Length{List: []int{64, 1518, 200}}
		def.Signature = &SignatureConfig{StreamID: 1, Latency: lat}
		p, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
		if err != nil {
			t.Fatal(err)
		}
		w := p.NewWriter()
		w.SetLinkSpeed(10_000) // 0.8 ns per byte
		const ts = 1_700_000_000_123_456_789
		pkts := heapBurst(packetio.TxBurstSize)
		k := w.fill(pkts, ts)
		if k != len(pkts) {
			t.Fatalf("wrote %d of %d", k, len(pkts))
		}
		var ps uint64 // wire time before the frame
		for i, m := range pkts {
			sig, ok := FrameSpirent(m.Data())
			octets := uint64(m.Len() + 24)
			at := ps
			if lat == LatencyEndOfFrame {
				at += octets * 800
			}
			if want := (w.spirentTicks(ts) + at/2500) & spirent.TimestampMask; !ok || sig.Timestamp != want {
				t.Fatalf("latency %d: frame %d: timestamp %d %v, want %d", lat, i, sig.Timestamp, ok, want)
			}
			ps += octets * 800
		}
	}
}

func TestSpirentFillDoesNotAllocate(t *testing.T) {
	def := udpDef(nil, []Modifier{{Name: "source_port", Sequence: &ValueSequence{Count: 100, Start: Uint(1024)}}}, TieZip)
	def.Length = Length{List: []int{64, 1518}}
	def.Signature = &SignatureConfig{StreamID: 1, Fill: Fill{Kind: FillPRBS}}
	p, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
	if err != nil {
		t.Fatal(err)
	}
	w := p.NewWriter()
	w.SetLinkSpeed(25_000)
	pkts := heapBurst(packetio.BurstSize)
	if a := testing.AllocsPerRun(1000, func() { w.fill(pkts, 1) }); a != 0 {
		t.Errorf("fill allocates %v", a)
	}
}
