package stack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"time"
)

// DHCPv4 message layout (RFC 2131 section 2) and the option codes we use
// (RFC 2132).
const (
	dhcp4FixedLen = 236 // op .. file, before the magic cookie
	dhcp4MinLen   = 300 // BOOTP's minimum; some servers drop shorter requests
	dhcp4Magic    = 0x63825363

	bootRequest = 1
	bootReply   = 2

	dhcp4Discover = 1
	dhcp4Offer    = 2
	dhcp4Request  = 3
	dhcp4Decline  = 4
	dhcp4Ack      = 5
	dhcp4Nak      = 6
	dhcp4Release  = 7

	optPad        = 0
	optSubnetMask = 1
	optRouter     = 3
	optDNS        = 6
	optHostname   = 12
	optDomainName = 15
	optRequested  = 50
	optLeaseTime  = 51
	optOverload   = 52
	optMsgType    = 53
	optServerID   = 54
	optParamList  = 55
	optMessage    = 56
	optMaxMsgSize = 57
	optT1         = 58
	optT2         = 59
	optClientID   = 61
	optEnd        = 255

	// dhcp4Broadcast asks the server to broadcast its replies; we leave it
	// clear so replies come unicast to our MAC and reach only this
	// interface, not every interface on the port.
	dhcp4Broadcast = 0x8000
)

// dhcp4Msg is a DHCPv4 message: the fixed fields and the options this
// client sends or understands. Zero values mean "absent".
type dhcp4Msg struct {
	op                             byte
	xid                            uint32
	secs                           uint16
	flags                          uint16
	ciaddr, yiaddr, siaddr, giaddr netip.Addr
	chaddr                         [6]byte

	typ        byte         // option 53
	serverID   netip.Addr   // option 54
	requested  netip.Addr   // option 50
	prefix     int          // option 1 as a prefix length; -1 when absent
	routers    []netip.Addr // option 3
	dns        []netip.Addr // option 6
	domain     string       // option 15
	lease      uint32       // option 51, seconds
	t1, t2     uint32       // options 58, 59, seconds
	hasLease   bool
	hasT1      bool
	hasT2      bool
	hostname   string // option 12
	clientID   []byte // option 61
	message    string // option 56
	paramList  []byte // option 55
	maxMsgSize uint16 // option 57
}

// errDHCP4 marks a DHCPv4 message that cannot be parsed.
var errDHCP4 = errors.New("malformed DHCPv4 message")

func addr4(b []byte) netip.Addr { return netip.AddrFrom4([4]byte(b[:4])) }

