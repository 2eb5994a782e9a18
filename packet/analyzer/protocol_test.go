package analyzer

import (
	"testing"

	"github.com/openperfd/openperfd/packet/protocol"
)

func TestTunnelCountersCountEachTunnelAndItsPayload(t *testing.T) {
	eth := protocol.Ethernet{Dst: macB, Src: macA}
	ip4 := protocol.IPv4{TTL: 64, Src: ip4A, Dst: ip4B}
	ip6 := protocol.IPv6{HopLimit: 64, Src: [16]byte{0x20, 1, 15: 1}, Dst: [16]byte{0x20, 1, 15: 2}}
	udp := protocol.UDP{SrcPort: 1, DstPort: 2}
	tcp := protocol.TCP{SrcPort: 1, DstPort: 2}
	vxlan := []protocol.Header{protocol.UDP{SrcPort: 5000, DstPort: protocol.PortVXLAN}, protocol.Custom{Data: []byte{8, 0, 0, 0, 0, 0, 1, 0}}}
	gre := protocol.IPv4{TTL: 64, Src: ip4A, Dst: ip4B, Protocol: protocol.ProtoGRE, Keep: protocol.KeepType}
	frames := []struct {
		frame []byte
		times int
	}{
		{build(t, 128, append(append([]protocol.Header{eth, ip4}, vxlan...), eth, ip4, udp)...), 3},
		{build(t, 160, append(append([]protocol.Header{eth, ip4}, vxlan...), eth, protocol.VLAN{VID: 5}, ip6, tcp)...), 1},
		{build(t, 96, eth, gre, protocol.Custom{Data: []byte{0, 0, 0x08, 0}}, ip4, tcp), 2},
		{build(t, 160, eth, ip4, protocol.UDP{DstPort: protocol.PortGeneve}, protocol.Custom{Data: []byte{0, 0, 0x65, 0x58, 0, 0, 0, 0}}, eth, ip6, udp), 1},
		{build(t, 96, eth, ip4, protocol.UDP{DstPort: protocol.PortMPLSInUDP}, protocol.MPLS{Label: 16}, ip4, udp), 1},
		{build(t, 64, eth, ip4, udp), 4},
	}
	a := newStarted(t, Config{ProtocolCounters: CountEthernet | CountIP | CountTransport | countTunnels})
	pu := newPusher(a, 0)
	for _, f := range frames {
		for range f.times {
			pu.add(f.frame)
		}
	}
	pu.flush()
	got := a.Results().Protocol
	want := ProtocolResults{
		Ethernet:       EthernetCounters{IP: 12},
		IP:             IPCounters{IPv4: 12},
		Transport:      TransportCounters{UDP: 10, NonFragmented: 2},
		InnerEthernet:  InnerEthernetCounters{Ether: 4, VLAN: 1},
		InnerIP:        IPCounters{IPv4: 6, IPv6: 2},
		InnerTransport: TransportCounters{UDP: 5, TCP: 3},
	}
	want.Tunnel[protocol.TunnelVXLAN] = 4
	want.Tunnel[protocol.TunnelGRE] = 2
	want.Tunnel[protocol.TunnelGeneve] = 1
	want.Tunnel[protocol.TunnelMPLSInUDP] = 1
	if got != want {
		t.Fatalf("protocol counters\n got %+v\nwant %+v", got, want)
	}
	// Only the groups asked for: the tunnel group alone.
	b := newStarted(t, Config{ProtocolCounters: CountTunnel})
	pb := newPusher(b, 0)
	pb.add(frames[0].frame)
	pb.flush()
	var only ProtocolResults
	only.Tunnel[protocol.TunnelVXLAN] = 1
	if got := b.Results().Protocol; got != only {
		t.Fatalf("tunnel only: %+v", got)
	}
}
