package protocol

import "encoding/binary"

// Parse describes the headers of a received Ethernet frame (without FCS):
// Ethernet, any number of VLAN tags (0x8100, 0x88a8, 0x9100), an MPLS label
// stack (followed by IPv4 or IPv6 when the first nibble says so), IPv4 or
// IPv6 (with hop-by-hop, routing, destination-options and fragment extension
// headers), IP-in-IP, and UDP, TCP, ICMP or ICMPv6. It stops at the first
// header it does not know, and after the IP header of a fragment (other
// than an IPv6 atomic fragment): fragments carry no L4 header to parse.
//
// Each span's End is the end of the innermost IP packet around it (IP total
// or payload length, capped at the frame; Truncated says when capped), so
// Ethernet padding is not payload. On error the Layers holds the headers
// parsed so far and PayloadOff is where parsing stopped.
//
// Parse does not allocate and never panics.
func Parse(frame []byte) (Layers, error) {
	var l Layers
	err := l.Decode(frame)
	return l, err
}

// Decode is Parse into l, which it overwrites.
func (l *Layers) Decode(frame []byte) error {
	*l = Layers{}
	if len(frame) > MaxFrameLen {
		return ErrFrameTooLong
	}
	if len(frame) < EthernetLen {
		return ErrTruncated
	}
	return l.decode(frame, 0, len(frame), KindEthernet)
}

// decode parses frame[off:end] into l (which holds no spans yet) starting
// with a header of kind k: the outer frame, or the frame or packet inside
// a tunnel (DecodeInner).
func (l *Layers) decode(frame []byte, off, end int, k Kind) error {
	p := parser{b: frame, off: off, end: end}
	var err error
	for k != KindNone {
		if int(l.N) == MaxLayers {
			err = ErrTooManyLayers
			break
		}
		var n int
		var next Kind
		if n, next, err = p.one(k); err != nil {
			break
		}
		l.push(k, p.off, n, p.end)
		p.off += n
		k = next
	}
	l.PayloadOff, l.PayloadEnd = uint16(p.off), uint16(max(p.end, p.off))
	l.Truncated = p.truncated || err == ErrTruncated
	return err
}

// parser is the state of one Decode: the frame, the offset of the next
// header, the end of the innermost IP packet (or of the frame), and the IP
// protocol number that announced the next header.
type parser struct {
	b         []byte
	off, end  int
	proto     uint8
	truncated bool
}

// one checks the header of kind k at p.off and returns its length and the
// kind of the header after it (KindNone to stop).
func (p *parser) one(k Kind) (n int, next Kind, err error) {
	if p.off+4 > p.end {
		return 0, KindNone, ErrTruncated
	}
	h := p.b[p.off:p.end]
	switch k {
	case KindEthernet:
		if len(h) < EthernetLen {
			return 0, KindNone, ErrTruncated
		}
		return EthernetLen, kindOfEtherType(binary.BigEndian.Uint16(h[EthernetTypeOff:])), nil
	case KindVLAN:
		return VLANLen, kindOfEtherType(binary.BigEndian.Uint16(h[VLANTypeOff:])), nil
	case KindMPLS:
		if h[2]&1 == 0 { // not bottom of stack
			return MPLSLen, KindMPLS, nil
		}
		if len(h) > MPLSLen {
			switch h[MPLSLen] >> 4 {
			case 4:
				next = KindIPv4
			case 6:
				next = KindIPv6
			}
		}
		return MPLSLen, next, nil
	case KindIPv4:
		return p.ipv4(h)
	case KindIPv6:
		return p.ipv6(h)
	case KindIPv6Ext:
		return p.ipv6Ext(h)
	case KindUDP, KindICMP:
		return need(h, 8)
	case KindTCP:
		if len(h) < TCPLen {
			return 0, KindNone, ErrTruncated
		}
		n = int(h[12]>>4) * 4
		if n < TCPLen {
			return 0, KindNone, ErrMalformed
		}
		return need(h, n)
	case KindICMPv6:
		return 4, KindNone, nil
	}
	return 0, KindNone, ErrMalformed
}

