package generator

import (
	"fmt"
	"math/rand/v2"
	"testing"

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
		for _, tcp := range []bool{false, true} {
			for pad := range 2 {
				p, err := Compile([]TrafficDefinition{sweepDef(mods, tcp, pad)}, OrderRoundRobin, 0)
				if err != nil {
					t.Fatal(err)
				}
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
					func() { release(pkts) }, fmt.Sprintf("flows %d tcp %v pad %d", flows, tcp, pad))
				src.Release()
			}
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
	def.Signature = &SignatureConfig{StreamID: 1}
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
