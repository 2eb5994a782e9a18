package stack

import (
	"net/netip"
	"testing"
	"time"

	"go.uber.org/zap"
)

// FuzzDHCP4Reply feeds arbitrary frames to DHCPv4 clients waiting for an
// OFFER and for an ACK (the parsers of outside input: the UDP frame, the
// message and its options, and the client's checks): no panic, and a
// client that binds holds a usable lease. Seeds: testdata/fuzz and real
// replies from the fake server.
func FuzzDHCP4Reply(f *testing.F) {
	srv := newFakeServer4()
	h := &fakeHost4{}
	c := newDHCP4Client(testMAC, &IPv4Config{Method: MethodDHCP}, h, zap.NewNop())
	now := time.Unix(1000, 0)
	c.start(now)
	c.expire(c.deadline())
	offer := srv.answer(f, h.sent[len(h.sent)-1])
	c.receive(now, offer)
	ack := srv.answer(f, h.sent[len(h.sent)-1])
	srv.nak = true
	nak := srv.answer(f, h.sent[len(h.sent)-1])
	for _, s := range [][]byte{offer, ack, nak, offer[:100], {}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		if p := dhcpClientPort(frame); p != 0 && p != dhcp4ClientPort && p != dhcp6ClientPort {
			t.Fatalf("classified as port %d", p)
		}
		if in, ok := parseUDPFrame(frame); ok {
			if m, err := parseDHCP4(in.payload); err == nil {
				if _, err := parseDHCP4(m.marshal()); err != nil {
					t.Fatalf("a parsed message does not parse once re-encoded: %v", err)
				}
			}
		}
		for _, state := range []string{DHCPSelecting, DHCPRequesting, DHCPRenewing} {
			h := &fakeHost4{}
			c := newDHCP4Client(testMAC, &IPv4Config{Method: MethodDHCP}, h, zap.NewNop())
			c.state, c.xid, c.begun, c.next = state, 0x01020304, now, now.Add(time.Second)
			c.offer = &dhcp4Msg{yiaddr: netip.MustParseAddr("192.0.2.50"), serverID: srv.ip}
			if state == DHCPRenewing {
				c.lease = &dhcp4Lease{addr: srv.offer, prefix: 24, server: srv.ip, lease: time.Minute, t1: 30 * time.Second, t2: 50 * time.Second, acquired: now}
			}
			// The fuzzer rarely guesses the xid; give it the client's.
			if in, ok := parseUDPFrame(frame); ok && len(in.payload) >= 8 {
				copy(in.payload[4:8], []byte{1, 2, 3, 4})
			}
			c.receive(now, frame)
			if l := c.lease; c.state == DHCPBound && (l == nil || !l.addr.Is4() || l.prefix < 1 || l.prefix > 32 || l.t1 > l.t2 || l.t2 > l.lease) {
				t.Fatalf("bound with lease %+v", l)
			}
		}
	})
}

// FuzzDHCP6Reply feeds arbitrary frames to a stateless DHCPv6 client
// waiting for its Reply: no panic, and an accepted Reply leaves it
// informed with a server DUID.
func FuzzDHCP6Reply(f *testing.F) {
	srvMAC := [6]byte{2, 0xee, 0, 0, 0, 6}
	srvLL := netip.MustParseAddr("fe80::ee:1")
	ll := netip.MustParseAddr("fe80::ff:fe00:d01")
	reply := &dhcp6Msg{typ: dhcp6Reply, xid: 0x010203, serverID: []byte{0, 1, 0, 1, 9, 9, 9, 9, 2, 0xee, 0, 0, 0, 6},
		clientID: duidLL(testMAC), dns: []netip.Addr{netip.MustParseAddr("fd00::53")}, domains: []string{"emu.test"},
		refresh: 600, hasRefresh: true}
	good := udp6Frame(srvMAC, testMAC, srvLL, ll, dhcp6ServerPort, dhcp6ClientPort, reply.marshal())
	f.Add(good)
	f.Add(good[:70])
	f.Add([]byte{})
	now := time.Unix(1000, 0)
	f.Fuzz(func(t *testing.T, frame []byte) {
		if in, ok := parseUDPFrame(frame); ok {
			if m, err := parseDHCP6(in.payload); err == nil {
				if _, err := parseDHCP6(m.marshal()); err != nil {
					t.Fatalf("a parsed message does not parse once re-encoded: %v", err)
				}
			}
			if len(in.payload) >= 4 {
				copy(in.payload[1:4], []byte{1, 2, 3}) // the client's xid
			}
		}
		c := newDHCP6Client(testMAC, ll, &fakeHost6{}, zap.NewNop())
		c.xid, c.rt, c.begun, c.next = 0x010203, time.Second, now, now.Add(time.Second)
		c.receive(now, frame)
		if i := c.Info(); i.State == DHCP6Informed && i.Server == "" {
			t.Fatalf("informed without a server: %+v", i)
		}
	})
}
