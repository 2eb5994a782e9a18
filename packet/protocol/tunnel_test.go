package protocol

import "testing"

// greHeader is a GRE header with the given flags and protocol type, and 4
// bytes per optional field the flags announce.
func greHeader(flags, proto uint16) Custom {
	b := []byte{byte(flags >> 8), byte(flags), byte(proto >> 8), byte(proto)}
	for _, bit := range []uint16{0x8000, 0x2000, 0x1000} {
		if flags&bit != 0 {
			b = append(b, 0, 0, 0, 0)
		}
	}
	return Custom{b}
}

// tunnelFrames are frames of each tunnel DecodeInner knows, with the inner
// headers it must find.
func tunnelFrames(t testing.TB) []struct {
	name  string
	frame []byte
	want  Tunnel
	inner []Kind
} {
	gre := IPv4{Protocol: ProtoGRE, Keep: KeepType}
	mpls := MPLS{Label: 16}
	type tc = struct {
		name  string
		frame []byte
		want  Tunnel
		inner []Kind
	}
	return []tc{
		{"vxlan", frameOf(t, 120, tunnelStackFixed(), nil), TunnelVXLAN, []Kind{KindEthernet, KindIPv4, KindUDP}},
		{"vxlan over ipv6 to vlan tcp", frameOf(t, 160, Stack{Ethernet{}, IPv6{}, UDP{DstPort: PortVXLAN}, Custom{make([]byte, 8)},
			Ethernet{}, VLAN{}, IPv6{}, TCP{}}, nil), TunnelVXLAN, []Kind{KindEthernet, KindVLAN, KindIPv6, KindTCP}},
		{"vxlan cut short", frameOf(t, 60, Stack{Ethernet{}, IPv4{}, UDP{DstPort: PortVXLAN}, Custom{make([]byte, 4)}}, func(b []byte) {
			b[17] = 46 // IPv4 total length: IP+UDP+4
		}), TunnelVXLAN, nil},
		{"gre ipv4", frameOf(t, 100, Stack{Ethernet{}, gre, greHeader(0, EtherTypeIPv4), IPv4{}, UDP{}}, nil),
			TunnelGRE, []Kind{KindIPv4, KindUDP}},
		{"gre with key and sequence, ipv6", frameOf(t, 120, Stack{Ethernet{}, gre, greHeader(0x3000, EtherTypeIPv6), IPv6{}, TCP{}}, nil),
			TunnelGRE, []Kind{KindIPv6, KindTCP}},
		{"gre reserved bit", frameOf(t, 100, Stack{Ethernet{}, gre, greHeader(0x4000, EtherTypeIPv4), IPv4{}}, nil), TunnelNone, nil},
		{"nvgre", frameOf(t, 120, Stack{Ethernet{}, gre, greHeader(0x2000, EtherTypeTEB), Ethernet{}, IPv4{}, UDP{}}, nil),
			TunnelNVGRE, []Kind{KindEthernet, KindIPv4, KindUDP}},
		{"mpls in gre", frameOf(t, 100, Stack{Ethernet{}, gre, greHeader(0, EtherTypeMPLS), mpls, IPv4{}, UDP{}}, nil),
			TunnelMPLSInGRE, []Kind{KindMPLS, KindIPv4, KindUDP}},
		{"geneve with options", frameOf(t, 140, Stack{Ethernet{}, IPv4{}, UDP{DstPort: PortGeneve},
			Custom{[]byte{2, 0, 0x65, 0x58, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}}, Ethernet{}, IPv4{}, UDP{}}, nil),
			TunnelGeneve, []Kind{KindEthernet, KindIPv4, KindUDP}},
		{"geneve ipv4", frameOf(t, 100, Stack{Ethernet{}, IPv4{}, UDP{DstPort: PortGeneve},
			Custom{[]byte{0, 0, 0x08, 0, 0, 0, 0, 0}}, IPv4{}, UDP{}}, nil), TunnelGeneve, []Kind{KindIPv4, KindUDP}},
		{"mpls in udp", frameOf(t, 100, Stack{Ethernet{}, IPv4{}, UDP{DstPort: PortMPLSInUDP}, mpls, IPv6{}, UDP{}}, nil),
			TunnelMPLSInUDP, []Kind{KindMPLS, KindIPv6, KindUDP}},
		{"vxlan-gpe ipv4", frameOf(t, 100, Stack{Ethernet{}, IPv4{}, UDP{DstPort: PortVXLANGPE},
			Custom{[]byte{0x0c, 0, 0, 1, 0, 0, 0, 0}}, IPv4{}, TCP{}}, nil), TunnelVXLANGPE, []Kind{KindIPv4, KindTCP}},
		{"gtp-u", frameOf(t, 100, Stack{Ethernet{}, IPv4{}, UDP{DstPort: PortGTPU},
			Custom{[]byte{0x30, 0xff, 0, 28, 0, 0, 0, 1}}, IPv4{}, UDP{}}, nil), TunnelGTPU, []Kind{KindIPv4, KindUDP}},
		{"gtp-u with an extension header", frameOf(t, 100, Stack{Ethernet{}, IPv4{}, UDP{DstPort: PortGTPU},
			Custom{[]byte{0x34, 0xff, 0, 36, 0, 0, 0, 1, 0, 0, 0, 0x85, 1, 0, 0, 0}}, IPv4{}, UDP{}}, nil), TunnelGTPU, []Kind{KindIPv4, KindUDP}},
		{"gtp-c from its port", frameOf(t, 80, Stack{Ethernet{}, IPv4{}, UDP{SrcPort: PortGTPC, DstPort: 40000}}, nil), TunnelGTPC, nil},
		{"l2tp", frameOf(t, 80, Stack{Ethernet{}, IPv4{}, UDP{DstPort: PortL2TP}}, nil), TunnelL2TP, nil},
		{"esp", frameOf(t, 80, Stack{Ethernet{}, IPv4{Protocol: ProtoESP, Keep: KeepType}}, nil), TunnelESP, nil},
		{"ip in ip", frameOf(t, 100, Stack{Ethernet{}, VLAN{}, IPv6{}, IPv4{}, UDP{}}, nil), TunnelIP, []Kind{KindIPv4, KindUDP}},
		{"plain udp", frameOf(t, 80, Stack{Ethernet{}, IPv4{}, UDP{DstPort: 53}}, nil), TunnelNone, nil},
		{"plain tcp", frameOf(t, 80, Stack{Ethernet{}, IPv6{}, TCP{DstPort: PortVXLAN}}, nil), TunnelNone, nil},
		{"fragment", frameOf(t, 80, Stack{Ethernet{}, IPv4{Flags: IPv4MoreFragments}, UDP{DstPort: PortVXLAN}}, nil), TunnelNone, nil},
		{"arp", frameOf(t, 60, Stack{Ethernet{EtherType: EtherTypeARP, Keep: KeepType}}, nil), TunnelNone, nil},
	}
}

func TestDecodeInnerFindsEachTunnel(t *testing.T) {
	for _, c := range tunnelFrames(t) {
		t.Run(c.name, func(t *testing.T) {
			outer, _ := Parse(c.frame)
			var in Layers
			if got := in.DecodeInner(c.frame, &outer); got != c.want {
				t.Fatalf("tunnel %d, want %d", got, c.want)
			}
			var kinds []Kind
			for _, s := range in.Headers() {
				kinds = append(kinds, s.Kind)
			}
			if len(kinds) != len(c.inner) {
				t.Fatalf("inner %v, want %v", kinds, c.inner)
			}
			for i := range kinds {
				if kinds[i] != c.inner[i] {
					t.Fatalf("inner %v, want %v", kinds, c.inner)
				}
			}
		})
	}
}

func TestDecodeInnerDoesNotAllocate(t *testing.T) {
	frame := frameOf(t, 120, tunnelStackFixed(), nil)
	outer, _ := Parse(frame)
	var in Layers
	if n := testing.AllocsPerRun(100, func() { in.DecodeInner(frame, &outer) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
