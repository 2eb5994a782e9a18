package stack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// DHCPv6 message types and options (RFC 8415 sections 7.3 and 21; DNS
// options from RFC 3646).
const (
	dhcp6InformationRequest = 11
	dhcp6Reply              = 7

	opt6ClientID    = 1
	opt6ServerID    = 2
	opt6ORO         = 6
	opt6ElapsedTime = 8
	opt6StatusCode  = 13
	opt6DNSServers  = 23
	opt6DomainList  = 24
	opt6InfoRefresh = 32
)

// errDHCP6 marks a DHCPv6 message that cannot be parsed.
var errDHCP6 = errors.New("malformed DHCPv6 message")

// dhcp6Msg is a DHCPv6 client/server message with the options a
// stateless client uses.
type dhcp6Msg struct {
	typ        byte
	xid        uint32 // 24 bits
	clientID   []byte
	serverID   []byte
	oro        []uint16
	elapsed    uint16 // hundredths of a second
	hasElapsed bool
	status     uint16 // status code; 0 (Success) when absent
	statusMsg  string
	dns        []netip.Addr
	domains    []string
	refresh    uint32 // seconds
	hasRefresh bool
}

// parseDHCP6 decodes a DHCPv6 message (the UDP payload). Relay messages
// are not expected on a client port and are refused.
func parseDHCP6(b []byte) (*dhcp6Msg, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: %d bytes", errDHCP6, len(b))
	}
	m := &dhcp6Msg{typ: b[0], xid: uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])}
	if m.typ == 12 || m.typ == 13 {
		return nil, fmt.Errorf("%w: relay message %d", errDHCP6, m.typ)
	}
	seen := map[uint16]bool{}
	for o := b[4:]; len(o) > 0; {
		if len(o) < 4 {
			return nil, fmt.Errorf("%w: truncated option header", errDHCP6)
		}
		code, n := binary.BigEndian.Uint16(o[0:2]), int(binary.BigEndian.Uint16(o[2:4]))
		if len(o) < 4+n {
			return nil, fmt.Errorf("%w: option %d overruns the message", errDHCP6, code)
		}
		v := o[4 : 4+n]
		o = o[4+n:]
		if seen[code] {
			continue // the first one counts
		}
		seen[code] = true
		if err := m.setOption(code, v); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *dhcp6Msg) setOption(code uint16, v []byte) error {
	bad := func() error { return fmt.Errorf("%w: option %d has length %d", errDHCP6, code, len(v)) }
	switch code {
	case opt6ClientID, opt6ServerID:
		if len(v) < 2 || len(v) > 130 { // a DUID is 2 to 130 bytes (RFC 8415 section 11.1)
			return bad()
		}
		if code == opt6ClientID {
			m.clientID = append([]byte(nil), v...)
		} else {
			m.serverID = append([]byte(nil), v...)
		}
	case opt6ORO:
		if len(v)%2 != 0 {
			return bad()
		}
		for i := 0; i < len(v); i += 2 {
			m.oro = append(m.oro, binary.BigEndian.Uint16(v[i:]))
		}
	case opt6ElapsedTime:
		if len(v) != 2 {
			return bad()
		}
		m.elapsed, m.hasElapsed = binary.BigEndian.Uint16(v), true
	case opt6StatusCode:
		if len(v) < 2 {
			return bad()
		}
		m.status, m.statusMsg = binary.BigEndian.Uint16(v), string(v[2:])
	case opt6DNSServers:
		if len(v)%16 != 0 {
			return bad()
		}
		for i := 0; i < len(v); i += 16 {
			m.dns = append(m.dns, netip.AddrFrom16([16]byte(v[i:i+16])))
		}
	case opt6DomainList:
		names, err := parseDomainList(v)
		if err != nil {
			return err
		}
		m.domains = names
	case opt6InfoRefresh:
		if len(v) != 4 {
			return bad()
		}
		m.refresh, m.hasRefresh = binary.BigEndian.Uint32(v), true
	}
	return nil
}

// parseDomainList reads uncompressed DNS names (RFC 1035 section 3.1, as
// RFC 8415 section 10 requires).
func parseDomainList(v []byte) ([]string, error) {
	var names []string
	var labels []string
	for i := 0; i < len(v); {
		n := int(v[i])
		i++
		if n == 0 {
			if len(labels) > 0 {
				names = append(names, strings.Join(labels, "."))
			}
			labels = labels[:0]
			continue
		}
		if n > 63 || i+n > len(v) {
			return nil, fmt.Errorf("%w: bad label in the domain list", errDHCP6)
		}
		labels = append(labels, string(v[i:i+n]))
		i += n
	}
	if len(labels) > 0 { // a final name without its root label
		names = append(names, strings.Join(labels, "."))
	}
	return names, nil
}

// appendDomainList encodes names for option 24 (the test server uses it).
func appendDomainList(b []byte, names []string) []byte {
	for _, name := range names {
		for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
			if l == "" || len(l) > 63 {
				continue
			}
			b = append(b, byte(len(l)))
			b = append(b, l...)
		}
		b = append(b, 0)
	}
	return b
}

// marshal encodes the message.
func (m *dhcp6Msg) marshal() []byte {
	b := []byte{m.typ, byte(m.xid >> 16), byte(m.xid >> 8), byte(m.xid)}
	opt := func(code uint16, v []byte) {
		b = binary.BigEndian.AppendUint16(b, code)
		b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
		b = append(b, v...)
	}
	if len(m.clientID) > 0 {
		opt(opt6ClientID, m.clientID)
	}
	if len(m.serverID) > 0 {
		opt(opt6ServerID, m.serverID)
	}
	if m.hasElapsed {
		opt(opt6ElapsedTime, binary.BigEndian.AppendUint16(nil, m.elapsed))
	}
	if len(m.oro) > 0 {
		var v []byte
		for _, c := range m.oro {
			v = binary.BigEndian.AppendUint16(v, c)
		}
		opt(opt6ORO, v)
	}
	if m.status != 0 || m.statusMsg != "" {
		opt(opt6StatusCode, append(binary.BigEndian.AppendUint16(nil, m.status), m.statusMsg...))
	}
	if len(m.dns) > 0 {
		var v []byte
		for _, a := range m.dns {
			a16 := a.As16()
			v = append(v, a16[:]...)
		}
		opt(opt6DNSServers, v)
	}
	if len(m.domains) > 0 {
		opt(opt6DomainList, appendDomainList(nil, m.domains))
	}
	if m.hasRefresh {
		opt(opt6InfoRefresh, binary.BigEndian.AppendUint32(nil, m.refresh))
	}
	return b
}

// duidLL is the interface's DUID: DUID-LL (type 3) from its MAC, stable
// and needing no clock (RFC 8415 section 11.4).
func duidLL(mac [6]byte) []byte {
	return append([]byte{0, 3, 0, 1}, mac[:]...)
}
