package rest

import (
	"net"
	"net/netip"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packet/protocol"
)

// vlanPriorities are 802.1p's names for the PCP values.
var vlanPriorities = map[gen.PacketProtocolVlanPriority]uint8{
	gen.PacketProtocolVlanPriorityBestEffort: 0, gen.PacketProtocolVlanPriorityBackground: 1,
	gen.PacketProtocolVlanPriorityExcellentEffort: 2, gen.PacketProtocolVlanPriorityCriticalApp: 3,
	gen.PacketProtocolVlanPriorityVideo: 4, gen.PacketProtocolVlanPriorityVoice: 5,
	gen.PacketProtocolVlanPriorityInternetworkControl: 6, gen.PacketProtocolVlanPriorityNetworkControl: 7,
}

var ecnValues = map[gen.PacketProtocolIpv4Ecn]uint8{
	gen.PacketProtocolIpv4EcnNonEct: 0, gen.PacketProtocolIpv4EcnEct1: 1,
	gen.PacketProtocolIpv4EcnEct0: 2, gen.PacketProtocolIpv4EcnCe: 3,
}

var tcpFlags = map[gen.PacketProtocolTcpFlags]uint16{
	gen.PacketProtocolTcpFlagsFin: protocol.TCPFlagFIN, gen.PacketProtocolTcpFlagsSyn: protocol.TCPFlagSYN,
	gen.PacketProtocolTcpFlagsRst: protocol.TCPFlagRST, gen.PacketProtocolTcpFlagsPsh: protocol.TCPFlagPSH,
	gen.PacketProtocolTcpFlagsAck: protocol.TCPFlagACK, gen.PacketProtocolTcpFlagsUrg: protocol.TCPFlagURG,
	gen.PacketProtocolTcpFlagsEce: protocol.TCPFlagECE, gen.PacketProtocolTcpFlagsCwr: protocol.TCPFlagCWR,
	gen.PacketProtocolTcpFlagsNs: protocol.TCPFlagNS,
}

func parseMACField(s, path string) ([6]byte, error) {
	var out [6]byte
	m, err := net.ParseMAC(s)
	if err != nil || len(m) != 6 {
		return out, badRequest("%s: %q is not a MAC address", path, s)
	}
	copy(out[:], m)
	return out, nil
}

func parseIPField(s, path string, v6 bool) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || a.Is4() == v6 || a.Is4In6() {
		fam := "IPv4"
		if v6 {
			fam = "IPv6"
		}
		return netip.Addr{}, badRequest("%s: %q is not an %s address", path, s, fam)
	}
	return a, nil
}

func u8(p *int32) uint8 {
	if p == nil {
		return 0
	}
	return uint8(*p)
}

func u16p(p *int32) uint16 {
	if p == nil {
		return 0
	}
	return uint16(*p)
}

// follower is what the header after one asks of it.
type follower struct {
	// pid is the next-protocol value a custom header names (its
	// protocol_id), if has.
	pid uint16
	has bool
	// underivable: no header follows that packet/protocol derives a
	// next-protocol value from (none, or custom data).
	underivable bool
}

func followerOf(next *gen.TrafficProtocol) follower {
	f := follower{underivable: next == nil || next.Custom != nil}
	if next != nil && next.Custom != nil && next.Custom.ProtocolId != nil {
		f.pid, f.has = uint16(*next.Custom.ProtocolId), true
	}
	return f
}

