package analyzer

import (
	"encoding/binary"

	"github.com/openperfd/openperfd/packet/protocol"
)

// EthernetCounters count frames by their layer-2 type. As DPDK's packet
// types (which OpenPerf counts), the classes exclude each other: a tagged
// frame counts as VLAN or QinQ whatever it carries, IP only untagged IPv4
// or IPv6 frames.
type EthernetCounters struct {
	IP, Timesync, ARP, LLDP, NSH, VLAN, QinQ, PPPoE, FCoE, MPLS uint64
}

// IPCounters count packets by their outermost IP header.
type IPCounters struct {
	IPv4, IPv6 uint64
}

// TransportCounters count IP packets by what follows their outermost IP
// header (and its IPv6 extension headers): fragments first, then the
// protocol; NonFragmented is any other unfragmented protocol.
type TransportCounters struct {
	TCP, UDP, Fragmented, SCTP, ICMP, NonFragmented, IGMP uint64
}

// TunnelCounters count frames by their outermost tunnel, indexed by
// protocol.Tunnel (index 0, no tunnel, is not reported).
type TunnelCounters [protocol.NumTunnels]uint64

// InnerEthernetCounters count the Ethernet frames inside tunnels: Ether is
// an untagged one (OpenPerf's "ip"), then by VLAN tags.
type InnerEthernetCounters struct {
	Ether, VLAN, QinQ uint64
}

// ProtocolResults are an analyzer's protocol counters; groups the config
// did not ask for stay zero. The inner groups count what a tunnel carries
// as the outer ones count the frame. DPDK's inner classes have no IGMP:
// report InnerTransport.IGMP as non-fragmented.
type ProtocolResults struct {
	Ethernet       EthernetCounters
	IP             IPCounters
	Transport      TransportCounters
	Tunnel         TunnelCounters
	InnerEthernet  InnerEthernetCounters
	InnerIP        IPCounters
	InnerTransport TransportCounters
}

func (p *ProtocolResults) add(q *ProtocolResults) {
	e, f := &p.Ethernet, &q.Ethernet
	e.IP += f.IP
	e.Timesync += f.Timesync
	e.ARP += f.ARP
	e.LLDP += f.LLDP
	e.NSH += f.NSH
	e.VLAN += f.VLAN
	e.QinQ += f.QinQ
	e.PPPoE += f.PPPoE
	e.FCoE += f.FCoE
	e.MPLS += f.MPLS
	p.IP.add(&q.IP)
	p.Transport.add(&q.Transport)
	for i, n := range q.Tunnel {
		p.Tunnel[i] += n
	}
	p.InnerEthernet.Ether += q.InnerEthernet.Ether
	p.InnerEthernet.VLAN += q.InnerEthernet.VLAN
	p.InnerEthernet.QinQ += q.InnerEthernet.QinQ
	p.InnerIP.add(&q.InnerIP)
	p.InnerTransport.add(&q.InnerTransport)
}

func (p *IPCounters) add(q *IPCounters) {
	p.IPv4 += q.IPv4
	p.IPv6 += q.IPv6
}

func (t *TransportCounters) add(u *TransportCounters) {
	t.TCP += u.TCP
	t.UDP += u.UDP
	t.Fragmented += u.Fragmented
	t.SCTP += u.SCTP
	t.ICMP += u.ICMP
	t.NonFragmented += u.NonFragmented
	t.IGMP += u.IGMP
}

// EtherTypes counted besides those protocol.Parse follows.
const (
	etherTypeTimesync = 0x88f7
	etherTypeLLDP     = 0x88cc
	etherTypeNSH      = 0x894f
	etherTypePPPoED   = 0x8863
	etherTypePPPoES   = 0x8864
	etherTypeFCoE     = 0x8906
	protoIGMP         = 2
	protoSCTP         = 132
)

// count adds one frame, described by l, to the groups in set.
func (p *ProtocolResults) count(set ProtocolCounters, l *protocol.Layers, frame []byte) {
	if l.N == 0 {
		return
	}
	if set&CountEthernet != 0 {
		p.countEthernet(l, frame)
	}
	if set&(CountIP|CountTransport) != 0 {
		countIP(&p.IP, &p.Transport, set&CountIP != 0, set&CountTransport != 0, l, frame)
	}
	if set&countTunnels != 0 {
		p.countTunnel(set, l, frame)
	}
}

