package rest

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packet/protocol"
)

// OpenPerf's header defaults, which packet/protocol leaves to its callers.
const (
	defaultTTL      = 64
	defaultPort     = 3357
	defaultIPv4Prot = 254 // "experimental", when no header follows
	defaultIPv6Next = 59  // "no next header"
)

// apiFieldNames maps OpenPerf's modifier names (the protocol's JSON
// property names) to the generator's field names, per header kind.
var apiFieldNames = map[protocol.Kind]map[string]string{
	protocol.KindEthernet: {"destination": "destination", "source": "source", "ether_type": "ether_type"},
	protocol.KindVLAN:     {"id": "vlan_id", "priority": "priority", "drop_eligible": "drop_eligible", "ether_type": "ether_type"},
	protocol.KindMPLS:     {"label": "label", "traffic_class": "traffic_class", "bottom_of_stack": "bottom_of_stack", "ttl": "ttl"},
	protocol.KindIPv4: {"dscp": "dscp", "ecn": "ecn", "identification": "identification", "flags": "flags",
		"fragment_offset": "fragment_offset", "time_to_live": "ttl", "source": "source", "destination": "destination"},
	protocol.KindIPv6: {"traffic_class": "traffic_class", "flow_label": "flow_label", "hop_limit": "hop_limit",
		"source": "source", "destination": "destination"},
	protocol.KindUDP: {"source": "source_port", "destination": "destination_port"},
	protocol.KindTCP: {"source": "source_port", "destination": "destination_port", "sequence": "sequence_number",
		"ack": "ack_number", "flags": "flags", "window": "window", "urgent_pointer": "urgent_pointer"},
	protocol.KindCustom: {"data": "data"},
}

func apiNames(k protocol.Kind) string {
	var names []string
	for n := range apiFieldNames[k] {
		names = append(names, n)
	}
	return strings.Join(sortedStrings(names), ", ")
}

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

// The fastest rates a generator may ask for. A 400 Gbit/s port sends at
// most 595 million 64-byte frames (50 GB) a second; these leave room for
// any port to come while keeping the intended counters far from int64's
// end: at the frame limit packets_intended would wrap after 29 years, and
// the octet counters saturate rather than wrap.
const (
	maxFrameRate = 1e10 // frames a second
	maxOctetRate = 1e12 // octets a second
)

// ratePeriods are the seconds in each rate period, in every spelling
// OpenPerf's server accepts.
var ratePeriods = map[gen.TrafficLoadRatePeriod]float64{
	gen.TrafficLoadRatePeriodMillisecond: 0.001, gen.TrafficLoadRatePeriodMilliseconds: 0.001,
	gen.TrafficLoadRatePeriodSecond: 1, gen.TrafficLoadRatePeriodSeconds: 1,
	gen.TrafficLoadRatePeriodMinute: 60, gen.TrafficLoadRatePeriodMinutes: 60,
	gen.TrafficLoadRatePeriodHour: 3600, gen.TrafficLoadRatePeriodHours: 3600,
}

// durationUnits are the time units a duration may take, in every
// spelling OpenPerf's server accepts (the same words as rate periods).
var durationUnits = map[gen.TrafficDurationTimeUnits]time.Duration{
	gen.TrafficDurationTimeUnitsMillisecond: time.Millisecond, gen.TrafficDurationTimeUnitsMilliseconds: time.Millisecond,
	gen.TrafficDurationTimeUnitsSecond: time.Second, gen.TrafficDurationTimeUnitsSeconds: time.Second,
	gen.TrafficDurationTimeUnitsMinute: time.Minute, gen.TrafficDurationTimeUnitsMinutes: time.Minute,
	gen.TrafficDurationTimeUnitsHour: time.Hour, gen.TrafficDurationTimeUnitsHours: time.Hour,
}