// headerFromJSON turns one protocol of a packet template into a header;
// an ethernet header with unset addresses also gives its EthernetDefault.
func headerFromJSON(p *gen.TrafficProtocol, next *gen.TrafficProtocol, path string) (protocol.Header, *generator.EthernetDefault, error) {
	set := 0
	for _, x := range []bool{p.Ethernet != nil, p.Vlan != nil, p.Mpls != nil, p.Ipv4 != nil, p.Ipv6 != nil,
		p.Udp != nil, p.Tcp != nil, p.Custom != nil} {
		if x {
			set++
		}
	}
	if set != 1 {
		return nil, nil, badRequest("%s: exactly one of ethernet, vlan, mpls, ipv4, ipv6, udp, tcp and custom must be set", path)
	}
	f := followerOf(next)
	var h protocol.Header
	var err error
	switch {
	case p.Ethernet != nil:
		return ethernetHeaderFromJSON(p.Ethernet, f, path+".ethernet")
	case p.Vlan != nil:
		h = vlanHeaderFromJSON(p.Vlan, f)
	case p.Mpls != nil:
		h = mplsHeaderFromJSON(p.Mpls)
	case p.Ipv4 != nil:
		h, err = ipv4HeaderFromJSON(p.Ipv4, f, path+".ipv4")
	case p.Ipv6 != nil:
		h, err = ipv6HeaderFromJSON(p.Ipv6, f, path+".ipv6")
	case p.Udp != nil:
		h = udpHeaderFromJSON(p.Udp)
	case p.Tcp != nil:
		h, err = tcpHeaderFromJSON(p.Tcp, path+".tcp")
	default:
		if len(p.Custom.Data) == 0 {
			return nil, nil, badRequest("%s.custom.data: must not be empty", path)
		}
		h = protocol.Custom{Data: append([]byte(nil), p.Custom.Data...)}
	}
	if err != nil {
		return nil, nil, err
	}
	return h, nil, nil
}

// nextType is the next-protocol value a header carries: the one it names,
// else the one the header after it asks for (keep says whether there is
// one).
func nextType(own *int32, f follower) (v uint16, keep bool) {
	switch {
	case own != nil:
		return uint16(*own), true
	case f.has:
		return f.pid, true
	}
	return 0, false
}

func ethernetHeaderFromJSON(e *gen.PacketProtocolEthernet, f follower, path string) (protocol.Header, *generator.EthernetDefault, error) {
	var h protocol.Ethernet
	def := &generator.EthernetDefault{}
	var err error
	if e.Source != nil {
		if h.Src, err = parseMACField(*e.Source, path+".source"); err != nil {
			return nil, nil, err
		}
	} else {
		def.Src = true
	}
	if e.Destination != nil {
		if h.Dst, err = parseMACField(*e.Destination, path+".destination"); err != nil {
			return nil, nil, err
		}
	} else {
		def.Dst = true
	}
	if t, ok := nextType(e.EtherType, f); ok {
		h.EtherType, h.Keep = t, protocol.KeepType
	}
	if !def.Src && !def.Dst {
		def = nil
	}
	return h, def, nil
}

func vlanHeaderFromJSON(v *gen.PacketProtocolVlan, f follower) protocol.VLAN {
	h := protocol.VLAN{VID: u16p(v.Id)}
	if v.Priority != nil {
		h.PCP = vlanPriorities[*v.Priority]
	}
	h.DEI = v.DropEligible != nil && *v.DropEligible
	if t, ok := nextType(v.EtherType, f); ok {
		h.EtherType, h.Keep = t, protocol.KeepType
	}
	return h
}

func mplsHeaderFromJSON(m *gen.PacketProtocolMpls) protocol.MPLS {
	h := protocol.NewMPLS()
	h.TC = u8(m.TrafficClass)
	if m.Label != nil {
		h.Label = uint32(*m.Label)
	}
	if m.Ttl != nil {
		h.TTL = uint8(*m.Ttl)
	}
	if m.BottomOfStack != nil {
		h.BottomOfStack, h.Keep = *m.BottomOfStack, protocol.KeepType
	}
	return h
}