// countTunnel adds the frame's tunnel and what it carries; frames with no
// tunnel cost DecodeInner's look at the outer IP payload.
func (p *ProtocolResults) countTunnel(set ProtocolCounters, l *protocol.Layers, frame []byte) {
	var in protocol.Layers
	t := in.DecodeInner(frame, l)
	if t == protocol.TunnelNone {
		return
	}
	if set&CountTunnel != 0 {
		p.Tunnel[t]++
	}
	if in.N == 0 {
		return
	}
	if set&CountInnerEthernet != 0 && in.Spans[0].Kind == protocol.KindEthernet {
		e := &p.InnerEthernet
		switch tags := vlanTags(&in, 1); {
		case tags >= 2:
			e.QinQ++
		case tags == 1:
			e.VLAN++
		default:
			e.Ether++
		}
	}
	if set&(CountInnerIP|CountInnerTransport) != 0 {
		countIP(&p.InnerIP, &p.InnerTransport, set&CountInnerIP != 0, set&CountInnerTransport != 0, &in, frame)
	}
}

// countIP adds the first IP header of l, and what follows it, to ip and t
// (each when asked).
func countIP(ip *IPCounters, t *TransportCounters, countIP, countTransport bool, l *protocol.Layers, frame []byte) {
	i := -1
	for j := 0; j < int(l.N); j++ {
		if k := l.Spans[j].Kind; k == protocol.KindIPv4 || k == protocol.KindIPv6 {
			i = j
			break
		}
	}
	if i < 0 {
		return
	}
	if countIP {
		if l.Spans[i].Kind == protocol.KindIPv4 {
			ip.IPv4++
		} else {
			ip.IPv6++
		}
	}
	if countTransport {
		t.count(l, i, frame)
	}
}

// vlanTags returns how many VLAN spans of l follow span from.
func vlanTags(l *protocol.Layers, from int) int {
	n := 0
	for from+n < int(l.N) && l.Spans[from+n].Kind == protocol.KindVLAN {
		n++
	}
	return n
}

func (p *ProtocolResults) countEthernet(l *protocol.Layers, frame []byte) {
	e := &p.Ethernet
	switch tags := vlanTags(l, 1); {
	case tags >= 2:
		e.QinQ++
		return
	case tags == 1:
		e.VLAN++
		return
	}
	if l.N > 1 {
		switch l.Spans[1].Kind {
		case protocol.KindIPv4, protocol.KindIPv6:
			e.IP++
		case protocol.KindMPLS:
			e.MPLS++
		}
		return
	}
	switch binary.BigEndian.Uint16(frame[protocol.EthernetTypeOff:]) {
	case protocol.EtherTypeIPv4, protocol.EtherTypeIPv6:
		e.IP++ // a header Parse could not take; still IP
	case protocol.EtherTypeMPLS, protocol.EtherTypeMPLSMulticast:
		e.MPLS++
	case protocol.EtherTypeARP:
		e.ARP++
	case etherTypeTimesync:
		e.Timesync++
	case etherTypeLLDP:
		e.LLDP++
	case etherTypeNSH:
		e.NSH++
	case etherTypePPPoED, etherTypePPPoES:
		e.PPPoE++
	case etherTypeFCoE:
		e.FCoE++
	}
}

// count classifies what follows the IP header at span ip of l.
func (t *TransportCounters) count(l *protocol.Layers, ip int, frame []byte) {
	proto, _, fragment := l.IPPayload(frame, ip)
	if fragment {
		t.Fragmented++
		return
	}
	switch proto {
	case protocol.ProtoTCP:
		t.TCP++
	case protocol.ProtoUDP:
		t.UDP++
	case protocol.ProtoICMP, protocol.ProtoICMPv6:
		t.ICMP++
	case protoSCTP:
		t.SCTP++
	case protoIGMP:
		t.IGMP++
	default:
		t.NonFragmented++
	}
}
