package generator

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/openperfd/openperfd/packet/checksum"
	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packet/signature"
	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/packetio/fake"
)

// The ring's fused loop (signRing) writes what the reference writes, for
// random stream ids, timestamps and per-flow sequence numbers, over UDP and
// TCP, with the checksum at an even and an odd offset from the trailer,
// for a ring whose buffers keep their flows (5 flows) and one whose
// buffers change flows every time round (3000 flows). The sweep is long
// enough for trailers whose folded total is 0xffff (the exact path) to
// occur in every configuration.
func TestRingSignatureChecksumSweep(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, flows := range []int{5, 3000} {
		mods := []Modifier{{Name: "source_port", Sequence: &ValueSequence{Count: uint32(flows), Start: Uint(1024)}}}
		for _, sc := range sweepPrograms(t, mods) {
			p := sc.p
			drv := fake.New(1, 1, 1<<14)
			src, err := NewSource(p, drv.Pool(), Pacing{Rate: 1e15, Burst: packetio.TxBurstSize}, nil)
			if err != nil {
				t.Fatal(err)
			}
			pkts := make([]*packetio.Mbuf, packetio.TxBurstSize)
			release := func(pkts []*packetio.Mbuf) {
				for _, m := range pkts {
					m.SetRefcnt(m.Refcnt() - 1) // the port's free of a shared buffer
				}
			}
			release(pkts[:src.Pull(pkts)]) // builds the ring
			if src.rec == nil {
				t.Fatal("no ring")
			}
			checkSweep(t, rng, src.w, pkts, func(ts uint64) int { return src.signRing(pkts, ts) },
				func() { release(pkts) }, fmt.Sprintf("flows %d %s", flows, sc.name))
			src.Release()
		}
	}
}

// The ring's references outlast a top-up: after more laps than one credit
// lasts, every buffer still goes out (none is taken for held), and Release
// gives every buffer back to the pool with its count at 1.
func TestRingCreditsLastPastATopUp(t *testing.T) {
	mods := []Modifier{{Name: "source_port", Sequence: &ValueSequence{Count: 5, Start: Uint(1024)}}}
	def := udpDef(nil, mods, TieZip)
	def.Length = Length{Fixed: 64}
	def.Signature = &SignatureConfig{Format: FormatOpenperfd, StreamID: 1}
	p, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
	if err != nil {
		t.Fatal(err)
	}
	drv := fake.New(1, 1, 4096)
	src, err := NewSource(p, drv.Pool(), Pacing{Rate: 1e15, Burst: packetio.TxBurstSize}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pkts := make([]*packetio.Mbuf, packetio.TxBurstSize)
	k := src.Pull(pkts)
	if src.rec == nil {
		t.Fatal("no ring")
	}
	ring := len(src.rec.bufs)
	total := 0
	for total < (prebuiltCredit+3)*ring {
		for _, m := range pkts[:k] {
			m.SetRefcnt(m.Refcnt() - 1) // the port's free of a shared buffer
		}
		total += k
		if k = src.signRing(pkts, 1); k != len(pkts) {
			t.Fatalf("after %d packets the ring gave %d buffers", total, k)
		}
	}
	for _, m := range pkts[:k] {
		m.SetRefcnt(m.Refcnt() - 1)
	}
	bufs := src.rec.bufs
	src.Release()
	for i, m := range bufs {
		if r := m.Refcnt(); r != 1 {
			t.Fatalf("buffer %d: %d references after Release", i, r)
		}
	}
	if st := drv.Pool().Stats(); st.Used != 0 {
		t.Errorf("%d buffers still in use after Release", st.Used)
	}
}

// signExact, the burst writers' path for trailers whose folded total is
// 0xffff, is exact for every trailer: over a frame holding its flow's
// words and checksum, the trailer and signExact make what the reference
// writes. (The sweeps rarely reach it: it decides only when the flow's
// checksum is at the ones'-complement edge.)
func TestSignExactMatchesTheReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	mods := []Modifier{{Name: "source_port", Sequence: &ValueSequence{Count: 5, Start: Uint(1024)}}}
	for _, sc := range sweepPrograms(t, mods) {
		p := sc.p
		d := &p.Definitions[0]
		tm := &d.tmpls[d.lenTmpl[0]]
		n := len(tm.frame)
		want := make([]byte, p.MaxFrameLen())
		for range 1 << 14 {
			stream, seq, ts, flow := rng.Uint32(), rng.Uint32(), rng.Uint64(), rng.IntN(d.FlowCount)
			d.Signature.StreamID = stream
			refWrite(d, want, flow, 0, seq, ts)

			got := append([]byte(nil), tm.frame...)
			d.setFlow(tm, got, flow)
			c := (ts&signature.TimestampMask)<<8 | uint64(signature.Marker|d.flags&(signature.FlagEndOfFrame|signature.FlagPRBS))
			c8 := c << 8
			a := uint64(stream+uint32(flow))<<32 | uint64(seq)
			h := signature.Check(a, signature.TimeHash(c8))
			fp := unsafe.Pointer(unsafe.SliceData(got))
			putTrailer(fp, uintptr(n-SignatureLen), a, c8, h)
			signExact(fp, a, h, &sigParams{csum: c8>>32 + c8&0xffffffff, co: tm.sigCsum, odd: tm.sigOdd, udp: tm.sigUDP})
			if !bytes.Equal(got, want[:n]) {
				t.Fatalf("%s stream %#x seq %d flow %d:\n got %x\nwant %x", sc.name, stream, seq, flow, got, want[:n])
			}
		}
	}
}

