package protocol

import (
	"encoding/binary"
	"math/bits"
)

// Sum adds data to the running one's-complement sum initial (RFC 1071) and
// returns the sum folded to 16 bits. An odd-length data is padded with a
// zero byte, so only the last piece of a chained sum may have odd length.
func Sum(data []byte, initial uint32) uint32 {
	s := uint64(initial)
	var c uint64
	for len(data) >= 32 {
		s, c = bits.Add64(s, binary.BigEndian.Uint64(data[0:]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(data[8:]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(data[16:]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(data[24:]), c)
		data = data[32:]
	}
	for len(data) >= 8 {
		s, c = bits.Add64(s, binary.BigEndian.Uint64(data), c)
		data = data[8:]
	}
	s, c = bits.Add64(s, 0, c)
	s += c // cannot carry again: s was at most 2^64-2 after adding a carry
	if len(data) >= 4 {
		s, c = bits.Add64(s, uint64(binary.BigEndian.Uint32(data)), 0)
		s += c
		data = data[4:]
	}
	if len(data) >= 2 {
		s, c = bits.Add64(s, uint64(binary.BigEndian.Uint16(data)), 0)
		s += c
		data = data[2:]
	}
	if len(data) == 1 {
		s, c = bits.Add64(s, uint64(data[0])<<8, 0)
		s += c
	}
	return uint32(fold64(s))
}

// fold64 folds a 64-bit one's-complement sum to 16 bits.
func fold64(s uint64) uint16 {
	s = s>>32 + s&0xffffffff
	s = s>>32 + s&0xffffffff
	s = s>>16 + s&0xffff
	s = s>>16 + s&0xffff
	return uint16(s)
}

// Fold folds a 32-bit one's-complement sum to 16 bits (not complemented).
func Fold(sum uint32) uint16 {
	sum = sum>>16 + sum&0xffff
	sum = sum>>16 + sum&0xffff
	return uint16(sum)
}

// Checksum returns the Internet checksum of data: the complement of its
// one's-complement sum, starting from initial (0, or a pseudo-header sum).
// To compute a header's checksum its checksum field must be zero; over data
// that includes a correct checksum the result is 0.
func Checksum(data []byte, initial uint32) uint16 {
	return ^uint16(Sum(data, initial))
}

// PseudoSumIPv4 returns the one's-complement sum of the IPv4 pseudo-header
// (RFC 768/793) for an upper-layer segment of length bytes. Pass it as the
// initial value of Checksum.
func PseudoSumIPv4(src, dst [4]byte, proto uint8, length int) uint32 {
	s := uint32(src[0])<<8 | uint32(src[1])
	s += uint32(src[2])<<8 | uint32(src[3])
	s += uint32(dst[0])<<8 | uint32(dst[1])
	s += uint32(dst[2])<<8 | uint32(dst[3])
	return s + uint32(proto) + uint32(length)&0xffff + uint32(length)>>16
}

// PseudoSumIPv6 returns the one's-complement sum of the IPv6 pseudo-header
// (RFC 8200 section 8.1) for an upper-layer segment of length bytes.
func PseudoSumIPv6(src, dst *[16]byte, proto uint8, length int) uint32 {
	var s uint32
	for i := 0; i < 16; i += 2 {
		s += uint32(src[i])<<8 | uint32(src[i+1])
		s += uint32(dst[i])<<8 | uint32(dst[i+1])
	}
	return s + uint32(proto) + uint32(length)&0xffff + uint32(length)>>16
}

// ChecksumAdjust16 returns checksum csum updated for a 16-bit word of the
// covered data changing from old to new (RFC 1624, equation 3). The result
// equals a full recomputation. The word must start an even number of bytes
// into the covered data; at an odd position pass bits.ReverseBytes16 of
// old and new. A UDP checksum that comes out 0 must be sent as 0xffff.
func ChecksumAdjust16(csum, old, new uint16) uint16 {
	s := uint32(^csum) + uint32(^old) + uint32(new)
	return ^Fold(s)
}

// ChecksumAdjust32 is ChecksumAdjust16 for a 32-bit field. At an odd
// position pass old and new with the bytes of each 16-bit half swapped
// (SwapHalves).
func ChecksumAdjust32(csum uint16, old, new uint32) uint16 {
	s := uint32(^csum) + uint32(^uint16(old>>16)) + uint32(^uint16(old)) +
		new>>16 + new&0xffff
	return ^Fold(s)
}

// SwapHalves swaps the two bytes within each 16-bit half of v: a 32-bit
// field at an odd offset contributes SwapHalves(v) to a one's-complement sum.
func SwapHalves(v uint32) uint32 {
	return (v&0x00ff00ff)<<8 | (v>>8)&0x00ff00ff
}

// VerifyIPv4Checksum reports whether the IPv4 header at the start of hdr has
// a correct header checksum. It covers IHL*4 bytes; a header shorter than 20
// bytes or than its IHL fails.
func VerifyIPv4Checksum(hdr []byte) bool {
	if len(hdr) < IPv4Len {
		return false
	}
	n := int(hdr[0]&0xf) * 4
	if n < IPv4Len || n > len(hdr) {
		return false
	}
	// IHL*4 is a multiple of 4 and at most 60: 32-bit words summed into
	// 64 bits cannot carry out, and fold to the 16-bit one's-complement sum.
	var sum uint64
	for i := 0; i+4 <= n; i += 4 {
		sum += uint64(binary.BigEndian.Uint32(hdr[i:]))
	}
	return fold64(sum) == 0xffff
}

// VerifyL4Checksum reports whether segment, a UDP, TCP, ICMP or ICMPv6
// header and its payload up to the end of the IP packet, has a correct
// checksum. ip is the enclosing IP header (IPv4 or IPv6, told apart by its
// version nibble; ignored for ICMP). A UDP checksum of 0 over IPv4 means
// "none" and passes. Unknown protocols and short inputs fail.
func VerifyL4Checksum(ip, segment []byte, proto uint8) bool {
	var min int
	switch proto {
	case ProtoUDP:
		min = UDPLen
	case ProtoTCP:
		min = TCPLen
	case ProtoICMP:
		return len(segment) >= 4 && Fold(Sum(segment, 0)) == 0xffff
	case ProtoICMPv6:
		min = 4
	default:
		return false
	}
	if len(segment) < min || len(ip) < 1 {
		return false
	}
	var ps uint32
	switch ip[0] >> 4 {
	case 4:
		if len(ip) < IPv4Len {
			return false
		}
		if proto == ProtoUDP && segment[6] == 0 && segment[7] == 0 {
			return true
		}
		ps = PseudoSumIPv4([4]byte(ip[12:16]), [4]byte(ip[16:20]), proto, len(segment))
	case 6:
		if len(ip) < IPv6Len {
			return false
		}
		ps = PseudoSumIPv6((*[16]byte)(ip[8:24]), (*[16]byte)(ip[24:40]), proto, len(segment))
	default:
		return false
	}
	return Fold(Sum(segment, ps)) == 0xffff
}