// need returns n if h holds n bytes; nothing follows.
func need(h []byte, n int) (int, Kind, error) {
	if len(h) < n {
		return 0, KindNone, ErrTruncated
	}
	return n, KindNone, nil
}

// narrow caps p.end at the end of an IP packet of n bytes at p.off.
func (p *parser) narrow(n int) {
	if e := p.off + n; e < p.end {
		p.end = e
	} else if e > p.end {
		p.truncated = true
	}
}

func (p *parser) ipv4(h []byte) (int, Kind, error) {
	if len(h) < IPv4Len {
		return 0, KindNone, ErrTruncated
	}
	n := int(h[0]&0xf) * 4
	if h[0]>>4 != 4 || n < IPv4Len {
		return 0, KindNone, ErrMalformed
	}
	if len(h) < n {
		return 0, KindNone, ErrTruncated
	}
	total := int(binary.BigEndian.Uint16(h[IPv4TotalLengthOff:]))
	if total < n {
		return 0, KindNone, ErrMalformed
	}
	p.narrow(total)
	if binary.BigEndian.Uint16(h[6:])&0x3fff != 0 { // more fragments, or an offset
		return n, KindNone, nil
	}
	return n, p.kindOfProto(h[IPv4ProtocolOff], false), nil
}

func (p *parser) ipv6(h []byte) (int, Kind, error) {
	if len(h) < IPv6Len {
		return 0, KindNone, ErrTruncated
	}
	if h[0]>>4 != 6 {
		return 0, KindNone, ErrMalformed
	}
	plen := int(binary.BigEndian.Uint16(h[IPv6PayloadLengthOff:]))
	nh := h[IPv6NextHeaderOff]
	if plen != 0 || nh != ProtoHopByHop { // else a jumbogram: keep p.end
		p.narrow(IPv6Len + plen)
	}
	return IPv6Len, p.kindOfProto(nh, true), nil
}

// ipv6Ext parses the extension header p.proto announced.
func (p *parser) ipv6Ext(h []byte) (int, Kind, error) {
	if p.proto == ProtoFragment {
		if len(h) < 8 {
			return 0, KindNone, ErrTruncated
		}
		if binary.BigEndian.Uint16(h[2:])&0xfff9 != 0 { // an offset, or more fragments
			return 8, KindNone, nil
		}
		return 8, p.kindOfProto(h[0], true), nil
	}
	n := (int(h[1]) + 1) * 8
	if len(h) < n {
		return 0, KindNone, ErrTruncated
	}
	return n, p.kindOfProto(h[0], true), nil
}

// kindOfProto maps an IP protocol number to the kind Decode parses next;
// IPv6 extension headers only after IPv6.
func (p *parser) kindOfProto(proto uint8, v6 bool) Kind {
	p.proto = proto
	switch proto {
	case ProtoUDP:
		return KindUDP
	case ProtoTCP:
		return KindTCP
	case ProtoICMP:
		return KindICMP
	case ProtoICMPv6:
		return KindICMPv6
	case ProtoIPv4:
		return KindIPv4
	case ProtoIPv6:
		return KindIPv6
	case ProtoHopByHop, ProtoRouting, ProtoFragment, ProtoDestOpts:
		if v6 {
			return KindIPv6Ext
		}
	}
	return KindNone
}

// kindOfEtherType maps an EtherType to the kind Decode parses next.
func kindOfEtherType(et uint16) Kind {
	switch et {
	case EtherTypeVLAN, EtherTypeQinQ, EtherTypeQinQ9100:
		return KindVLAN
	case EtherTypeMPLS, EtherTypeMPLSMulticast:
		return KindMPLS
	case EtherTypeIPv4:
		return KindIPv4
	case EtherTypeIPv6:
		return KindIPv6
	}
	return KindNone
}
