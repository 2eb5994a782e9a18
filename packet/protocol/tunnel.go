package protocol

import "encoding/binary"

// Tunnel is the encapsulation a frame carries, as DPDK's packet types
// (RTE_PTYPE_TUNNEL_*, the classes OpenPerf counts) define it: by the IP
// protocol, GRE protocol type or UDP port of the outermost IP packet. The
// values are DPDK's tunnel field, so counters may be indexed by them.
type Tunnel uint8

// Tunnels, in DPDK's order.
const (
	TunnelNone      Tunnel = iota
	TunnelIP               // IP protocol 4 or 41 (IP in IP)
	TunnelGRE              // IP protocol 47, other than NVGRE and MPLS in GRE
	TunnelVXLAN            // UDP destination port 4789
	TunnelNVGRE            // GRE protocol type 0x6558 (Ethernet in GRE)
	TunnelGeneve           // UDP destination port 6081
	TunnelGRENAT           // a NIC's class for GRE, VXLAN or Teredo; never found in software
	TunnelGTPC             // UDP source or destination port 2123
	TunnelGTPU             // UDP destination port 2152
	TunnelESP              // IP protocol 50
	TunnelL2TP             // UDP destination port 1701, or IP protocol 115
	TunnelVXLANGPE         // UDP destination port 4790
	TunnelMPLSInGRE        // GRE protocol type 0x8847 or 0x8848
	TunnelMPLSInUDP        // UDP destination port 6635
	NumTunnels             // the number of values, for arrays indexed by Tunnel
)

// Tunnel protocol numbers, ports and header values.
const (
	ProtoGRE  = 47
	ProtoESP  = 50
	ProtoL2TP = 115

	PortVXLAN     = 4789
	PortVXLANGPE  = 4790
	PortGeneve    = 6081
	PortMPLSInUDP = 6635
	PortGTPC      = 2123
	PortGTPU      = 2152
	PortL2TP      = 1701

	EtherTypeTEB = 0x6558 // transparent Ethernet bridging: Ethernet in GRE or Geneve

	VXLANLen = 8 // VXLAN and VXLAN-GPE header
)

// IPPayload returns what the IP header at span ip carries: the protocol
// after its IPv6 extension headers, the index of the span after those
// headers, and whether the packet is a fragment (other than an IPv6 atomic
// fragment), which carries no header of that protocol.
func (l *Layers) IPPayload(frame []byte, ip int) (proto uint8, next int, fragment bool) {
	s := &l.Spans[ip]
	h := frame[s.Off:]
	if s.Kind == KindIPv4 {
		return h[IPv4ProtocolOff], ip + 1, binary.BigEndian.Uint16(h[6:])&0x3fff != 0
	}
	proto = h[IPv6NextHeaderOff]
	next = ip + 1
	for ; next < int(l.N) && l.Spans[next].Kind == KindIPv6Ext; next++ {
		h = frame[l.Spans[next].Off:]
		if proto == ProtoFragment && binary.BigEndian.Uint16(h[2:])&0xfff9 != 0 {
			return proto, next + 1, true
		}
		proto = h[0]
	}
	return proto, next, false
}

// DecodeInner finds the tunnel of the frame outer describes and parses what
// the tunnel carries into l, which it overwrites: an Ethernet frame, an IP
// packet or an MPLS label stack, its spans at their offsets in frame. l has
// no spans when there is no tunnel, when the tunnel's payload is of a kind
// Parse does not know, or when the tunnel header is cut short. Like Parse it
// neither allocates nor panics; it costs a few comparisons when there is no
// tunnel.
func (l *Layers) DecodeInner(frame []byte, outer *Layers) Tunnel {
	*l = Layers{}
	ip := -1
	for i := 1; i < int(outer.N); i++ {
		if k := outer.Spans[i].Kind; k == KindIPv4 || k == KindIPv6 {
			ip = i
			break
		}
	}
	if ip < 0 {
		return TunnelNone
	}
	proto, next, fragment := outer.IPPayload(frame, ip)
	if fragment {
		return TunnelNone
	}
	last := &outer.Spans[next-1]
	end := int(outer.Spans[ip].End)
	t, k, off := tunnelOf(frame[:end], proto, int(last.Off)+int(last.Len))
	if k != KindNone {
		_ = l.decode(frame, off, end, k) // on error, the headers parsed so far
	}
	return t
}

// tunnelOf classifies the IP payload of protocol proto at b[off:] and
// returns the kind of the tunnel's payload and where it starts (KindNone
// when unknown or cut short).
func tunnelOf(b []byte, proto uint8, off int) (Tunnel, Kind, int) {
	switch proto {
	case ProtoIPv4:
		return TunnelIP, KindIPv4, off
	case ProtoIPv6:
		return TunnelIP, KindIPv6, off
	case ProtoGRE:
		return gre(b, off)
	case ProtoESP:
		return TunnelESP, KindNone, off
	case ProtoL2TP:
		return TunnelL2TP, KindNone, off
	case ProtoUDP:
		return udpTunnel(b, off)
	}
	return TunnelNone, KindNone, off
}

