package protocol

import (
	"errors"

	"github.com/openperfd/openperfd/packet/checksum"
)

// Frame limits.
const (
	MinFrameLen = 60    // shortest Ethernet frame without FCS
	MaxFrameLen = 65535 // offsets are 16 bits
	MaxLayers   = 16    // headers per frame, built or parsed
)

// Errors of Build and Parse. Wrap-free sentinels, so the hot path never
// allocates; compare with errors.Is.
var (
	ErrFrameTooShort = errors.New("protocol: frame shorter than its headers or than 60 bytes")
	ErrFrameTooLong  = errors.New("protocol: frame longer than 65535 bytes")
	ErrTooManyLayers = errors.New("protocol: more than 16 headers")
	ErrUnknownHeader = errors.New("protocol: unknown header type")
	ErrTruncated     = errors.New("protocol: header truncated")
	ErrMalformed     = errors.New("protocol: malformed header")
)

// Span locates one header in a frame.
type Span struct {
	Kind Kind
	keep Keep   // derived fields Build left alone (UpdateChecksums honours KeepChecksum)
	Off  uint16 // first byte of the header
	Len  uint16 // header length (IPv4 IHL*4, TCP data offset*4, IPv6 extension length)
	End  uint16 // end of the bytes the header's packet covers: the enclosing IP packet's end, or the frame's
}

// Layers describes the headers of one frame: what Stack.Build wrote or Parse
// found, outermost first. Its methods take the frame it describes; a Layers
// value is small, copyable, and never refers to the frame itself.
type Layers struct {
	Spans      [MaxLayers]Span
	N          uint8  // headers in Spans
	Truncated  bool   // an IP packet claimed more bytes than the frame holds
	PayloadOff uint16 // first byte after the last header
	PayloadEnd uint16 // end of the payload: the innermost IP packet's end, or the frame's
}

// Headers returns the spans in use.
func (l *Layers) Headers() []Span { return l.Spans[:l.N] }

// Index returns the index of the first header of kind k at or after from,
// or -1.
func (l *Layers) Index(k Kind, from int) int {
	for i := max(from, 0); i < int(l.N); i++ {
		if l.Spans[i].Kind == k {
			return i
		}
	}
	return -1
}

// L3 returns the index of the innermost IPv4 or IPv6 header, or -1.
func (l *Layers) L3() int {
	for i := int(l.N) - 1; i >= 0; i-- {
		if k := l.Spans[i].Kind; k == KindIPv4 || k == KindIPv6 {
			return i
		}
	}
	return -1
}

// L4 returns the index of the innermost UDP, TCP, ICMP or ICMPv6 header, or -1.
func (l *Layers) L4() int {
	for i := int(l.N) - 1; i >= 0; i-- {
		switch l.Spans[i].Kind {
		case KindUDP, KindTCP, KindICMP, KindICMPv6:
			return i
		}
	}
	return -1
}

// Payload returns frame[PayloadOff:PayloadEnd].
func (l *Layers) Payload(frame []byte) []byte {
	if int(l.PayloadEnd) > len(frame) || l.PayloadOff > l.PayloadEnd {
		return nil
	}
	return frame[l.PayloadOff:l.PayloadEnd]
}

// push appends a span; false when Spans is full.
func (l *Layers) push(k Kind, off, n, end int) bool {
	if int(l.N) == MaxLayers {
		return false
	}
	l.Spans[l.N] = Span{Kind: k, Off: uint16(off), Len: uint16(n), End: uint16(end)}
	l.N++
	return true
}

// ipBefore returns the index of the nearest IPv4/IPv6 header before i, or -1.
func (l *Layers) ipBefore(i int) int {
	for j := i - 1; j >= 0; j-- {
		if k := l.Spans[j].Kind; k == KindIPv4 || k == KindIPv6 {
			return j
		}
	}
	return -1
}

// checksumOff returns the offset of span i's checksum field, or -1 if it
// has none.
func (s *Span) checksumOff() int {
	switch s.Kind {
	case KindIPv4:
		return int(s.Off) + IPv4ChecksumOff
	case KindUDP:
		return int(s.Off) + UDPChecksumOff
	case KindTCP:
		return int(s.Off) + TCPChecksumOff
	case KindICMP, KindICMPv6:
		return int(s.Off) + ICMPChecksumOff
	}
	return -1
}