// signRing's rare branch: sequence numbers searched out so that the
// trailer's folded total is 0xffff still give the reference's frames.
func TestRingRareTotals(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, sc := range sweepPrograms(t, nil) {
		p := sc.p
		d := &p.Definitions[0]
		tm := &d.tmpls[d.lenTmpl[0]]
		drv := fake.New(1, 1, 4096)
		src, err := NewSource(p, drv.Pool(), Pacing{Rate: 1e15, Burst: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		pkts := make([]*packetio.Mbuf, 1)
		release := func() { pkts[0].SetRefcnt(pkts[0].Refcnt() - 1) }
		if src.Pull(pkts) != 1 || src.rec == nil {
			t.Fatal("no ring")
		}
		release()
		want := make([]byte, p.MaxFrameLen())
		mul := uint64(256)
		if tm.sigOdd {
			mul = 1
		}
		for range 20 {
			stream, ts := rng.Uint32(), rng.Uint64()
			d.Signature.StreamID = stream
			c := (ts&signature.TimestampMask)<<8 | uint64(signature.Marker|d.flags&(signature.FlagEndOfFrame|signature.FlagPRBS))
			c8 := c << 8
			th := signature.TimeHash(c8)
			cs := uint64(checksum.Fold(c8>>32 + c8&0xffffffff))
			q := rng.Uint32()
			for {
				h := signature.Check(uint64(stream)<<32|uint64(q), th)
				if checksum.Fold((uint64(stream)+cs+uint64(q)+uint64(h))*mul) == 0xffff {
					break
				}
				q++
			}
			src.w.seq[0] = q
			if src.signRing(pkts, ts) != 1 {
				t.Fatal("the ring gave no buffer")
			}
			n := refWrite(d, want, 0, 0, q, ts)
			if got := pkts[0].Data(); !bytes.Equal(got, want[:n]) {
				t.Fatalf("%s stream %#x seq %d:\n got %x\nwant %x", sc.name, stream, q, got, want[:n])
			}
			release()
		}
		src.Release()
	}
}

// The ring's Spirent loop (signRingSpirent) writes what the burst writer
// writes for the same burst: bit for bit, over UDP and TCP, at 64 bytes
// (the signature covers the UDP checksum, which the cheater bytes keep
// right), 65 (a one-byte overlap), 90 and 1518, with PRBS fill and
// start- and end-of-frame timestamps, for rings whose buffers keep their flows (5)
// and change them every lap (3000), with random stream ids, timestamps
// and sequence numbers.
func TestRingSpirentMatchesTheBurstWriter(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, recycle := range []bool{false, true} {
		for _, flows := range []int{5, 3000} {
			testRingSpirent(t, rng, recycle, flows)
		}
	}
}

// testRingSpirent is TestRingSpirentMatchesTheBurstWriter for one ring:
// from the packet pool with references, or from a recycle pool (whose
// buffers all go back once the ports have freed them).
func testRingSpirent(t *testing.T, rng *rand.Rand, recycle bool, flows int) {
	for _, tcp := range []bool{false, true} {
		for _, size := range []int{64, 65, 90, 1518} {
			mods := []Modifier{{Name: "source_port", Sequence: &ValueSequence{Count: uint32(flows), Start: Uint(1024)}}}
			def := udpDef(nil, mods, TieZip)
			if tcp {
				def.Headers = []HeaderDef{
					{Header: protocol.Ethernet{Dst: macB, Src: macA}},
					{Header: protocol.IPv4{TTL: 64, Src: ip4A, Dst: ip4B}},
					{Header: protocol.TCP{SrcPort: 1, DstPort: 2}, Modifiers: mods},
				}
			}
			if tcp && size < 78 {
				size += 14 // the least a TCP frame with a signature takes, and one more
			}
			def.Length = Length{Fixed: size}
			lat := LatencyEndOfFrame
			if size%2 == 0 {
				lat = LatencyStartOfFrame
			}
			def.Signature = &SignatureConfig{StreamID: 7, Fill: Fill{Kind: FillPRBS}, Latency: lat}
			compile := func() *Program {
				p, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			label := fmt.Sprintf("recycle %v flows %d tcp %v size %d", recycle, flows, tcp, size)
			drv := fake.New(1, 1, 1<<14)
			src, err := NewSource(compile(), drv.Pool(), Pacing{Rate: 1e15, Burst: packetio.TxBurstSize}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if recycle {
				src.SetRecyclePool(drv.RecyclePool())
			}
			src.w.SetLinkSpeed(10_000)
			ref := compile().NewWriter()
			ref.SetLinkSpeed(10_000)
			pkts := make([]*packetio.Mbuf, packetio.TxBurstSize)
			release := drv.Pool().Free     // the port's free
			release(pkts[:src.Pull(pkts)]) // builds the ring
			if src.rec == nil || (src.rec.own != nil) != recycle {
				t.Fatalf("%s: no ring, or not from the pool asked for", label)
			}
			want := heapBurst(packetio.TxBurstSize)
			for range 200 {
				stream, ts := rng.Uint32(), rng.Uint64()>>8
				src.w.p.Definitions[0].Signature.StreamID = stream
				ref.p.Definitions[0].Signature.StreamID = stream
				for f := range flows {
					q := rng.Uint32()
					src.w.seq[f], ref.seq[f] = q, q
				}
				ref.cur.pos[0].flow = src.w.cur.pos[0].flow
				src.w.wire = 0
				if k := src.signRingSpirent(pkts, ts); k != len(pkts) {
					t.Fatalf("%s: the ring gave %d buffers", label, k)
				}
				if k := ref.fill(want, ts); k != len(want) {
					t.Fatalf("%s: the writer wrote %d", label, k)
				}
				for i := range pkts {
					if got, w := pkts[i].Data(), want[i].Data(); !bytes.Equal(got, w) {
						t.Fatalf("%s stream %#x ts %d frame %d:\n got %x\nwant %x", label, stream, ts, i, got, w)
					}
				}
				release(pkts)
			}
			src.Release()
			if st := drv.RecyclePool().Stats(); recycle && st.Used != 0 {
				t.Fatalf("%s: %d recycle buffers not back", label, st.Used)
			}
		}
	}
}

// A ring from a recycle pool skips the buffers a port still holds (they
// go out with one reference each, and the ring takes only those the
// port's free marked back), and the buffers a port holds when the source
// lets the ring go return to the pool once the port frees them.
func TestRecycleRingWaitsForHeldBuffers(t *testing.T) {
	mods := []Modifier{{Name: "source_port", Sequence: &ValueSequence{Count: 4, Start: Uint(1024)}}}
	def := udpDef(nil, mods, TieZip)
	def.Length = Length{Fixed: 64}
	def.Signature = &SignatureConfig{StreamID: 1}
	p, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
	if err != nil {
		t.Fatal(err)
	}
	drv := fake.New(1, 1, 4096)
	rp := drv.RecyclePool()
	src, err := NewSource(p, drv.Pool(), Pacing{Rate: 1e15, Burst: packetio.TxBurstSize}, nil)
	if err != nil {
		t.Fatal(err)
	}
	src.SetRecyclePool(rp)
	pkts := make([]*packetio.Mbuf, packetio.TxBurstSize)
	var held []*packetio.Mbuf // a port keeps them
	for len(held) < 32 {
		held = append(held, pkts[:src.Pull(pkts)]...)
	}
	if src.rec == nil || src.rec.own == nil {
		t.Fatal("no ring from the recycle pool")
	}
	ring := len(src.rec.bufs)
	for _, m := range held {
		if m.Refcnt() != 1 {
			t.Fatalf("a sent buffer has %d references, want 1", m.Refcnt())
		}
	}
	// The rest of the ring goes, then the ring's next buffer is held:
	// the burst is made of fresh buffers from the packet pool.
	rest := make([]*packetio.Mbuf, packetio.TxBurstSize)
	sent := 0
	for sent < ring-len(held) {
		k := src.Pull(rest[:min(len(rest), ring-len(held)-sent)])
		for _, m := range rest[:k] {
			if m.PoolID() == drv.Pool().(*fake.Pool).ID() {
				t.Fatalf("a fresh buffer after %d of the ring's %d free ones", sent, ring-len(held))
			}
		}
		sent += k
		drv.Pool().Free(rest[:k])
	}
	k := 0
	for k == 0 {
		k = src.Pull(rest)
	}
	for _, m := range rest[:k] {
		if m.PoolID() != drv.Pool().(*fake.Pool).ID() {
			t.Fatal("the ring sent a buffer a port holds")
		}
	}
	drv.Pool().Free(rest[:k])
	src.Release()
	if st := rp.Stats(); st.Used != int64(len(held)) {
		t.Fatalf("after Release %d buffers out, want the %d a port holds", st.Used, len(held))
	}
	drv.Pool().Free(held)
	if st := rp.Stats(); st.Used != 0 {
		t.Fatalf("%d buffers out after the port freed them", st.Used)
	}
}
