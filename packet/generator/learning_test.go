package generator

import (
	"net/netip"
	"testing"

	"github.com/openperfd/openperfd/packet/protocol"
)

// Each flow takes the MAC its own IP destination resolved to, whatever
// else the definition modifies and however its modifiers tie.
func TestApplyLearntGivesEachFlowItsDestinationsMAC(t *testing.T) {
	dsts := []Value{IPv4Addr([4]byte{10, 0, 0, 1}), IPv4Addr([4]byte{10, 0, 0, 2}), IPv4Addr([4]byte{10, 0, 0, 3})}
	macs := map[netip.Addr][6]byte{
		netip.AddrFrom4([4]byte{10, 0, 0, 1}): {2, 0, 0, 0, 0, 1},
		netip.AddrFrom4([4]byte{10, 0, 0, 2}): {2, 0, 0, 0, 0, 2},
		netip.AddrFrom4([4]byte{10, 0, 0, 3}): {2, 0, 0, 0, 0, 2}, // behind the same router as .2
	}
	for _, tie := range []Tie{TieCartesian, TieZip} {
		t.Run(tie.String(), func(t *testing.T) {
			def := TrafficDefinition{Tie: tie, Length: Length{Fixed: 128}, Headers: []HeaderDef{
				{Header: protocol.Ethernet{Src: [6]byte{2, 0, 0, 0, 0, 9}}},
				{Header: protocol.IPv4{Version: 4, TTL: 64}, Modifiers: []Modifier{
					{Name: "destination", Kind: KindIPv4, List: dsts},
					{Name: "source", Kind: KindIPv4, List: []Value{IPv4Addr([4]byte{10, 1, 0, 1}), IPv4Addr([4]byte{10, 1, 0, 2})}}},
					Tie: TieCartesian},
				{Header: protocol.UDP{}, Modifiers: []Modifier{
					{Name: "destination_port", List: []Value{Uint(1), Uint(2), Uint(3), Uint(4)}}}},
			}}
			sp := Spec{Traffic: []TrafficDefinition{def}, Ethernet: []EthernetDefault{{Def: 0, Header: 0, Dst: true}}}
			prog, err := Compile(sp.Traffic, sp.Order, 0)
			if err != nil {
				t.Fatal(err)
			}
			defs, err := learnDefs(sp)
			if err != nil {
				t.Fatal(err)
			}
			l := newLearning(defs)
			l.macs = macs
			g := &gen{spec: sp, prog: prog, flows: prog.Flows()}
			s := &Service{opts: Options{FlowLimit: 1 << 16}}
			if err := s.applyLearnt(g, l); err != nil {
				t.Fatal(err)
			}
			if g.prog.Flows() != prog.Flows() {
				t.Fatalf("%d flows after learning, want %d", g.prog.Flows(), prog.Flows())
			}
			cd := &g.prog.Definitions[0]
			frame := make([]byte, g.prog.MaxFrameLen())
			ports := map[uint16]bool{}
			for f := range cd.FlowCount {
				cd.Write(frame, f, 0, 0, 0)
				dst := netip.AddrFrom4([4]byte(frame[protocol.EthernetLen+protocol.IPv4DstOff:]))
				if got, want := [6]byte(frame), macs[dst]; got != want {
					t.Errorf("flow %d to %s: MAC % x, want % x", f, dst, got, want)
				}
				ports[uint16(frame[36])<<8|uint16(frame[37])] = true
			}
			if len(ports) != 4 {
				t.Errorf("destination ports %v: learning changed the flows", ports)
			}
		})
	}
}
