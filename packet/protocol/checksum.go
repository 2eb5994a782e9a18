package protocol

import (
	"encoding/binary"

	"github.com/openperfd/openperfd/packet/checksum"
)

// PseudoSumIPv4 returns the one's-complement sum of the IPv4 pseudo-header
// (RFC 768/793) for an upper-layer segment of length bytes. Pass it as the
// initial value of checksum.Checksum.
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
	return checksum.Fold(sum) == 0xffff
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
		return len(segment) >= 4 && checksum.Sum(segment, 0) == 0xffff
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
	return checksum.Sum(segment, ps) == 0xffff
}
