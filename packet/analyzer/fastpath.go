//go:build 386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm

package analyzer

import (
	"math/bits"
	"unsafe"

	"github.com/openperfd/openperfd/packet/checksum"
	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packet/signature"
	"github.com/openperfd/openperfd/packetio"
)

// The fast path: nearly all test traffic is Ethernet, at most one 802.1Q
// tag, an IPv4 header without options or an IPv6 header without extension
// headers, then UDP or TCP, all inside the frame. Such a frame is
// recognised from a handful of loads at fixed offsets and its checksums
// are verified with 64-bit sums, instead of the general parser
// (protocol.Layers.Decode) and Verify, which cost several times as much.
// Its protocol counters are a "shape" whose count the burst loop keeps and
// adds to the shard's counters once per burst. Anything else, or anything
// the fast path is not sure of, goes the general way; both ways give the
// same results (TestFastPathMatchesGeneral, FuzzPush).
//
// Words are loaded in the machine's byte order and the sums work on them
// byte-swapped: this file builds for little-endian machines only.

// Shapes: bit 0 one VLAN tag, bit 1 IPv6 (else IPv4), bit 2 TCP (else UDP).
const (
	shapeVLAN = 1 << iota
	shapeIPv6
	shapeTCP
	nShapes = 8
)

// lo32 masks a word's low 32 bits.
const lo32 = 1<<32 - 1

// fastInfo is what classify found out about a fast-path frame.
type fastInfo struct {
	shape uint8
	l3    uint16 // offset of the IP header
	l4    uint16 // offset of the UDP or TCP header
	pay   uint16 // first byte after the UDP or TCP header
	who   uint8  // who verified the IPv4 (bits 0-1) and L4 (bits 2-3) checksums: byPort etc.
}

func load64(p unsafe.Pointer, off uintptr) uint64 {
	return *(*uint64)(unsafe.Add(p, off))
}

func load32(p unsafe.Pointer, off uintptr) uint32 {
	return *(*uint32)(unsafe.Add(p, off))
}

func loadBE16(p unsafe.Pointer, off uintptr) uint16 {
	return bits.ReverseBytes16(*(*uint16)(unsafe.Add(p, off)))
}

