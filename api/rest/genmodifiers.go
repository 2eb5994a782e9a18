package rest

import (
	"fmt"
	"strings"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packet/protocol"
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

// modifierFromJSON turns a header's modifier into the generator's; k is
// the header's kind.
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
