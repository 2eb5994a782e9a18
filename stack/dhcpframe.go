package stack

import (
	"encoding/binary"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// DHCP clients build and parse whole frames themselves and send them
// through the interface's link, beside gVisor rather than through it:
// a DHCPv4 client must send from 0.0.0.0 and take unicast replies for an
// address it does not own yet, which gVisor's UDP endpoints only allow
// with a promiscuous NIC, and a socket per interface would cost memory
// and a goroutine or waiter each. The link hands the clients their frames
// before gVisor sees them (see dhcpTap), so gVisor never answers them
// with ICMP port-unreachable either.

// UDP ports of DHCPv4 and DHCPv6.
const (
	dhcp4ClientPort = 68
	dhcp4ServerPort = 67
	dhcp6ClientPort = 546
	dhcp6ServerPort = 547
)

var (
	broadcastMAC = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	broadcast4   = netip.AddrFrom4([4]byte{255, 255, 255, 255})
	zero4        = netip.AddrFrom4([4]byte{})
	// allDHCP6 is All_DHCP_Relay_Agents_and_Servers (RFC 8415 section 7.1).
	allDHCP6    = netip.MustParseAddr("ff02::1:2")
	allDHCP6MAC = [6]byte{0x33, 0x33, 0, 1, 0, 2}
)

// udp4Frame builds an Ethernet/IPv4/UDP frame around payload.
func udp4Frame(srcMAC, dstMAC [6]byte, src, dst netip.Addr, sport, dport uint16, payload []byte) []byte {
	const hl = header.EthernetMinimumSize + header.IPv4MinimumSize + header.UDPMinimumSize
	f := make([]byte, hl+len(payload))
	header.Ethernet(f).Encode(&header.EthernetFields{SrcAddr: tcpip.LinkAddress(srcMAC[:]),
		DstAddr: tcpip.LinkAddress(dstMAC[:]), Type: header.IPv4ProtocolNumber})
	s, d := tcpip.AddrFrom4(src.As4()), tcpip.AddrFrom4(dst.As4())
	ip := header.IPv4(f[header.EthernetMinimumSize:])
	ip.Encode(&header.IPv4Fields{TotalLength: uint16(len(f) - header.EthernetMinimumSize),
		TTL: 64, Protocol: uint8(header.UDPProtocolNumber), SrcAddr: s, DstAddr: d})
	ip.SetChecksum(^ip.CalculateChecksum())
	fillUDP(ip[header.IPv4MinimumSize:], s, d, sport, dport, payload)
	return f
}

// udp6Frame builds an Ethernet/IPv6/UDP frame around payload.
func udp6Frame(srcMAC, dstMAC [6]byte, src, dst netip.Addr, sport, dport uint16, payload []byte) []byte {
	const hl = header.EthernetMinimumSize + header.IPv6MinimumSize + header.UDPMinimumSize
	f := make([]byte, hl+len(payload))
	header.Ethernet(f).Encode(&header.EthernetFields{SrcAddr: tcpip.LinkAddress(srcMAC[:]),
		DstAddr: tcpip.LinkAddress(dstMAC[:]), Type: header.IPv6ProtocolNumber})
	s, d := tcpip.AddrFrom16(src.As16()), tcpip.AddrFrom16(dst.As16())
	ip := header.IPv6(f[header.EthernetMinimumSize:])
	ip.Encode(&header.IPv6Fields{PayloadLength: uint16(header.UDPMinimumSize + len(payload)),
		TransportProtocol: header.UDPProtocolNumber, HopLimit: 255, SrcAddr: s, DstAddr: d})
	fillUDP(ip[header.IPv6MinimumSize:], s, d, sport, dport, payload)
	return f
}

func fillUDP(b []byte, src, dst tcpip.Address, sport, dport uint16, payload []byte) {
	u := header.UDP(b)
	n := uint16(header.UDPMinimumSize + len(payload))
	u.Encode(&header.UDPFields{SrcPort: sport, DstPort: dport, Length: n})
	copy(u.Payload(), payload)
	xsum := header.PseudoHeaderChecksum(header.UDPProtocolNumber, src, dst, n)
	xsum = checksum.Checksum(payload, xsum)
	if c := ^u.CalculateChecksum(xsum); c != 0 {
		u.SetChecksum(c)
	} else {
		u.SetChecksum(0xffff) // zero means "no checksum" in IPv4
	}
}

// udpIn is a received UDP datagram with the addresses it came with.
type udpIn struct {
	srcMAC, dstMAC [6]byte
	src, dst       netip.Addr
	sport, dport   uint16
	payload        []byte
}

// parseUDPFrame finds the UDP datagram in an Ethernet frame carrying
// IPv4 (unfragmented) or IPv6 (no extension headers). UDP checksums are
// not verified: frames from a kernel peer's veth arrive through
// af_packet with checksums left to an offload that never happened, and
// the kernel's own DHCP clients accept them for the same reason.
func parseUDPFrame(f []byte) (udpIn, bool) {
	var in udpIn
	if len(f) < header.EthernetMinimumSize {
		return in, false
	}
	in.dstMAC, in.srcMAC = [6]byte(f[0:6]), [6]byte(f[6:12])
	var l4 []byte
	switch binary.BigEndian.Uint16(f[12:14]) {
	case uint16(header.IPv4ProtocolNumber):
		ip := f[header.EthernetMinimumSize:]
		if len(ip) < header.IPv4MinimumSize || ip[0]>>4 != 4 {
			return in, false
		}
		ihl := int(ip[0]&0xf) * 4
		total := int(binary.BigEndian.Uint16(ip[2:4]))
		if ihl < header.IPv4MinimumSize || total < ihl || total > len(ip) || ip[9] != uint8(header.UDPProtocolNumber) ||
			binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 { // a fragment (MF set or an offset)
			return in, false
		}
		in.src, in.dst = addr4(ip[12:16]), addr4(ip[16:20])
		l4 = ip[ihl:total]
	case uint16(header.IPv6ProtocolNumber):
		ip := f[header.EthernetMinimumSize:]
		if len(ip) < header.IPv6MinimumSize || ip[0]>>4 != 6 || ip[6] != uint8(header.UDPProtocolNumber) {
			return in, false
		}
		plen := int(binary.BigEndian.Uint16(ip[4:6]))
		if header.IPv6MinimumSize+plen > len(ip) {
			return in, false
		}
		in.src, in.dst = netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
		l4 = ip[header.IPv6MinimumSize : header.IPv6MinimumSize+plen]
	default:
		return in, false
	}
	if len(l4) < header.UDPMinimumSize {
		return in, false
	}
	ulen := int(binary.BigEndian.Uint16(l4[4:6]))
	if ulen < header.UDPMinimumSize || ulen > len(l4) {
		return in, false
	}
	in.sport, in.dport = binary.BigEndian.Uint16(l4[0:2]), binary.BigEndian.Uint16(l4[2:4])
	in.payload = l4[header.UDPMinimumSize:ulen]
	return in, true
}

// dhcpClientPort is 68 for an IPv4 UDP frame to the DHCPv4 client port,
// 546 for an IPv6 UDP frame to the DHCPv6 one, else 0. It runs on the
// workers for every frame of a DHCP interface, so it only peeks.
func dhcpClientPort(f []byte) uint16 {
	const v4Min = header.EthernetMinimumSize + header.IPv4MinimumSize + header.UDPMinimumSize
	if len(f) < v4Min {
		return 0
	}
	ip := f[header.EthernetMinimumSize:]
	switch binary.BigEndian.Uint16(f[12:14]) {
	case uint16(header.IPv4ProtocolNumber):
		ihl := int(ip[0]&0xf) * 4
		if ip[9] != uint8(header.UDPProtocolNumber) || ihl < header.IPv4MinimumSize || len(ip) < ihl+4 ||
			binary.BigEndian.Uint16(ip[6:8])&0x1fff != 0 { // a later fragment: no UDP header
			return 0
		}
		if p := binary.BigEndian.Uint16(ip[ihl+2:]); p == dhcp4ClientPort {
			return p
		}
	case uint16(header.IPv6ProtocolNumber):
		if len(ip) < header.IPv6MinimumSize+4 || ip[6] != uint8(header.UDPProtocolNumber) {
			return 0
		}
		if p := binary.BigEndian.Uint16(ip[header.IPv6MinimumSize+2:]); p == dhcp6ClientPort {
			return p
		}
	}
	return 0
}