// l4Proto maps an L4 kind to its IP protocol number.
func l4Proto(k Kind) uint8 {
	switch k {
	case KindUDP:
		return ProtoUDP
	case KindTCP:
		return ProtoTCP
	case KindICMP:
		return ProtoICMP
	case KindICMPv6:
		return ProtoICMPv6
	}
	return 0
}

// pseudoSum returns the pseudo-header sum for L4 span i, and false when i
// has no enclosing IP header.
func (l *Layers) pseudoSum(frame []byte, i int) (uint32, bool) {
	s := &l.Spans[i]
	if s.Kind == KindICMP {
		return 0, true
	}
	j := l.ipBefore(i)
	if j < 0 {
		return 0, false
	}
	ip := &l.Spans[j]
	n := int(s.End) - int(s.Off)
	if ip.Kind == KindIPv4 {
		o := int(ip.Off)
		return PseudoSumIPv4([4]byte(frame[o+IPv4SrcOff:]), [4]byte(frame[o+IPv4DstOff:]), l4Proto(s.Kind), n), true
	}
	o := int(ip.Off)
	return PseudoSumIPv6((*[16]byte)(frame[o+IPv6SrcOff:]), (*[16]byte)(frame[o+IPv6DstOff:]), l4Proto(s.Kind), n), true
}

// UpdateChecksums recomputes every IPv4 header checksum and every UDP, TCP,
// ICMP and ICMPv6 checksum, innermost first, so that an outer UDP checksum
// covers the final inner bytes. Call it after writing the payload of a frame
// built with BuildHeaders. Headers built with KeepChecksum are left alone;
// an L4 header with no IP header before it (other than ICMP) too.
func (l *Layers) UpdateChecksums(frame []byte) {
	for i := int(l.N) - 1; i >= 0; i-- {
		s := &l.Spans[i]
		c := s.checksumOff()
		if c < 0 || s.keep&KeepChecksum != 0 || int(s.End) > len(frame) || c+2 > int(s.End) {
			continue
		}
		if s.Kind == KindIPv4 {
			hdr := frame[s.Off : s.Off+s.Len]
			hdr[IPv4ChecksumOff], hdr[IPv4ChecksumOff+1] = 0, 0
			put16(hdr[IPv4ChecksumOff:], checksum.Checksum(hdr, 0))
			continue
		}
		ps, ok := l.pseudoSum(frame, i)
		if !ok {
			continue
		}
		frame[c], frame[c+1] = 0, 0
		sum := checksum.Checksum(frame[s.Off:s.End], ps)
		if sum == 0 && s.Kind == KindUDP {
			sum = 0xffff
		}
		put16(frame[c:], sum)
	}
}

// ChecksumErrors is a set of headers whose checksum failed verification.
type ChecksumErrors uint8

const (
	BadIPv4 ChecksumErrors = 1 << iota
	BadUDP
	BadTCP
	BadICMP // ICMP or ICMPv6
)

// Verify checks every IPv4 header checksum and every UDP, TCP, ICMP and
// ICMPv6 checksum of the frame l describes and returns those that failed.
// A UDP checksum of 0 over IPv4 passes (no checksum).
func (l *Layers) Verify(frame []byte) ChecksumErrors {
	var bad ChecksumErrors
	lastIP := -1 // ipBefore(i), kept as the loop goes
	for i := 0; i < int(l.N); i++ {
		s := &l.Spans[i]
		if s.Kind == KindIPv4 || s.Kind == KindIPv6 {
			lastIP = i // for an L4 span below, the nearest IP header before it
		}
		if int(s.End) > len(frame) || s.Off > s.End {
			continue
		}
		switch s.Kind {
		case KindIPv4:
			if !VerifyIPv4Checksum(frame[s.Off:s.End]) {
				bad |= BadIPv4
			}
		case KindUDP, KindTCP, KindICMP, KindICMPv6:
			var ip []byte
			if lastIP >= 0 {
				ip = frame[l.Spans[lastIP].Off:]
			}
			if !VerifyL4Checksum(ip, frame[s.Off:s.End], l4Proto(s.Kind)) {
				switch s.Kind {
				case KindUDP:
					bad |= BadUDP
				case KindTCP:
					bad |= BadTCP
				default:
					bad |= BadICMP
				}
			}
		}
	}
	return bad
}

func put16(b []byte, v uint16) {
	_ = b[1]
	b[0], b[1] = byte(v>>8), byte(v)
}