// generatorFromJSON turns an API generator into a service spec. where
// prefixes the field names in errors ("items[2]" for bulk requests).
func generatorFromJSON(in *gen.PacketGenerator, where string) (generator.Spec, error) {
	field := func(f string) string {
		if where == "" {
			return f
		}
		return where + "." + f
	}
	sp := generator.Spec{TargetID: in.TargetId}
	if in.Id != nil {
		if err := checkID(field("id"), *in.Id); err != nil {
			return sp, err
		}
		sp.ID = *in.Id
	}
	if in.TargetId == "" {
		return sp, badRequest("%s: required", field("target_id"))
	}
	c := &in.Config
	cf := func(f string) string { return field("config." + f) }

	// Duration: exactly one of continuous, frames, time.
	n := 0
	if c.Duration.Continuous != nil && *c.Duration.Continuous {
		n++
	}
	if c.Duration.Frames != nil {
		n++
		sp.Frames = uint64(*c.Duration.Frames)
	}
	if t := c.Duration.Time; t != nil {
		n++
		unit, ok := durationUnits[t.Units]
		if !ok {
			return sp, badRequest("%s: %q is not a unit of time", cf("duration.time.units"), t.Units)
		}
		if t.Value > int64(1<<62)/int64(unit) {
			return sp, badRequest("%s: too long", cf("duration.time.value"))
		}
		sp.Duration = time.Duration(t.Value) * unit
	}
	if n != 1 {
		return sp, badRequest("%s: exactly one of continuous (true), frames and time must be set", cf("duration"))
	}

	// Load.
	l := c.Load
	if l.Rate.Value < 1 {
		return sp, badRequest("%s: must be at least 1", cf("load.rate.value"))
	}
	per, ok := ratePeriods[l.Rate.Period]
	if !ok {
		return sp, badRequest("%s: %q is not a period", cf("load.rate.period"), l.Rate.Period)
	}
	sp.Rate = float64(l.Rate.Value) / per
	sp.RateOctets = l.Units == gen.TrafficLoadUnitsOctets
	limit, unit := maxFrameRate, "frames"
	if sp.RateOctets {
		limit, unit = maxOctetRate, "octets"
	}
	if sp.Rate > limit {
		return sp, badRequest("%s: %d per %s is %.3g %s a second, over the limit of %.0e (about 17 times the line rate of a 400 Gbit/s port)",
			cf("load.rate.value"), l.Rate.Value, l.Rate.Period, sp.Rate, unit, limit)
	}
	sp.Burst = 1
	if l.BurstSize != nil {
		sp.Burst = int(*l.BurstSize)
	}
	if sp.Burst < 1 {
		return sp, badRequest("%s: must be at least 1", cf("load.burst_size"))
	}
	if c.Order != nil && *c.Order == gen.PacketGeneratorConfigOrderSequential {
		sp.Order = generator.OrderSequential
	}
	if c.ProtocolCounters != nil {
		for i, pc := range *c.ProtocolCounters {
			switch pc {
			case "ethernet", "ip", "transport":
				sp.Counters = append(sp.Counters, string(pc))
			default:
				return sp, badRequest("%s: %q: generated traffic has no tunnels, so only ethernet, ip and transport are counted", cf(fmt.Sprintf("protocol_counters[%d]", i)), pc)
			}
		}
	}
	if len(c.Traffic) == 0 {
		return sp, badRequest("%s: at least one traffic definition is required", cf("traffic"))
	}
	for i := range c.Traffic {
		d, eth, err := trafficFromJSON(&c.Traffic[i], cf(fmt.Sprintf("traffic[%d]", i)))
		if err != nil {
			return sp, err
		}
		for _, e := range eth {
			e.Def = i
			sp.Ethernet = append(sp.Ethernet, e)
		}
		sp.Traffic = append(sp.Traffic, d)
	}
	return sp, nil
}

