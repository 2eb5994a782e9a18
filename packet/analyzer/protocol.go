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

// ProtocolResults are an analyzer's protocol counters; groups the config
// did not ask for stay zero.
type ProtocolResults struct {
	Ethernet  EthernetCounters
	IP        IPCounters
	Transport TransportCounters
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
	p.IP.IPv4 += q.IP.IPv4
	p.IP.IPv6 += q.IP.IPv6
	t, u := &p.Transport, &q.Transport
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
	if set&(CountIP|CountTransport) == 0 {
		return
	}
	ip := -1
	for i := 1; i < int(l.N); i++ {
		if k := l.Spans[i].Kind; k == protocol.KindIPv4 || k == protocol.KindIPv6 {
			ip = i
			break
		}
	}
	if ip < 0 {
		return
	}
	s := &l.Spans[ip]
	if set&CountIP != 0 {
		if s.Kind == protocol.KindIPv4 {
			p.IP.IPv4++
		} else {
			p.IP.IPv6++
		}
	}
	if set&CountTransport != 0 {
		p.countTransport(l, ip, frame)
	}
}

func (p *ProtocolResults) countEthernet(l *protocol.Layers, frame []byte) {
	e := &p.Ethernet
	tags := 0
	for tags+1 < int(l.N) && l.Spans[tags+1].Kind == protocol.KindVLAN {
		tags++
	}
	switch {
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

// countTransport classifies what follows the IP header at span ip.
func (p *ProtocolResults) countTransport(l *protocol.Layers, ip int, frame []byte) {
	t := &p.Transport
	s := &l.Spans[ip]
	var proto uint8
	if s.Kind == protocol.KindIPv4 {
		h := frame[s.Off:]
		if binary.BigEndian.Uint16(h[6:])&0x3fff != 0 {
			t.Fragmented++
			return
		}
		proto = h[protocol.IPv4ProtocolOff]
	} else {
		proto = frame[int(s.Off)+protocol.IPv6NextHeaderOff]
		for i := ip + 1; i < int(l.N) && l.Spans[i].Kind == protocol.KindIPv6Ext; i++ {
			h := frame[l.Spans[i].Off:]
			if proto == protocol.ProtoFragment && binary.BigEndian.Uint16(h[2:])&0xfff9 != 0 {
				t.Fragmented++
				return
			}
			proto = h[0]
		}
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
