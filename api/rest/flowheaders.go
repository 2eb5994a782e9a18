package rest

import (
	"encoding/binary"
	"net"
	"net/netip"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/packet/protocol"
)

// flowHeadersJSON decodes a flow's stored header bytes (the first frame's,
// up to its payload) into OpenPerf's list of headers: each header Parse
// knows as its protocol, without the length and checksum fields (they
// differ from packet to packet); IPv6 extension and ICMP headers, and all
// bytes after the first header Parse could not take, as base64 `unknown`.
func flowHeadersJSON(b []byte) []gen.PacketAnalyzerFlowHeader {
	l, _ := protocol.Parse(b) // on error, the headers parsed so far
	out := make([]gen.PacketAnalyzerFlowHeader, 0, l.N+1)
	end := 0
	for _, s := range l.Headers() {
		h := b[s.Off : s.Off+s.Len]
		var fh gen.PacketAnalyzerFlowHeader
		switch s.Kind {
		case protocol.KindEthernet:
			fh.Ethernet = ethernetJSON(h)
		case protocol.KindVLAN:
			fh.Vlan = vlanJSON(h)
		case protocol.KindMPLS:
			fh.Mpls = mplsJSON(h)
		case protocol.KindIPv4:
			fh.Ipv4 = ipv4JSON(h)
		case protocol.KindIPv6:
			fh.Ipv6 = ipv6JSON(h)
		case protocol.KindTCP:
			fh.Tcp = tcpJSON(h)
		case protocol.KindUDP:
			fh.Udp = &gen.PacketProtocolUdp{Source: i32(binary.BigEndian.Uint16(h)), Destination: i32(binary.BigEndian.Uint16(h[2:]))}
		default:
			fh.Unknown = bytesOf(h)
		}
		out = append(out, fh)
		end = int(s.Off) + int(s.Len)
	}
	if end < len(b) {
		out = append(out, gen.PacketAnalyzerFlowHeader{Unknown: bytesOf(b[end:])})
	}
	return out
}

func bytesOf(b []byte) *[]byte {
	c := append([]byte(nil), b...)
	return &c
}

func i32[T uint8 | uint16 | uint32](v T) *int32 {
	x := int32(v)
	return &x
}

func strOf(s string) *string { return &s }

func ethernetJSON(h []byte) *gen.PacketProtocolEthernet {
	return &gen.PacketProtocolEthernet{
		Destination: strOf(net.HardwareAddr(h[protocol.EthernetDstOff:6]).String()),
		Source:      strOf(net.HardwareAddr(h[protocol.EthernetSrcOff:12]).String()),
		EtherType:   i32(binary.BigEndian.Uint16(h[protocol.EthernetTypeOff:])),
	}
}

func vlanJSON(h []byte) *gen.PacketProtocolVlan {
	tci := binary.BigEndian.Uint16(h[protocol.VLANTCIOff:])
	v := &gen.PacketProtocolVlan{Id: i32(tci & 0xfff), EtherType: i32(binary.BigEndian.Uint16(h[protocol.VLANTypeOff:]))}
	dei := tci&0x1000 != 0
	v.DropEligible = &dei
	for name, pcp := range vlanPriorities {
		if uint16(pcp) == tci>>13 {
			v.Priority = &name
		}
	}
	return v
}

func mplsJSON(h []byte) *gen.PacketProtocolMpls {
	e := binary.BigEndian.Uint32(h)
	bos := e&0x100 != 0
	return &gen.PacketProtocolMpls{Label: i32(e >> 12), TrafficClass: i32(uint8(e>>9) & 7), BottomOfStack: &bos, Ttl: i32(uint8(e))}
}

func ipv4JSON(h []byte) *gen.PacketProtocolIpv4 {
	frag := binary.BigEndian.Uint16(h[6:])
	v := &gen.PacketProtocolIpv4{
		Version: i32(h[0] >> 4), HeaderLength: i32(h[0] & 0xf * 4), Dscp: i32(h[1] >> 2),
		Identification: i32(binary.BigEndian.Uint16(h[protocol.IPv4IDOff:])),
		FragmentOffset: i32(frag & 0x1fff * 8), TimeToLive: i32(h[protocol.IPv4TTLOff]),
		Protocol:    i32(h[protocol.IPv4ProtocolOff]),
		Source:      strOf(netip.AddrFrom4([4]byte(h[protocol.IPv4SrcOff:])).String()),
		Destination: strOf(netip.AddrFrom4([4]byte(h[protocol.IPv4DstOff:])).String()),
	}
	for name, ecn := range ecnValues {
		if ecn == h[1]&3 {
			v.Ecn = &name
		}
	}
	flags := []gen.PacketProtocolIpv4Flags{}
	for _, f := range []struct {
		bit  uint16
		name gen.PacketProtocolIpv4Flags
	}{{0x8000, gen.PacketProtocolIpv4FlagsEvilBit}, {0x4000, gen.PacketProtocolIpv4FlagsDontFragment},
		{0x2000, gen.PacketProtocolIpv4FlagsMoreFragments}} {
		if frag&f.bit != 0 {
			flags = append(flags, f.name)
		}
	}
	v.Flags = &flags
	return v
}

func ipv6JSON(h []byte) *gen.PacketProtocolIpv6 {
	w := binary.BigEndian.Uint32(h)
	return &gen.PacketProtocolIpv6{
		Version: i32(uint8(w >> 28)), TrafficClass: i32(uint8(w >> 20)), FlowLabel: i32(w & 0xfffff),
		NextHeader: i32(h[protocol.IPv6NextHeaderOff]), HopLimit: i32(h[protocol.IPv6HopLimitOff]),
		Source:      strOf(netip.AddrFrom16([16]byte(h[protocol.IPv6SrcOff:])).String()),
		Destination: strOf(netip.AddrFrom16([16]byte(h[protocol.IPv6DstOff:])).String()),
	}
}

func tcpJSON(h []byte) *gen.PacketProtocolTcp {
	seq, ack := int64(binary.BigEndian.Uint32(h[protocol.TCPSeqOff:])), int64(binary.BigEndian.Uint32(h[protocol.TCPAckOff:]))
	bits := binary.BigEndian.Uint16(h[12:]) // data offset, reserved, flags
	t := &gen.PacketProtocolTcp{
		Source: i32(binary.BigEndian.Uint16(h[protocol.TCPSrcPortOff:])), Destination: i32(binary.BigEndian.Uint16(h[protocol.TCPDstPortOff:])),
		Sequence: &seq, Ack: &ack, DataOffset: i32(h[12] >> 4 * 4), Reserved: i32(uint8(bits>>9) & 7),
		Window: i32(binary.BigEndian.Uint16(h[14:])), UrgentPointer: i32(binary.BigEndian.Uint16(h[18:])),
	}
	flags := []gen.PacketProtocolTcpFlags{}
	for _, name := range tcpFlagOrder {
		if bits&tcpFlags[name] != 0 {
			flags = append(flags, name)
		}
	}
	t.Flags = &flags
	return t
}

// tcpFlagOrder is the spec's order of the flags, high bit first.
var tcpFlagOrder = []gen.PacketProtocolTcpFlags{gen.PacketProtocolTcpFlagsNs, gen.PacketProtocolTcpFlagsCwr,
	gen.PacketProtocolTcpFlagsEce, gen.PacketProtocolTcpFlagsUrg, gen.PacketProtocolTcpFlagsAck,
	gen.PacketProtocolTcpFlagsPsh, gen.PacketProtocolTcpFlagsRst, gen.PacketProtocolTcpFlagsSyn,
	gen.PacketProtocolTcpFlagsFin}
