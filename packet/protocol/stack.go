package protocol

import "encoding/binary"

// A Stack is an ordered list of headers, outermost first: the compiled form
// of one traffic definition's protocols. Build writes it into frames.
type Stack []Header

// HeaderLen returns the bytes the headers take, or -1 if one is unknown.
func (s Stack) HeaderLen() int {
	n := 0
	for _, h := range s {
		k, hl := info(h)
		if k == KindNone {
			return -1
		}
		n += hl
	}
	return n
}

// Build writes the headers into the start of frame, zero-fills the rest (the
// payload), and makes the frame consistent: next-protocol fields derived
// from the following header, IPv4 total length, IPv6 payload length and UDP
// length so that every packet ends with the frame, IPv4 header checksums
// and UDP/TCP checksums over the payload. Fields a header marks Keep are
// written as given. len(frame) is the frame length without FCS and must be
// at least MinFrameLen and the header length.
//
// Build does not allocate. The returned Layers locates every header.
func (s Stack) Build(frame []byte) (Layers, error) {
	return s.build(frame, true)
}

// BuildHeaders is Build without touching the payload bytes: write the
// payload before, or write it after and call Layers.UpdateChecksums.
func (s Stack) BuildHeaders(frame []byte) (Layers, error) {
	return s.build(frame, false)
}

func (s Stack) build(frame []byte, zero bool) (Layers, error) {
	var l Layers
	switch {
	case len(s) > MaxLayers:
		return l, ErrTooManyLayers
	case len(frame) > MaxFrameLen:
		return l, ErrFrameTooLong
	case len(frame) < MinFrameLen:
		return l, ErrFrameTooShort
	}
	end := len(frame)
	off := 0
	for _, h := range s { // check everything before writing anything
		k, n := info(h)
		if k == KindNone {
			return l, ErrUnknownHeader
		}
		if off += n; off > end {
			return l, ErrFrameTooShort
		}
	}
	off = 0
	for _, h := range s {
		k, n := info(h)
		l.Spans[l.N] = Span{Kind: k, keep: put(frame[off:off+n], h), Off: uint16(off), Len: uint16(n), End: uint16(end)}
		l.N++
		off += n
	}
	l.PayloadOff, l.PayloadEnd = uint16(off), uint16(end)
	for i := 0; i < int(l.N); i++ {
		l.derive(frame, i)
	}
	if zero {
		clear(frame[off:])
	}
	l.UpdateChecksums(frame)
	return l, nil
}

// info returns a header's kind and length; KindNone if it is unknown or a
// nil pointer.
func info(h Header) (Kind, int) {
	switch h := h.(type) {
	case Ethernet:
		return KindEthernet, EthernetLen
	case VLAN:
		return KindVLAN, VLANLen
	case MPLS:
		return KindMPLS, MPLSLen
	case IPv4:
		return KindIPv4, IPv4Len
	case IPv6:
		return KindIPv6, IPv6Len
	case UDP:
		return KindUDP, UDPLen
	case TCP:
		return KindTCP, TCPLen
	case Custom:
		return KindCustom, len(h.Data)
	case *Ethernet:
		return kindIf(h != nil, KindEthernet, EthernetLen)
	case *VLAN:
		return kindIf(h != nil, KindVLAN, VLANLen)
	case *MPLS:
		return kindIf(h != nil, KindMPLS, MPLSLen)
	case *IPv4:
		return kindIf(h != nil, KindIPv4, IPv4Len)
	case *IPv6:
		return kindIf(h != nil, KindIPv6, IPv6Len)
	case *UDP:
		return kindIf(h != nil, KindUDP, UDPLen)
	case *TCP:
		return kindIf(h != nil, KindTCP, TCPLen)
	case *Custom:
		if h != nil {
			return KindCustom, len(h.Data)
		}
	}
	return KindNone, 0
}

func kindIf(ok bool, k Kind, n int) (Kind, int) {
	if ok {
		return k, n
	}
	return KindNone, 0
}

// writer is what every header type of this package implements (values
// and pointers alike): writing itself and saying which fields to keep.
type writer interface {
	Put(b []byte)
	keepFlags() Keep
}

// put writes h (known to info) into b and returns its Keep flags.
func put(b []byte, h Header) Keep {
	if w, ok := h.(writer); ok {
		w.Put(b)
		return w.keepFlags()
	}
	return 0
}

// derive fills span i's derived fields from its neighbours and the frame
// length, unless its Keep flags say otherwise.
func (l *Layers) derive(frame []byte, i int) {
	s := &l.Spans[i]
	off := int(s.Off)
	next := KindNone
	if i+1 < int(l.N) {
		next = l.Spans[i+1].Kind
	}
	keepType := s.keep&KeepType != 0
	keepLen := s.keep&KeepLength != 0
	switch s.Kind {
	case KindEthernet, KindVLAN:
		if keepType {
			return
		}
		at := off + EthernetTypeOff
		if s.Kind == KindVLAN {
			at = off + VLANTypeOff
		}
		if et, ok := l.etherTypeFor(i + 1); ok {
			binary.BigEndian.PutUint16(frame[at:], et)
		}
	case KindMPLS:
		if !keepType {
			if next == KindMPLS {
				frame[off+2] &^= 1
			} else {
				frame[off+2] |= 1
			}
		}
	case KindIPv4:
		if p, ok := protoFor(next); ok && !keepType {
			frame[off+IPv4ProtocolOff] = p
		}
		if !keepLen {
			binary.BigEndian.PutUint16(frame[off+IPv4TotalLengthOff:], s.End-s.Off)
		}
	case KindIPv6:
		if p, ok := protoFor(next); ok && !keepType {
			frame[off+IPv6NextHeaderOff] = p
		}
		if !keepLen {
			binary.BigEndian.PutUint16(frame[off+IPv6PayloadLengthOff:], s.End-s.Off-IPv6Len)
		}
	case KindUDP:
		if !keepLen {
			binary.BigEndian.PutUint16(frame[off+UDPLengthOff:], s.End-s.Off)
		}
	}
}

// etherTypeFor returns the EtherType announcing header i. A VLAN tag that is
// the outermost of two or more gets the 802.1ad service TPID.
func (l *Layers) etherTypeFor(i int) (uint16, bool) {
	if i >= int(l.N) {
		return 0, false
	}
	switch l.Spans[i].Kind {
	case KindVLAN:
		if l.Spans[i-1].Kind != KindVLAN && i+1 < int(l.N) && l.Spans[i+1].Kind == KindVLAN {
			return EtherTypeQinQ, true
		}
		return EtherTypeVLAN, true
	case KindMPLS:
		return EtherTypeMPLS, true
	case KindIPv4:
		return EtherTypeIPv4, true
	case KindIPv6:
		return EtherTypeIPv6, true
	}
	return 0, false
}

// protoFor returns the IP protocol number announcing a header of kind k.
func protoFor(k Kind) (uint8, bool) {
	switch k {
	case KindUDP:
		return ProtoUDP, true
	case KindTCP:
		return ProtoTCP, true
	case KindIPv4:
		return ProtoIPv4, true
	case KindIPv6:
		return ProtoIPv6, true
	case KindMPLS:
		return ProtoMPLS, true
	case KindEthernet:
		return ProtoEthernet, true
	}
	return 0, false
}