func trafficFromJSON(t *gen.TrafficDefinition, path string) (generator.TrafficDefinition, []generator.EthernetDefault, error) {
	var d generator.TrafficDefinition
	var eth []generator.EthernetDefault
	if t.Weight != nil {
		if *t.Weight < 1 {
			return d, nil, badRequest("%s.weight: must be at least 1", path)
		}
		d.Weight = uint(*t.Weight)
	}
	if t.Packet.ModifierTie != nil && *t.Packet.ModifierTie == gen.TrafficPacketTemplateModifierTieCartesian {
		d.Tie = generator.TieCartesian
	}
	protos := t.Packet.Protocols
	if len(protos) == 0 {
		return d, nil, badRequest("%s.packet.protocols: at least one protocol is required", path)
	}
	for j := range protos {
		pp := fmt.Sprintf("%s.packet.protocols[%d]", path, j)
		var next *gen.TrafficProtocol
		if j+1 < len(protos) {
			next = &protos[j+1]
		}
		h, def, err := headerFromJSON(&protos[j], next, pp)
		if err != nil {
			return d, nil, err
		}
		if def != nil {
			def.Header = j
			eth = append(eth, *def)
		}
		hd := generator.HeaderDef{Header: h}
		if m := protos[j].Modifiers; m != nil {
			if m.Tie != nil && *m.Tie == gen.TrafficProtocolModifiersTieCartesian {
				hd.Tie = generator.TieCartesian
			}
			if len(m.Items) == 0 {
				return d, nil, badRequest("%s.modifiers.items: at least one modifier is required", pp)
			}
			for k := range m.Items {
				mod, err := modifierFromJSON(&m.Items[k], h.Kind(), fmt.Sprintf("%s.modifiers.items[%d]", pp, k))
				if err != nil {
					return d, nil, err
				}
				hd.Modifiers = append(hd.Modifiers, mod)
			}
		}
		d.Headers = append(d.Headers, hd)
	}
	ln := t.Length
	lp := path + ".length"
	set := 0
	if ln.Fixed != nil {
		set++
		d.Length.Fixed = int(*ln.Fixed)
	}
	if ln.List != nil {
		set++
		for _, v := range *ln.List {
			d.Length.List = append(d.Length.List, int(v))
		}
	}
	if q := ln.Sequence; q != nil {
		set++
		s := &generator.LengthSequence{Count: int(q.Count), Start: int(q.Start)}
		if q.Stop != nil {
			s.Stop = int(*q.Stop)
		}
		if q.Skip != nil {
			for _, v := range *q.Skip {
				s.Skip = append(s.Skip, int(v))
			}
		}
		d.Length.Sequence = s
	}
	if set != 1 {
		return d, nil, badRequest("%s: exactly one of fixed, list and sequence must be set", lp)
	}
	if sg := t.Signature; sg != nil {
		if sg.StreamId < 0 || sg.StreamId > 0xffffffff {
			return d, nil, badRequest("%s.signature.stream_id: %d is not a 32-bit stream id", path, sg.StreamId)
		}
		sc := &generator.SignatureConfig{StreamID: uint32(sg.StreamId)}
		if sg.Latency == gen.SpirentSignatureLatencyEndOfFrame {
			sc.Latency = generator.LatencyEndOfFrame
		}
		if f := sg.Fill; f != nil {
			n := 0
			if f.Constant != nil {
				n++
				sc.Fill = generator.Fill{Kind: generator.FillConstant, Value: uint16(*f.Constant)}
			}
			if f.Increment != nil {
				n++
				sc.Fill = generator.Fill{Kind: generator.FillIncrement, Value: uint16(*f.Increment)}
			}
			if f.Decrement != nil {
				n++
				sc.Fill = generator.Fill{Kind: generator.FillDecrement, Value: uint16(*f.Decrement)}
			}
			if f.Prbs != nil && *f.Prbs {
				n++
				sc.Fill = generator.Fill{Kind: generator.FillPRBS}
			}
			if n > 1 {
				return d, nil, badRequest("%s.signature.fill: at most one of constant, increment, decrement and prbs may be set", path)
			}
		}
		d.Signature = sc
	}
	return d, eth, nil
}

// nextProto is the next-protocol value a custom header asks the header
// before it to carry (protocol_id), if it sets one.
func nextProto(next *gen.TrafficProtocol) (uint16, bool) {
	if next != nil && next.Custom != nil && next.Custom.ProtocolId != nil {
		return uint16(*next.Custom.ProtocolId), true
	}
	return 0, false
}