// gre classifies a GRE header; one with the reserved bit 14 set is not
// GRE to DPDK either.
func gre(b []byte, off int) (Tunnel, Kind, int) {
	if off+4 > len(b) {
		return TunnelNone, KindNone, off
	}
	flags := binary.BigEndian.Uint16(b[off:])
	if flags&0x4000 != 0 {
		return TunnelNone, KindNone, off
	}
	n := 4
	for _, bit := range [...]uint16{0x8000, 0x2000, 0x1000} { // checksum, key, sequence
		if flags&bit != 0 {
			n += 4
		}
	}
	switch binary.BigEndian.Uint16(b[off+2:]) {
	case EtherTypeTEB:
		return after(TunnelNVGRE, b, off, n, KindEthernet)
	case EtherTypeMPLS, EtherTypeMPLSMulticast:
		return after(TunnelMPLSInGRE, b, off, n, KindMPLS)
	case EtherTypeIPv4:
		return after(TunnelGRE, b, off, n, KindIPv4)
	case EtherTypeIPv6:
		return after(TunnelGRE, b, off, n, KindIPv6)
	}
	return TunnelGRE, KindNone, off
}

// udpTunnel classifies a UDP datagram at b[off:] by its ports.
func udpTunnel(b []byte, off int) (Tunnel, Kind, int) {
	if off+UDPLen > len(b) {
		return TunnelNone, KindNone, off
	}
	src := binary.BigEndian.Uint16(b[off+UDPSrcPortOff:])
	dst := binary.BigEndian.Uint16(b[off+UDPDstPortOff:])
	off += UDPLen
	switch dst {
	case PortVXLAN:
		return after(TunnelVXLAN, b, off, VXLANLen, KindEthernet)
	case PortVXLANGPE:
		var k Kind
		if off+VXLANLen <= len(b) {
			switch b[off+3] { // next protocol
			case 1:
				k = KindIPv4
			case 2:
				k = KindIPv6
			case 3:
				k = KindEthernet
			case 5:
				k = KindMPLS
			}
		}
		return after(TunnelVXLANGPE, b, off, VXLANLen, k)
	case PortGeneve:
		return geneve(b, off)
	case PortMPLSInUDP:
		return TunnelMPLSInUDP, KindMPLS, off
	case PortGTPU:
		return gtpu(b, off)
	case PortL2TP:
		return TunnelL2TP, KindNone, off
	case PortGTPC:
		return TunnelGTPC, KindNone, off
	}
	if src == PortGTPC {
		return TunnelGTPC, KindNone, off
	}
	return TunnelNone, KindNone, off
}

// geneve reads a Geneve header: 8 bytes, its options, and the EtherType of
// what follows.
func geneve(b []byte, off int) (Tunnel, Kind, int) {
	if off+8 > len(b) {
		return TunnelGeneve, KindNone, off
	}
	n := 8 + int(b[off]&0x3f)*4
	var k Kind
	switch binary.BigEndian.Uint16(b[off+2:]) {
	case EtherTypeTEB:
		k = KindEthernet
	case EtherTypeIPv4:
		k = KindIPv4
	case EtherTypeIPv6:
		k = KindIPv6
	}
	return after(TunnelGeneve, b, off, n, k)
}

// gtpu reads a GTPv1-U header: an IP packet follows a G-PDU's 8 bytes, 12
// when any of the E, S and PN flags is set, and its extension headers.
func gtpu(b []byte, off int) (Tunnel, Kind, int) {
	if off+8 > len(b) || b[off]>>5 != 1 || b[off+1] != 0xff {
		return TunnelGTPU, KindNone, off
	}
	n := 8
	if b[off]&0x07 != 0 {
		n = 12
		if off+n > len(b) {
			return TunnelGTPU, KindNone, off
		}
		if b[off]&0x04 != 0 { // extension headers: length in 4-byte units, next type last
			for next := b[off+n-1]; next != 0; next = b[off+n-1] {
				if off+n >= len(b) || b[off+n] == 0 {
					return TunnelGTPU, KindNone, off
				}
				n += int(b[off+n]) * 4
				if off+n > len(b) {
					return TunnelGTPU, KindNone, off
				}
			}
		}
	}
	var k Kind
	if off+n < len(b) {
		switch b[off+n] >> 4 {
		case 4:
			k = KindIPv4
		case 6:
			k = KindIPv6
		}
	}
	return after(TunnelGTPU, b, off, n, k)
}

// after returns t, k and the offset past t's header of n bytes at off, or
// KindNone when the header is cut short.
func after(t Tunnel, b []byte, off, n int, k Kind) (Tunnel, Kind, int) {
	if off+n > len(b) {
		return t, KindNone, off
	}
	return t, k, off + n
}
