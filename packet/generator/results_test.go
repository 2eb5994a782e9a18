package generator

import (
	"testing"

	"github.com/openperfd/openperfd/packet/protocol"
)

func TestClassifyCountsAnIPTunnelAndItsPayload(t *testing.T) {
	hs := func(h ...protocol.Header) TrafficDefinition {
		d := TrafficDefinition{}
		for _, x := range h {
			d.Headers = append(d.Headers, HeaderDef{Header: x})
		}
		return d
	}
	got := classify([]TrafficDefinition{
		hs(protocol.Ethernet{}, protocol.IPv4{}, protocol.IPv6{}, protocol.TCP{}),
		hs(protocol.Ethernet{}, protocol.IPv6{}, protocol.UDP{}),
		hs(protocol.Ethernet{}, protocol.IPv4{Flags: protocol.IPv4MoreFragments}, protocol.IPv4{}),
	})
	want := []protoClass{
		{eth: "ip", ip: "ipv4", transport: "non_fragmented", tunnel: "ip", innerIP: "ipv6", innerTransport: "tcp"},
		{eth: "ip", ip: "ipv6", transport: "udp"},
		{eth: "ip", ip: "ipv4", transport: "fragmented"},
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("definition %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if !ProtocolGroup("inner_transport") || ProtocolGroup("bogus") {
		t.Fatal("ProtocolGroup")
	}
}
