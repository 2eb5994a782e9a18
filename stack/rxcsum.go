package stack

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/openperfd/openperfd/packet/checksum"
	"github.com/openperfd/openperfd/packet/protocol"
)

// Receive checksum offload, done by the link: every received frame's
// checksums are verified here, once, before gVisor sees it, frames with a
// wrong one are dropped and counted (checksumCounters, reported in the
// protocol counters as gVisor's own would be), and the link tells gVisor
// it verifies them (CapabilityRXChecksumOffload), as a NIC with receive
// checksum offload does. Two reasons:
//   - gVisor's GRO can only merge packets gVisor counts as verified: its
//     merged packet keeps the first segment's IPv4 header checksum and
//     TCP checksum, so a stack that verifies them rejects every merged
//     packet as malformed (and gVisor sets the flag from the link's
//     capabilities at the NIC, whatever the link set per packet). Without
//     this, GRO merged nothing at all: its own check sums the segment from
//     the wrong offset once the Ethernet header is consumed.
//   - one pass over the bytes here replaces gVisor's, which were two for
//     TCP (GRO's and TCP's).
//
// What is verified: the IPv4 header; TCP, UDP (over IPv4 a zero checksum
// means none), ICMP and IGMP over IPv4; TCP, UDP and ICMPv6 over IPv6
// after its extension headers. Fragments' transport checksums cannot be
// verified per fragment, and gVisor does not verify a reassembled
// datagram behind a link that says it did: a corrupted fragment gets
// through, as behind any checksum-offloading NIC in gVisor. A frame too
// short for the lengths it states goes up as it is, for gVisor to count
// as malformed.

// Which checksum a frame failed (checksumCounters' index); 0: none.
const (
	ckOK = iota
	ckIPv4
	ckTCP
	ckUDP
	ckICMPv4
	ckICMPv6
	ckIGMP
	nCk
)

// ckProtocols names the counters as ProtocolCounters reports them.
var ckProtocols = [nCk]string{ckIPv4: "ipv4", ckTCP: "tcp", ckUDP: "udp", ckICMPv4: "icmpv4", ckICMPv6: "icmpv6", ckIGMP: "igmp"}

// checksumCounters count the frames the links dropped for a checksum, by
// the protocol whose checksum was wrong.
type checksumCounters [nCk]atomic.Uint64

// rxChecksumError verifies a received Ethernet frame's checksums and
// returns the protocol whose checksum is wrong (ckOK when none is, or
// the frame has none it can verify).
func rxChecksumError(frame []byte) int {
	if len(frame) < protocol.EthernetLen {
		return ckOK
	}
	ip := frame[protocol.EthernetLen:]
	switch binary.BigEndian.Uint16(frame[12:]) {
	case protocol.EtherTypeIPv4:
		return ipv4ChecksumError(ip)
	case protocol.EtherTypeIPv6:
		return ipv6ChecksumError(ip)
	}
	return ckOK
}

func ipv4ChecksumError(ip []byte) int {
	if len(ip) < protocol.IPv4Len {
		return ckOK
	}
	ihl, total := int(ip[0]&0xf)*4, int(binary.BigEndian.Uint16(ip[2:]))
	if ip[0]>>4 != 4 || ihl < protocol.IPv4Len || total < ihl || total > len(ip) {
		return ckOK // malformed: gVisor's to count
	}
	if !protocol.VerifyIPv4Checksum(ip[:ihl]) {
		return ckIPv4
	}
	if binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 {
		return ckOK // a fragment
	}
	seg := ip[ihl:total]
	if ip[9] == protoIGMP {
		if len(seg) >= 8 && checksum.Sum(seg, 0) != 0xffff {
			return ckIGMP
		}
		return ckOK
	}
	return l4Error(ip, seg, ip[9])
}

// protoIGMP is IGMP's IP protocol number.
const protoIGMP = 2

func ipv6ChecksumError(ip []byte) int {
	if len(ip) < protocol.IPv6Len || ip[0]>>4 != 6 {
		return ckOK
	}
	end := protocol.IPv6Len + int(binary.BigEndian.Uint16(ip[4:]))
	if end > len(ip) {
		return ckOK
	}
	next, off := ip[6], protocol.IPv6Len
	// Extension headers stepped over; a fragment header ends the walk.
	for next == protocol.ProtoHopByHop || next == protocol.ProtoRouting || next == protocol.ProtoDestOpts {
		if off+8 > end {
			return ckOK
		}
		next, off = ip[off], off+(int(ip[off+1])+1)*8
	}
	if off > end {
		return ckOK
	}
	return l4Error(ip, ip[off:end], next) // ckOK for a fragment
}

// l4Error returns what a wrong checksum of seg, a segment of transport
// protocol proto under the IP header ip, counts as, or ckOK: when it is
// right, when proto is not one verified here, and when seg is too short
// for its header (gVisor's to reject as malformed).
func l4Error(ip, seg []byte, proto uint8) int {
	var bad, minLen int
	switch proto {
	case protocol.ProtoTCP:
		bad, minLen = ckTCP, protocol.TCPLen
	case protocol.ProtoUDP:
		bad, minLen = ckUDP, protocol.UDPLen
	case protocol.ProtoICMP:
		bad, minLen = ckICMPv4, 4
	case protocol.ProtoICMPv6:
		bad, minLen = ckICMPv6, 4
	default:
		return ckOK
	}
	if len(seg) < minLen || protocol.VerifyL4Checksum(ip, seg, proto) {
		return ckOK
	}
	return bad
}