// classify recognises a fast-path frame and takes the port's word for the
// checksums ck says it checked (a NIC's rx checksum offload); with sw it
// verifies the others, else it leaves them unverified. fi.who says which
// was done. ok is false for any other frame: then nothing in fi or bad is
// meaningful.
func classify(frame []byte, ck packetio.RxChecksum, sw bool, fi *fastInfo) (bad protocol.ChecksumErrors, ok bool) {
	n := len(frame)
	if n < protocol.EthernetLen+protocol.IPv4Len+protocol.UDPLen || n > protocol.MaxFrameLen {
		return 0, false
	}
	p := unsafe.Pointer(unsafe.SliceData(frame))
	var shape uint8
	l3 := uintptr(protocol.EthernetLen)
	et := loadBE16(p, protocol.EthernetTypeOff)
	if et == protocol.EtherTypeVLAN {
		shape = shapeVLAN
		l3 += protocol.VLANLen
		et = loadBE16(p, protocol.EthernetTypeOff+protocol.VLANLen)
	}
	var l4 uintptr
	var end uintptr // end of the IP packet
	var proto uint8
	var pseudo uint64        // pseudo-header sum without length and protocol, little-endian words
	who := uint8(noChecksum) // the IPv4 header's
	switch et {
	case protocol.EtherTypeIPv4:
		if l3+protocol.IPv4Len > uintptr(n) {
			return 0, false
		}
		w0 := load64(p, l3) // version/IHL, TOS, total length, id (little-endian)
		if uint8(w0) != 0x45 {
			return 0, false
		}
		total := uintptr(bits.ReverseBytes16(uint16(w0 >> 16)))
		w1 := load64(p, l3+8)           // TTL, protocol, checksum, source
		if uint16(w0>>48)&0xff3f != 0 { // flags and offset (little-endian): a fragment
			return 0, false
		}
		proto = uint8(w1 >> 8)
		end = l3 + total
		l4 = l3 + protocol.IPv4Len
		if end > uintptr(n) || total < protocol.IPv4Len {
			return 0, false
		}
		w2 := uint64(load32(p, l3+16)) // destination
		switch ck & packetio.RxIPChecksumMask {
		case 0: // the port did not check
			who = byNobody
			if sw {
				who = bySoftware
				if checksum.Fold(ipv4HeaderSum(w0, w1, w2)) != 0xffff {
					bad |= protocol.BadIPv4
				}
			}
		case packetio.RxIPChecksumBad:
			who = byPort
			bad |= protocol.BadIPv4
		default:
			who = byPort
		}
		pseudo = w1>>32 + w2
	case protocol.EtherTypeIPv6:
		if l3+protocol.IPv6Len > uintptr(n) {
			return 0, false
		}
		w0 := load64(p, l3) // version, class, label, payload length, next header, hop limit
		if uint8(w0)>>4 != 6 {
			return 0, false
		}
		plen := uintptr(bits.ReverseBytes16(uint16(w0 >> 32)))
		proto = uint8(w0 >> 48)
		l4 = l3 + protocol.IPv6Len
		end = l4 + plen
		if end > uintptr(n) || plen == 0 {
			return 0, false // past the frame, or a jumbogram's hop-by-hop (not UDP/TCP anyway)
		}
		shape |= shapeIPv6
		a, b := load64(p, l3+8), load64(p, l3+16)
		c, d := load64(p, l3+24), load64(p, l3+32)
		// The addresses added with carries, then halved: below 2^34,
		// as l4Sum needs.
		s, k := bits.Add64(a, b, 0)
		s, k = bits.Add64(s, c, k)
		s, k = bits.Add64(s, d, k)
		pseudo = s&lo32 + s>>32 + k
	default:
		return 0, false
	}
	l4len := end - l4
	var badL4 protocol.ChecksumErrors // the error a wrong L4 checksum is; 0: none to check
	switch proto {
	case protocol.ProtoUDP:
		if l4len < protocol.UDPLen {
			return 0, false
		}
		fi.pay = uint16(l4 + protocol.UDPLen)
		// Over IPv4 a zero UDP checksum means none.
		if shape&shapeIPv6 != 0 || *(*uint16)(unsafe.Add(p, l4+6)) != 0 {
			badL4 = protocol.BadUDP
		}
	case protocol.ProtoTCP:
		if l4len < protocol.TCPLen {
			return 0, false
		}
		hl := uintptr(*(*uint8)(unsafe.Add(p, l4+12))>>4) * 4
		if hl < protocol.TCPLen || hl > l4len {
			return 0, false
		}
		shape |= shapeTCP
		fi.pay = uint16(l4 + hl)
		badL4 = protocol.BadTCP
	default:
		return 0, false
	}
	l4who := uint8(noChecksum)
	if badL4 != 0 {
		switch ck & packetio.RxL4ChecksumMask {
		case 0: // the port did not check
			l4who = byNobody
			if sw {
				l4who = bySoftware
				if l4Sum(p, l4, l4len, pseudo, proto) == 0xffff {
					badL4 = 0
				}
			} else {
				badL4 = 0
			}
		case packetio.RxL4ChecksumBad:
			l4who = byPort
		default: // good, or the data's integrity verified
			l4who = byPort
			badL4 = 0
		}
	}
	bad |= badL4
	fi.shape, fi.l3, fi.l4, fi.who = shape, uint16(l3), uint16(l4), who|l4who<<2
	return bad, true
}

// classifySigned is classify and, for a fast-path frame (longer than
// either signature format), its signature, decoded with shard s's Spirent
// decoder (whose caches suit a lane's traffic), else from our trailer.
// A Spirent signature's timestamp is left in its ticks (sp): the burst
// loop converts it (spirentTimeAt) only where it is used, as counting
// frames per flow needs the stream id alone. Profile-guided builds inline
// this into the burst loop, which then calls the decoder directly: a
// function of its own around the decoder cost one call level per frame.
func (s *shard) classifySigned(frame []byte, ck packetio.RxChecksum, sw bool, fi *fastInfo) (
	bad protocol.ChecksumErrors, ok bool, sig signature.Signature, signed, sp bool) {
	if bad, ok = classify(frame, ck, sw, fi); ok {
		if ss, found := s.spirent.FromFrame(frame); found {
			return bad, ok, signature.Signature{StreamID: ss.StreamID, Sequence: ss.Sequence, Timestamp: ss.Timestamp, Flags: ss.Flags}, true, true
		}
		sig, signed = trailerSignature(frame)
	}
	return bad, ok, sig, signed, sp
}

// ipv4HeaderSum is the ones'-complement sum, unfolded, of a 20-byte IPv4
// header loaded as two words and the destination address (w2 < 2^32):
// added with carries, three instructions where 32-bit halves take ten.
// The carry out of the second add cannot carry again: it only comes with
// a sum below 2^32.
func ipv4HeaderSum(w0, w1, w2 uint64) uint64 {
	s, c := bits.Add64(w0, w1, 0)
	s, c = bits.Add64(s, w2, c)
	return s + c
}