// lastHeader reports whether no header that packet/protocol derives a
// next-protocol value from follows.
func noDerivable(next *gen.TrafficProtocol) bool {
	return next == nil || next.Custom != nil
}

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
	pid, hasPID := nextProto(next)
	switch {
	case p.Ethernet != nil:
		e := p.Ethernet
		var h protocol.Ethernet
		def := &generator.EthernetDefault{}
		var err error
		if e.Source != nil {
			if h.Src, err = parseMACField(*e.Source, path+".ethernet.source"); err != nil {
				return nil, nil, err
			}
		} else {
			def.Src = true
		}
		if e.Destination != nil {
			if h.Dst, err = parseMACField(*e.Destination, path+".ethernet.destination"); err != nil {
				return nil, nil, err
			}
		} else {
			def.Dst = true
		}
		switch {
		case e.EtherType != nil:
			h.EtherType, h.Keep = uint16(*e.EtherType), protocol.KeepType
		case hasPID:
			h.EtherType, h.Keep = pid, protocol.KeepType
		}
		if !def.Src && !def.Dst {
			def = nil
		}
		return h, def, nil
	case p.Vlan != nil:
		v := p.Vlan
		h := protocol.VLAN{VID: u16p(v.Id)}
		if v.Priority != nil {
			h.PCP = vlanPriorities[*v.Priority]
		}
		h.DEI = v.DropEligible != nil && *v.DropEligible
		switch {
		case v.EtherType != nil:
			h.EtherType, h.Keep = uint16(*v.EtherType), protocol.KeepType
		case hasPID:
			h.EtherType, h.Keep = pid, protocol.KeepType
		}
		return h, nil, nil
	case p.Mpls != nil:
		m := p.Mpls
		h := protocol.MPLS{TC: u8(m.TrafficClass), TTL: defaultTTL}
		if m.Label != nil {
			h.Label = uint32(*m.Label)
		}
		if m.Ttl != nil {
			h.TTL = uint8(*m.Ttl)
		}
		if m.BottomOfStack != nil {
			h.BottomOfStack, h.Keep = *m.BottomOfStack, protocol.KeepType
		}
		return h, nil, nil
	case p.Ipv4 != nil:
		v := p.Ipv4
		h := protocol.IPv4{Version: u8(v.Version), DSCP: u8(v.Dscp), ID: u16p(v.Identification), TTL: defaultTTL}
		if v.HeaderLength != nil && *v.HeaderLength != 20 {
			return nil, nil, badRequest("%s.ipv4.header_length: %d: IPv4 options are not supported (20 only)", path, *v.HeaderLength)
		}
		if v.Ecn != nil {
			h.ECN = ecnValues[*v.Ecn]
		}
		if v.Flags != nil {
			for _, f := range *v.Flags {
				switch f {
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
		switch {
		case v.Protocol != nil:
			h.Protocol, h.Keep = uint8(*v.Protocol), protocol.KeepType
		case hasPID:
			h.Protocol, h.Keep = uint8(pid), protocol.KeepType
		case noDerivable(next):
			h.Protocol, h.Keep = defaultIPv4Prot, protocol.KeepType
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
				ip, err := parseIPField(*a.s, path+".ipv4."+a.f, false)
				if err != nil {
					return nil, nil, err
				}
				*a.dst = ip.As4()
			}
		}
		return h, nil, nil
	case p.Ipv6 != nil:
		v := p.Ipv6
		h := protocol.IPv6{Version: u8(v.Version), TrafficClass: u8(v.TrafficClass), HopLimit: defaultTTL}
		if v.FlowLabel != nil {
			h.FlowLabel = uint32(*v.FlowLabel)
		}
		if v.HopLimit != nil {
			h.HopLimit = uint8(*v.HopLimit)
		}
		switch {
		case v.NextHeader != nil:
			h.NextHeader, h.Keep = uint8(*v.NextHeader), protocol.KeepType
		case hasPID:
			h.NextHeader, h.Keep = uint8(pid), protocol.KeepType
		case noDerivable(next):
			h.NextHeader, h.Keep = defaultIPv6Next, protocol.KeepType
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
				ip, err := parseIPField(*a.s, path+".ipv6."+a.f, true)
				if err != nil {
					return nil, nil, err
				}
				*a.dst = ip.As16()
			}
		}
		return h, nil, nil
	case p.Udp != nil:
		u := p.Udp
		h := protocol.UDP{SrcPort: defaultPort, DstPort: defaultPort}
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
		return h, nil, nil
	case p.Tcp != nil:
		t := p.Tcp
		h := protocol.TCP{SrcPort: defaultPort, DstPort: defaultPort, Reserved: u8(t.Reserved),
			Window: u16p(t.Window), Urgent: u16p(t.UrgentPointer)}
		if t.DataOffset != nil && *t.DataOffset != 20 {
			return nil, nil, badRequest("%s.tcp.data_offset: %d: TCP options are not supported (20 only)", path, *t.DataOffset)
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
		return h, nil, nil
	default:
		c := p.Custom
		if len(c.Data) == 0 {
			return nil, nil, badRequest("%s.custom.data: must not be empty", path)
		}
		return protocol.Custom{Data: append([]byte(nil), c.Data...)}, nil, nil
	}
}

func modifierFromJSON(m *gen.TrafficProtocolModifier, k protocol.Kind, path string) (generator.Modifier, error) {
	out := generator.Modifier{Permute: m.Permute}
	name, ok := apiFieldNames[k][m.Name]
	if !ok {
		return out, badRequest("%s.name: %q is not a modifiable field of this protocol (%s)", path, m.Name, apiNames(k))
	}
	out.Name = name
	if m.Offset != nil {
		if k != protocol.KindCustom {
			return out, badRequest("%s.offset: only custom data takes an offset", path)
		}
		out.Offset = int(*m.Offset)
	}
	set := 0
	for _, x := range []bool{m.Field != nil, m.Ipv4 != nil, m.Ipv6 != nil, m.Mac != nil} {
		if x {
			set++
		}
	}
	if set != 1 {
		return out, badRequest("%s: exactly one of field, ipv4, ipv6 and mac must be set", path)
	}
	if f := m.Field; f != nil {
		out.Kind = generator.KindField
		fp := path + ".field"
		switch {
		case f.List != nil && f.Sequence != nil:
			return out, badRequest("%s: only one of list and sequence may be set", fp)
		case f.List != nil:
			for _, v := range *f.List {
				out.List = append(out.List, generator.Uint(uint64(v)))
			}
			if out.List == nil {
				out.List = []generator.Value{}
			}
		case f.Sequence != nil:
			q := f.Sequence
			if q.Count > generator.MaxModifierValues {
				return out, badRequest("%s.sequence.count: %d values is more than %d", fp, q.Count, generator.MaxModifierValues)
			}
			s := &generator.ValueSequence{Count: uint32(q.Count), Start: generator.Uint(uint64(q.Start))}
			if q.Stop != nil {
				v := generator.Uint(uint64(*q.Stop))
				s.Stop = &v
			}
			if q.Skip != nil {
				for _, v := range *q.Skip {
					s.Skip = append(s.Skip, generator.Uint(uint64(v)))
				}
			}
			out.Sequence = s
		default:
			return out, badRequest("%s: one of list and sequence is required", fp)
		}
		return out, nil
	}
	var (
		am    *gen.TrafficProtocolAddressModifier
		kind  generator.ValueKind
		ap    string
		parse func(s, p string) (generator.Value, error)
	)
	switch {
	case m.Ipv4 != nil:
		am, kind, ap = m.Ipv4, generator.KindIPv4, path+".ipv4"
		parse = func(s, p string) (generator.Value, error) {
			a, err := parseIPField(s, p, false)
			if err != nil {
				return generator.Value{}, err
			}
			return generator.IPv4Addr(a.As4()), nil
		}
	case m.Ipv6 != nil:
		am, kind, ap = m.Ipv6, generator.KindIPv6, path+".ipv6"
		parse = func(s, p string) (generator.Value, error) {
			a, err := parseIPField(s, p, true)
			if err != nil {
				return generator.Value{}, err
			}
			return generator.IPv6Addr(a.As16()), nil
		}
	default:
		am, kind, ap = m.Mac, generator.KindMAC, path+".mac"
		parse = func(s, p string) (generator.Value, error) {
			mac, err := parseMACField(s, p)
			return generator.MACAddr(mac), err
		}
	}
	out.Kind = kind
	switch {
	case am.List != nil && am.Sequence != nil:
		return out, badRequest("%s: only one of list and sequence may be set", ap)
	case am.List != nil:
		if len(*am.List) > generator.MaxModifierValues {
			return out, badRequest("%s.list: %d values is more than %d", ap, len(*am.List), generator.MaxModifierValues)
		}
		out.List = []generator.Value{}
		for i, s := range *am.List {
			v, err := parse(s, fmt.Sprintf("%s.list[%d]", ap, i))
			if err != nil {
				return out, err
			}
			out.List = append(out.List, v)
		}
	case am.Sequence != nil:
		q := am.Sequence
		if q.Count > generator.MaxModifierValues {
			return out, badRequest("%s.sequence.count: %d values is more than %d", ap, q.Count, generator.MaxModifierValues)
		}
		start, err := parse(q.Start, ap+".sequence.start")
		if err != nil {
			return out, err
		}
		s := &generator.ValueSequence{Count: uint32(q.Count), Start: start}
		if q.Stop != nil {
			v, err := parse(*q.Stop, ap+".sequence.stop")
			if err != nil {
				return out, err
			}
			s.Stop = &v
		}
		if q.Skip != nil {
			for i, x := range *q.Skip {
				v, err := parse(x, fmt.Sprintf("%s.sequence.skip[%d]", ap, i))
				if err != nil {
					return out, err
				}
				s.Skip = append(s.Skip, v)
			}
		}
		out.Sequence = s
	default:
		return out, badRequest("%s: one of list and sequence is required", ap)
	}
	return out, nil
}