// parseDHCP4 decodes a DHCPv4 message (the UDP payload). It checks the
// framing only; whether the message makes sense is the client's call.
func parseDHCP4(b []byte) (*dhcp4Msg, error) {
	if len(b) < dhcp4FixedLen+4 {
		return nil, fmt.Errorf("%w: %d bytes", errDHCP4, len(b))
	}
	if binary.BigEndian.Uint32(b[dhcp4FixedLen:]) != dhcp4Magic {
		return nil, fmt.Errorf("%w: no magic cookie", errDHCP4)
	}
	if b[1] != 1 || b[2] != 6 {
		return nil, fmt.Errorf("%w: hardware type %d length %d, want Ethernet", errDHCP4, b[1], b[2])
	}
	m := &dhcp4Msg{op: b[0], prefix: -1,
		xid:    binary.BigEndian.Uint32(b[4:8]),
		secs:   binary.BigEndian.Uint16(b[8:10]),
		flags:  binary.BigEndian.Uint16(b[10:12]),
		ciaddr: addr4(b[12:]), yiaddr: addr4(b[16:]), siaddr: addr4(b[20:]), giaddr: addr4(b[24:]),
		chaddr: [6]byte(b[28:34])}
	overload, err := m.parseOptions(b[dhcp4FixedLen+4:], true)
	if err != nil {
		return nil, err
	}
	// Option overload (RFC 2132 9.3): more options in file, then sname.
	if overload&1 != 0 {
		if _, err := m.parseOptions(b[108:236], false); err != nil {
			return nil, err
		}
	}
	if overload&2 != 0 {
		if _, err := m.parseOptions(b[44:108], false); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// parseOptions reads one options area. The first occurrence of an option
// wins (no RFC 3396 concatenation: none of ours is that long).
func (m *dhcp4Msg) parseOptions(b []byte, top bool) (overload byte, err error) {
	seen := map[byte]bool{}
	for i := 0; i < len(b); {
		code := b[i]
		if code == optPad {
			i++
			continue
		}
		if code == optEnd {
			return overload, nil
		}
		if i+1 >= len(b) || i+2+int(b[i+1]) > len(b) {
			return 0, fmt.Errorf("%w: option %d overruns the message", errDHCP4, code)
		}
		v := b[i+2 : i+2+int(b[i+1])]
		i += 2 + len(v)
		if seen[code] {
			continue
		}
		seen[code] = true
		if err := m.setOption(code, v); err != nil {
			return 0, err
		}
		if code == optOverload && top && len(v) == 1 {
			overload = v[0]
		}
	}
	// A missing end option is tolerated: the message simply stops.
	return overload, nil
}

func (m *dhcp4Msg) setOption(code byte, v []byte) error {
	bad := func() error { return fmt.Errorf("%w: option %d has length %d", errDHCP4, code, len(v)) }
	switch code {
	case optMsgType:
		if len(v) != 1 {
			return bad()
		}
		m.typ = v[0]
	case optServerID, optRequested:
		if len(v) != 4 {
			return bad()
		}
		if code == optServerID {
			m.serverID = addr4(v)
		} else {
			m.requested = addr4(v)
		}
	case optSubnetMask:
		if len(v) != 4 {
			return bad()
		}
		mask := binary.BigEndian.Uint32(v)
		ones := bits.LeadingZeros32(^mask)
		if mask<<ones != 0 { // not contiguous
			return fmt.Errorf("%w: subnet mask %s is not contiguous", errDHCP4, addr4(v))
		}
		m.prefix = ones
	case optRouter, optDNS:
		if len(v) == 0 || len(v)%4 != 0 {
			return bad()
		}
		var list []netip.Addr
		for j := 0; j < len(v); j += 4 {
			list = append(list, addr4(v[j:]))
		}
		if code == optRouter {
			m.routers = list
		} else {
			m.dns = list
		}
	case optLeaseTime, optT1, optT2:
		if len(v) != 4 {
			return bad()
		}
		s := binary.BigEndian.Uint32(v)
		switch code {
		case optLeaseTime:
			m.lease, m.hasLease = s, true
		case optT1:
			m.t1, m.hasT1 = s, true
		default:
			m.t2, m.hasT2 = s, true
		}
	case optMaxMsgSize:
		if len(v) != 2 {
			return bad()
		}
		m.maxMsgSize = binary.BigEndian.Uint16(v)
	case optHostname:
		m.hostname = string(v)
	case optDomainName:
		m.domain = string(v)
	case optMessage:
		m.message = string(v)
	case optClientID:
		m.clientID = append([]byte(nil), v...)
	case optParamList:
		m.paramList = append([]byte(nil), v...)
	}
	return nil
}

// marshal encodes the message; options longer than 255 bytes are cut.
func (m *dhcp4Msg) marshal() []byte {
	b := make([]byte, dhcp4FixedLen+4, dhcp4MinLen+64)
	b[0], b[1], b[2] = m.op, 1, 6
	binary.BigEndian.PutUint32(b[4:], m.xid)
	binary.BigEndian.PutUint16(b[8:], m.secs)
	binary.BigEndian.PutUint16(b[10:], m.flags)
	for off, a := range map[int]netip.Addr{12: m.ciaddr, 16: m.yiaddr, 20: m.siaddr, 24: m.giaddr} {
		if a.Is4() {
			a4 := a.As4()
			copy(b[off:], a4[:])
		}
	}
	copy(b[28:], m.chaddr[:])
	binary.BigEndian.PutUint32(b[dhcp4FixedLen:], dhcp4Magic)
	opt := func(code byte, v []byte) {
		if len(v) > 255 {
			v = v[:255]
		}
		b = append(b, code, byte(len(v)))
		b = append(b, v...)
	}
	u32 := func(x uint32) []byte { return binary.BigEndian.AppendUint32(nil, x) }
	ip := func(a netip.Addr) []byte { a4 := a.As4(); return a4[:] }
	ips := func(l []netip.Addr) []byte {
		var v []byte
		for _, a := range l {
			v = append(v, ip(a)...)
		}
		return v
	}
	if m.typ != 0 {
		opt(optMsgType, []byte{m.typ})
	}
	if len(m.clientID) > 0 {
		opt(optClientID, m.clientID)
	}
	if m.requested.Is4() {
		opt(optRequested, ip(m.requested))
	}
	if m.serverID.Is4() {
		opt(optServerID, ip(m.serverID))
	}
	if m.hostname != "" {
		opt(optHostname, []byte(m.hostname))
	}
	if len(m.paramList) > 0 {
		opt(optParamList, m.paramList)
	}
	if m.maxMsgSize != 0 {
		opt(optMaxMsgSize, binary.BigEndian.AppendUint16(nil, m.maxMsgSize))
	}
	if m.prefix >= 0 && m.prefix <= 32 {
		opt(optSubnetMask, u32(^uint32(0)<<(32-m.prefix)))
	}
	if len(m.routers) > 0 {
		opt(optRouter, ips(m.routers))
	}
	if len(m.dns) > 0 {
		opt(optDNS, ips(m.dns))
	}
	if m.domain != "" {
		opt(optDomainName, []byte(m.domain))
	}
	if m.hasLease {
		opt(optLeaseTime, u32(m.lease))
	}
	if m.hasT1 {
		opt(optT1, u32(m.t1))
	}
	if m.hasT2 {
		opt(optT2, u32(m.t2))
	}
	if m.message != "" {
		opt(optMessage, []byte(m.message))
	}
	b = append(b, optEnd)
	for len(b) < dhcp4MinLen {
		b = append(b, optPad)
	}
	return b
}

// dhcp4Lease is what an ACK granted.
type dhcp4Lease struct {
	addr     netip.Addr
	prefix   int
	gateway  netip.Addr // invalid when the server named no router
	server   netip.Addr // server identifier: renewals go there
	serverHW [6]byte    // the MAC the ACK came from: where unicasts go
	dns      []netip.Addr
	lease    time.Duration // 0: infinite
	t1, t2   time.Duration
	acquired time.Time
}

// leaseFromAck turns an ACK into a lease, filling the defaults RFC 2131
// section 4.4.5 gives for T1 and T2 and putting them in order.
func leaseFromAck(m *dhcp4Msg, now time.Time, from [6]byte) (*dhcp4Lease, error) {
	a := m.yiaddr
	if !a.Is4() || a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || a.IsLoopback() {
		return nil, fmt.Errorf("ACK offers %s, not a usable address", a)
	}
	l := &dhcp4Lease{addr: a, prefix: m.prefix, server: m.serverID, serverHW: from, dns: m.dns, acquired: now}
	if l.prefix <= 0 || l.prefix > 32 {
		l.prefix = classfulPrefix(a)
	}
	for _, r := range m.routers {
		// The first router inside our subnet; one outside it cannot be
		// reached without another route.
		if r.Is4() && !r.IsUnspecified() && r != a && netip.PrefixFrom(a, l.prefix).Masked().Contains(r) {
			l.gateway = r
			break
		}
	}
	if !m.hasLease || m.lease == 0xffffffff {
		return l, nil // infinite: never renew
	}
	l.lease = time.Duration(max(m.lease, 1)) * time.Second
	l.t1, l.t2 = l.lease/2, l.lease*7/8
	if m.hasT1 {
		l.t1 = time.Duration(m.t1) * time.Second
	}
	if m.hasT2 {
		l.t2 = time.Duration(m.t2) * time.Second
	}
	if l.t2 <= 0 || l.t2 >= l.lease {
		l.t2 = l.lease * 7 / 8
	}
	if l.t1 <= 0 || l.t1 >= l.t2 {
		l.t1 = l.t2 * 4 / 7 // the default 1/2 : 7/8 ratio
		if l.t1 <= 0 {
			l.t1 = l.t2
		}
	}
	return l, nil
}

// classfulPrefix is the prefix a server that sends no subnet mask implies
// (RFC 2131 leaves it to the client; the old classes are the usual guess).
func classfulPrefix(a netip.Addr) int {
	switch b := a.As4()[0]; {
	case b < 128:
		return 8
	case b < 192:
		return 16
	default:
		return 24
	}
}

// clientIDBytes is option 61 from the configured client identifier:
// colon-separated hex bytes ("01:02:00:00:00:00:0a") are sent as they are,
// anything else as type 0 (not a hardware address) followed by the text.
func clientIDBytes(s string) []byte {
	if s == "" {
		return nil
	}
	if raw, ok := hexBytes(s); ok && len(raw) >= 2 {
		return raw
	}
	return append([]byte{0}, s...)
}

func hexBytes(s string) ([]byte, bool) {
	var out []byte
	for len(s) > 0 {
		n := 0
		var v byte
		for n < len(s) && n < 2 && s[n] != ':' {
			c := s[n]
			switch {
			case c >= '0' && c <= '9':
				v = v<<4 | (c - '0')
			case c >= 'a' && c <= 'f':
				v = v<<4 | (c - 'a' + 10)
			case c >= 'A' && c <= 'F':
				v = v<<4 | (c - 'A' + 10)
			default:
				return nil, false
			}
			n++
		}
		if n == 0 {
			return nil, false
		}
		out = append(out, v)
		s = s[n:]
		if len(s) > 0 {
			if s[0] != ':' || len(s) == 1 {
				return nil, false
			}
			s = s[1:]
		}
	}
	return out, len(out) > 0
}
