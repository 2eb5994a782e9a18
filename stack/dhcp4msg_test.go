package stack

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestDHCP4MessageRoundTrips(t *testing.T) {
	m := &dhcp4Msg{op: bootReply, xid: 0xdeadbeef, secs: 3, flags: 0, chaddr: testMAC, typ: dhcp4Ack,
		yiaddr: netip.MustParseAddr("10.1.2.3"), serverID: netip.MustParseAddr("10.1.0.1"), prefix: 22,
		routers: []netip.Addr{netip.MustParseAddr("10.1.0.254")}, dns: []netip.Addr{netip.MustParseAddr("10.1.0.53")},
		lease: 600, hasLease: true, t1: 100, hasT1: true, t2: 500, hasT2: true, hostname: "h", clientID: []byte{1, 2},
		domain: "emu.test", message: "ok"}
	b := m.marshal()
	if len(b) < dhcp4MinLen {
		t.Errorf("%d bytes, shorter than BOOTP's 300", len(b))
	}
	got, err := parseDHCP4(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.xid != m.xid || got.typ != m.typ || got.yiaddr != m.yiaddr || got.serverID != m.serverID || got.prefix != 22 ||
		got.routers[0] != m.routers[0] || got.dns[0] != m.dns[0] || got.lease != 600 || got.t1 != 100 || got.t2 != 500 ||
		got.hostname != "h" || !bytes.Equal(got.clientID, m.clientID) || got.domain != "emu.test" || got.message != "ok" || got.chaddr != testMAC {
		t.Errorf("round trip: %+v", got)
	}
}

func TestDHCP4ParserRefusesBrokenMessages(t *testing.T) {
	good := (&dhcp4Msg{op: bootReply, typ: dhcp4Offer, prefix: -1}).marshal()
	for name, mut := range map[string]func([]byte) []byte{
		"short":           func(b []byte) []byte { return b[:239] },
		"no cookie":       func(b []byte) []byte { b[236] = 0; return b },
		"not ethernet":    func(b []byte) []byte { b[1] = 6; return b },
		"option overruns": func(b []byte) []byte { return append(b[:240], optHostname, 10, 'a') },
		"bad type length": func(b []byte) []byte { return append(b[:240], optMsgType, 2, 1, 1, optEnd) },
		"holey mask":      func(b []byte) []byte { return append(b[:240], optSubnetMask, 4, 255, 0, 255, 0, optEnd) },
		"router length":   func(b []byte) []byte { return append(b[:240], optRouter, 3, 1, 2, 3, optEnd) },
		"overload overruns": func(b []byte) []byte {
			b = append(b[:240], optOverload, 1, 1, optEnd)
			b[108] = optHostname
			b[109] = 200
			return b
		},
	} {
		if _, err := parseDHCP4(mut(append([]byte(nil), good...))); !errors.Is(err, errDHCP4) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestDHCP4OptionOverloadIsRead(t *testing.T) {
	b := (&dhcp4Msg{op: bootReply, typ: dhcp4Ack, prefix: -1}).marshal()[:240]
	b = append(b, optMsgType, 1, dhcp4Ack, optOverload, 1, 3, optEnd)
	copy(b[108:], []byte{optRouter, 4, 192, 0, 2, 1, optEnd}) // file
	copy(b[44:], []byte{optLeaseTime, 4, 0, 0, 1, 0, optEnd}) // sname
	m, err := parseDHCP4(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.routers) != 1 || m.routers[0] != netip.MustParseAddr("192.0.2.1") || !m.hasLease || m.lease != 256 {
		t.Errorf("overloaded options: routers %v lease %d", m.routers, m.lease)
	}
}

func TestLeaseFromAck(t *testing.T) {
	now := time.Unix(1000, 0)
	ack := func(mut func(*dhcp4Msg)) *dhcp4Msg {
		m := &dhcp4Msg{yiaddr: netip.MustParseAddr("10.0.0.5"), prefix: 24, lease: 800, hasLease: true,
			routers: []netip.Addr{netip.MustParseAddr("10.9.9.9"), netip.MustParseAddr("10.0.0.1")}}
		if mut != nil {
			mut(m)
		}
		return m
	}
	for _, tc := range []struct {
		name          string
		mut           func(*dhcp4Msg)
		t1, t2, lease time.Duration
		prefix        int
		gateway       string
		wantErr       bool
	}{
		{name: "defaults", t1: 400 * time.Second, t2: 700 * time.Second, lease: 800 * time.Second, prefix: 24, gateway: "10.0.0.1"},
		{name: "server timers", mut: func(m *dhcp4Msg) { m.t1, m.hasT1, m.t2, m.hasT2 = 10, true, 20, true },
			t1: 10 * time.Second, t2: 20 * time.Second, lease: 800 * time.Second, prefix: 24, gateway: "10.0.0.1"},
		{name: "timers out of order", mut: func(m *dhcp4Msg) { m.t1, m.hasT1, m.t2, m.hasT2 = 900, true, 1000, true },
			t1: 400 * time.Second, t2: 700 * time.Second, lease: 800 * time.Second, prefix: 24, gateway: "10.0.0.1"},
		{name: "classful without a mask", mut: func(m *dhcp4Msg) { m.prefix = -1 },
			t1: 400 * time.Second, t2: 700 * time.Second, lease: 800 * time.Second, prefix: 8, gateway: "10.9.9.9"},
		{name: "infinite", mut: func(m *dhcp4Msg) { m.lease = 0xffffffff }, prefix: 24, gateway: "10.0.0.1"},
		{name: "no address", mut: func(m *dhcp4Msg) { m.yiaddr = zero4 }, wantErr: true},
		{name: "broadcast address", mut: func(m *dhcp4Msg) { m.yiaddr = broadcast4 }, wantErr: true},
	} {
		l, err := leaseFromAck(ack(tc.mut), now, [6]byte{})
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if err != nil {
			continue
		}
		if l.t1 != tc.t1 || l.t2 != tc.t2 || l.lease != tc.lease || l.prefix != tc.prefix || l.gateway.String() != tc.gateway {
			t.Errorf("%s: %+v", tc.name, l)
		}
	}
}

func TestClientIDOption(t *testing.T) {
	for in, want := range map[string][]byte{
		"":                     nil,
		"01:02:00:00:00:00:0a": {1, 2, 0, 0, 0, 0, 0xa},
		"1:2":                  {1, 2},
		"host-7":               append([]byte{0}, "host-7"...),
		"ab":                   append([]byte{0}, "ab"...), // one byte is not an identifier
		"01:02:":               append([]byte{0}, "01:02:"...),
		"0g:01":                append([]byte{0}, "0g:01"...),
	} {
		if got := clientIDBytes(in); !bytes.Equal(got, want) {
			t.Errorf("%q: % x, want % x", in, got, want)
		}
	}
}