func ipv4HeaderFromJSON(v *gen.PacketProtocolIpv4, f follower, path string) (protocol.Header, error) {
	h := protocol.NewIPv4()
	h.Version, h.DSCP, h.ID = u8(v.Version), u8(v.Dscp), u16p(v.Identification)
	if v.HeaderLength != nil && *v.HeaderLength != 20 {
		return nil, badRequest("%s.header_length: %d: IPv4 options are not supported (20 only)", path, *v.HeaderLength)
	}
	if v.Ecn != nil {
		h.ECN = ecnValues[*v.Ecn]
	}
	if v.Flags != nil {
		for _, fl := range *v.Flags {
			switch fl {
			case gen.PacketProtocolIpv4FlagsMoreFragments:
				h.Flags |= protocol.IPv4MoreFragments
			case gen.PacketProtocolIpv4FlagsDontFragment:
				h.Flags |= protocol.IPv4DontFragment
			case gen.PacketProtocolIpv4FlagsEvilBit:
				h.Flags |= protocol.IPv4Evil
			}
		}
	}
	if v.FragmentOffset != nil {
		h.FragOffset = uint16(*v.FragmentOffset / 8)
	}
	if v.TimeToLive != nil {
		h.TTL = uint8(*v.TimeToLive)
	}
	if t, ok := nextType(v.Protocol, f); ok {
		h.Protocol, h.Keep = uint8(t), protocol.KeepType
	} else if f.underivable {
		h.Protocol, h.Keep = protocol.DefaultIPv4Protocol, protocol.KeepType
	}
	if v.TotalLength != nil {
		h.TotalLength, h.Keep = uint16(*v.TotalLength), h.Keep|protocol.KeepLength
	}
	if v.Checksum != nil {
		h.Checksum, h.Keep = uint16(*v.Checksum), h.Keep|protocol.KeepChecksum
	}
	for _, a := range []struct {
		s   *string
		dst *[4]byte
		f   string
	}{{v.Source, &h.Src, "source"}, {v.Destination, &h.Dst, "destination"}} {
		if a.s != nil {
			ip, err := parseIPField(*a.s, path+"."+a.f, false)
			if err != nil {
				return nil, err
			}
			*a.dst = ip.As4()
		}
	}
	return h, nil
}

func ipv6HeaderFromJSON(v *gen.PacketProtocolIpv6, f follower, path string) (protocol.Header, error) {
	h := protocol.NewIPv6()
	h.Version, h.TrafficClass = u8(v.Version), u8(v.TrafficClass)
	if v.FlowLabel != nil {
		h.FlowLabel = uint32(*v.FlowLabel)
	}
	if v.HopLimit != nil {
		h.HopLimit = uint8(*v.HopLimit)
	}
	if t, ok := nextType(v.NextHeader, f); ok {
		h.NextHeader, h.Keep = uint8(t), protocol.KeepType
	} else if f.underivable {
		h.NextHeader, h.Keep = protocol.DefaultIPv6NextHeader, protocol.KeepType
	}
	if v.PayloadLength != nil {
		h.PayloadLength, h.Keep = uint16(*v.PayloadLength), h.Keep|protocol.KeepLength
	}
	for _, a := range []struct {
		s   *string
		dst *[16]byte
		f   string
	}{{v.Source, &h.Src, "source"}, {v.Destination, &h.Dst, "destination"}} {
		if a.s != nil {
			ip, err := parseIPField(*a.s, path+"."+a.f, true)
			if err != nil {
				return nil, err
			}
			*a.dst = ip.As16()
		}
	}
	return h, nil
}

func udpHeaderFromJSON(u *gen.PacketProtocolUdp) protocol.UDP {
	h := protocol.NewUDP()
	if u.Source != nil {
		h.SrcPort = uint16(*u.Source)
	}
	if u.Destination != nil {
		h.DstPort = uint16(*u.Destination)
	}
	if u.Length != nil {
		h.Length, h.Keep = uint16(*u.Length), protocol.KeepLength
	}
	if u.Checksum != nil {
		h.Checksum, h.Keep = uint16(*u.Checksum), h.Keep|protocol.KeepChecksum
	}
	return h
}

func tcpHeaderFromJSON(t *gen.PacketProtocolTcp, path string) (protocol.Header, error) {
	h := protocol.NewTCP()
	h.Reserved, h.Window, h.Urgent = u8(t.Reserved), u16p(t.Window), u16p(t.UrgentPointer)
	if t.DataOffset != nil && *t.DataOffset != 20 {
		return nil, badRequest("%s.data_offset: %d: TCP options are not supported (20 only)", path, *t.DataOffset)
	}
	if t.Source != nil {
		h.SrcPort = uint16(*t.Source)
	}
	if t.Destination != nil {
		h.DstPort = uint16(*t.Destination)
	}
	if t.Sequence != nil {
		h.Seq = uint32(*t.Sequence)
	}
	if t.Ack != nil {
		h.Ack = uint32(*t.Ack)
	}
	if t.Flags != nil {
		for _, f := range *t.Flags {
			h.Flags |= tcpFlags[f]
		}
	}
	if t.Checksum != nil {
		h.Checksum, h.Keep = uint16(*t.Checksum), protocol.KeepChecksum
	}
	return h, nil
}
