package generator

import "github.com/openperfd/openperfd/packet/protocol"

// fieldSpec locates a modifiable field inside its header: a container of
// size bytes at off; bits > 0 means a sub-field of bits bits at shift within
// a 2- or 4-byte container; addr is the address kind it takes besides field
// values.
type fieldSpec struct {
	off, size   int
	bits, shift int
	addr        ValueKind // KindField: integers only
}

var fieldTable = map[protocol.Kind]map[string]fieldSpec{
	protocol.KindEthernet: {
		"destination": {off: 0, size: 6, addr: KindMAC},
		"source":      {off: 6, size: 6, addr: KindMAC},
		"ether_type":  {off: 12, size: 2},
	},
	protocol.KindVLAN: {
		"priority":      {off: 0, size: 2, bits: 3, shift: 13},
		"drop_eligible": {off: 0, size: 2, bits: 1, shift: 12},
		"vlan_id":       {off: 0, size: 2, bits: 12, shift: 0},
		"ether_type":    {off: 2, size: 2},
	},
	protocol.KindMPLS: {
		"label":           {off: 0, size: 4, bits: 20, shift: 12},
		"traffic_class":   {off: 0, size: 4, bits: 3, shift: 9},
		"bottom_of_stack": {off: 0, size: 4, bits: 1, shift: 8},
		"ttl":             {off: 0, size: 4, bits: 8, shift: 0},
	},
	protocol.KindIPv4: {
		"dscp":            {off: 0, size: 2, bits: 6, shift: 2},
		"ecn":             {off: 0, size: 2, bits: 2, shift: 0},
		"identification":  {off: 4, size: 2},
		"flags":           {off: 6, size: 2, bits: 3, shift: 13},
		"fragment_offset": {off: 6, size: 2, bits: 13, shift: 0},
		"ttl":             {off: 8, size: 2, bits: 8, shift: 8},
		"source":          {off: 12, size: 4, addr: KindIPv4},
		"destination":     {off: 16, size: 4, addr: KindIPv4},
	},
	protocol.KindIPv6: {
		"traffic_class": {off: 0, size: 4, bits: 8, shift: 20},
		"flow_label":    {off: 0, size: 4, bits: 20, shift: 0},
		"hop_limit":     {off: 6, size: 2, bits: 8, shift: 0},
		"source":        {off: 8, size: 16, addr: KindIPv6},
		"destination":   {off: 24, size: 16, addr: KindIPv6},
	},
	protocol.KindUDP: {
		"source_port":      {off: 0, size: 2},
		"destination_port": {off: 2, size: 2},
	},
	protocol.KindTCP: {
		"source_port":      {off: 0, size: 2},
		"destination_port": {off: 2, size: 2},
		"sequence_number":  {off: 4, size: 4},
		"ack_number":       {off: 8, size: 4},
		"flags":            {off: 12, size: 2, bits: 9, shift: 0},
		"window":           {off: 14, size: 2},
		"urgent_pointer":   {off: 18, size: 2},
	},
}

// FieldNames returns the modifiable field names of a header kind (custom:
// "data"). Length, checksum and header-length fields are derived by the
// builder and cannot be modified; nor can the IPv4 protocol and IPv6 next
// header, which the UDP/TCP pseudo-header checksum covers.
func FieldNames(k protocol.Kind) []string {
	if k == protocol.KindCustom {
		return []string{"data"}
	}
	var names []string
	for n := range fieldTable[k] {
		names = append(names, n)
	}
	return names
}

func protocolName(h protocol.Header) string {
	if h == nil {
		return "?"
	}
	switch h.Kind() {
	case protocol.KindEthernet:
		return "ethernet"
	case protocol.KindVLAN:
		return "vlan"
	case protocol.KindMPLS:
		return "mpls"
	case protocol.KindIPv4:
		return "ipv4"
	case protocol.KindIPv6:
		return "ipv6"
	case protocol.KindUDP:
		return "udp"
	case protocol.KindTCP:
		return "tcp"
	case protocol.KindCustom:
		return "custom"
	}
	return h.Kind().String()
}

// spec resolves the field a modifier of header h targets.
func (m *Modifier) spec(h protocol.Header) (fieldSpec, bool) {
	if c, ok := h.(protocol.Custom); ok || isCustomPtr(h) {
		if !ok {
			c = *h.(*protocol.Custom)
		}
		if m.Name != "data" {
			return fieldSpec{}, false
		}
		size := m.Kind.width()
		if size == 0 {
			size = 4
		}
		if m.Offset < 0 || m.Offset+size > len(c.Data) {
			return fieldSpec{off: -1}, false
		}
		return fieldSpec{off: m.Offset, size: size, addr: m.Kind}, true
	}
	s, ok := fieldTable[h.Kind()][m.Name]
	return s, ok
}

func isCustomPtr(h protocol.Header) bool { _, ok := h.(*protocol.Custom); return ok }

// valueBits is the width of the values a field takes.
func (s fieldSpec) valueBits() int {
	if s.bits > 0 {
		return s.bits
	}
	return s.size * 8
}