// l4Sum is the folded ones'-complement sum, in little-endian words, of the
// pseudo-header (addresses summed in pseudo, protocol and length) and the
// n bytes at off: 0xffff when the checksum is right.
func l4Sum(p unsafe.Pointer, off, n uintptr, pseudo uint64, proto uint8) uint32 {
	// The big-endian words 0x00pp and the length are byte-swapped here.
	acc := pseudo + uint64(proto)<<8 + uint64(bits.ReverseBytes16(uint16(n)))
	// 64-bit words added with carries (2^64 is 1 modulo 0xffff, so a carry
	// out counts 1), the carries of each 32 bytes gathered in carries.
	// Offsets, not advanced pointers: a pointer past the frame's end is
	// invalid even unused (checkptr).
	var carries, c uint64
	for ; n >= 32; n -= 32 {
		acc, c = bits.Add64(acc, load64(p, off), 0)
		acc, c = bits.Add64(acc, load64(p, off+8), c)
		acc, c = bits.Add64(acc, load64(p, off+16), c)
		acc, c = bits.Add64(acc, load64(p, off+24), c)
		carries += c
		off += 32
	}
	if n >= 16 {
		acc, c = bits.Add64(acc, load64(p, off), 0)
		acc, c = bits.Add64(acc, load64(p, off+8), c)
		carries += c
		off += 16
		n -= 16
	}
	if n >= 8 {
		acc, c = bits.Add64(acc, load64(p, off), 0)
		carries += c
		off += 8
		n -= 8
	}
	var w uint64
	if end := off + n; end >= 8 {
		// The last n < 8 bytes: the word ending at the segment's end,
		// shifted so that the bytes before them drop out (a shift by 64
		// gives 0). off is even, so they keep their parity.
		w = load64(p, end-8) >> ((8 - n) * 8)
	} else { // only in frames shorter than a word, as the fuzzer makes
		if n >= 4 {
			w = uint64(load32(p, off))
			off += 4
			n -= 4
		}
		w += tail(p, off, n) // 2^32 is 1 modulo 0xffff: no shift needed
	}
	acc, c = bits.Add64(acc, w, 0)
	carries += c
	acc, c = bits.Add64(acc, carries, 0)
	return uint32(checksum.Fold(acc + c))
}

// trailerWords loads the signature trailer at the end of a fast-path
// frame (which is longer than signature.Len) as the words signature.Valid
// takes.
func trailerWords(frame []byte) (a, x uint64, t uint16) {
	tp := unsafe.Add(unsafe.Pointer(unsafe.SliceData(frame)), len(frame)-signature.Len)
	return bits.ReverseBytes64(load64(tp, 0)), bits.ReverseBytes64(load64(tp, 8)), loadBE16(tp, 16)
}

// tail loads the n < 4 bytes at off little-endian.
func tail(p unsafe.Pointer, off, n uintptr) uint64 {
	var t uint64
	if n >= 2 {
		t = uint64(*(*uint16)(unsafe.Add(p, off)))
		if n == 3 {
			t |= uint64(*(*uint8)(unsafe.Add(p, off+2))) << 16
		}
	} else if n == 1 {
		t = uint64(*(*uint8)(unsafe.Add(p, off)))
	}
	return t
}

// addShape adds n frames of a shape to the groups in set, as count would.
func (p *ProtocolResults) addShape(set ProtocolCounters, shape uint8, n uint64) {
	if set&CountEthernet != 0 {
		if shape&shapeVLAN != 0 {
			p.Ethernet.VLAN += n
		} else {
			p.Ethernet.IP += n
		}
	}
	if set&CountIP != 0 {
		if shape&shapeIPv6 != 0 {
			p.IP.IPv6 += n
		} else {
			p.IP.IPv4 += n
		}
	}
	if set&CountTransport != 0 {
		if shape&shapeTCP != 0 {
			p.Transport.TCP += n
		} else {
			p.Transport.UDP += n
		}
	}
}

// fastTupleKey is tupleKey for a fast-path frame.
func fastTupleKey(port uint16, frame []byte, fi *fastInfo) FlowKey {
	vlan, proto := -1, uint8(protocol.ProtoUDP)
	if fi.shape&shapeVLAN != 0 {
		vlan = protocol.EthernetLen
	}
	if fi.shape&shapeTCP != 0 {
		proto = protocol.ProtoTCP
	}
	return keyAt(port, frame, vlan, int(fi.l3), fi.shape&shapeIPv6 != 0, int(fi.l4), proto)
}
