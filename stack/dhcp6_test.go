package stack

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/zap"
)

// fakeHost6 records what a DHCPv6 client sends.
type fakeHost6 struct{ sent [][]byte }

func (h *fakeHost6) send(f []byte) { h.sent = append(h.sent, f) }

func TestDHCP6InformationRequestIsAnsweredAndRefreshed(t *testing.T) {
	ll := netip.MustParseAddr("fe80::ff:fe00:d01")
	h := &fakeHost6{}
	c := newDHCP6Client(testMAC, ll, h, zap.NewNop())
	now := time.Unix(1000, 0)
	c.start(now)
	if w := c.deadline().Sub(now); w < 0 || w > infMaxDelay {
		t.Fatalf("first Information-Request after %v, want within INF_MAX_DELAY", w)
	}
	now = c.deadline()
	c.expire(now)
	if len(h.sent) != 1 || c.Info().State != DHCP6Requesting {
		t.Fatalf("sent %d, state %s", len(h.sent), c.Info().State)
	}
	in, ok := parseUDPFrame(h.sent[0])
	if !ok || in.dstMAC != allDHCP6MAC || in.dst != allDHCP6 || in.src != ll || in.sport != 546 || in.dport != 547 {
		t.Fatalf("Information-Request sent as %+v", in)
	}
	m, err := parseDHCP6(in.payload)
	if err != nil || m.typ != dhcp6InformationRequest || !bytes.Equal(m.clientID, duidLL(testMAC)) || !m.hasElapsed ||
		len(m.oro) != 3 || m.oro[2] != opt6InfoRefresh {
		t.Fatalf("Information-Request %+v (%v)", m, err)
	}

	// Retransmissions roughly double (RFC 8415 section 15) with the same xid.
	prev := c.deadline().Sub(now)
	for range 3 {
		now = c.deadline()
		c.expire(now)
		rt := c.deadline().Sub(now)
		if rt < prev*19/10 || rt > prev*21/10+1 {
			t.Errorf("retransmission timeout %v after %v", rt, prev)
		}
		prev = rt
	}
	last, _ := parseUDPFrame(h.sent[len(h.sent)-1])
	lm, _ := parseDHCP6(last.payload)
	if lm.xid != m.xid || lm.elapsed == 0 {
		t.Errorf("retransmission xid %x (first %x), elapsed %d", lm.xid, m.xid, lm.elapsed)
	}

	srvMAC, srvLL := [6]byte{2, 0xee, 0, 0, 0, 6}, netip.MustParseAddr("fe80::ee:1")
	reply := func(mut func(*dhcp6Msg)) []byte {
		r := &dhcp6Msg{typ: dhcp6Reply, xid: m.xid, serverID: []byte{0, 3, 0, 1, 2, 0xee, 0, 0, 0, 6}, clientID: m.clientID,
			dns: []netip.Addr{netip.MustParseAddr("fd00::53")}, domains: []string{"emu.test", "lab.example"},
			refresh: 1200, hasRefresh: true}
		if mut != nil {
			mut(r)
		}
		return udp6Frame(srvMAC, testMAC, srvLL, ll, dhcp6ServerPort, dhcp6ClientPort, r.marshal())
	}
	for name, mut := range map[string]func(*dhcp6Msg){
		"other xid":       func(r *dhcp6Msg) { r.xid ^= 1 },
		"no server id":    func(r *dhcp6Msg) { r.serverID = nil },
		"other client id": func(r *dhcp6Msg) { r.clientID = duidLL([6]byte{2, 9, 9, 9, 9, 9}) },
		"not a reply":     func(r *dhcp6Msg) { r.typ = 2 },
		"UnspecFail":      func(r *dhcp6Msg) { r.status = dhcp6StatusUnspec },
	} {
		c.receive(now, reply(mut))
		if c.Info().State != DHCP6Requesting {
			t.Fatalf("%s: accepted", name)
		}
	}
	c.receive(now, reply(nil))
	info := c.Info()
	if info.State != DHCP6Informed || info.Server != "0003000102ee00000006" || len(info.DNS) != 1 ||
		len(info.Domains) != 2 || info.Domains[1] != "lab.example" || info.Refresh != 20*time.Minute || info.Replies != 1 {
		t.Fatalf("info %+v", info)
	}
	if got := c.deadline().Sub(now); got != 20*time.Minute {
		t.Errorf("refresh in %v, want the server's 20 minutes", got)
	}
	// The refresh starts a new exchange.
	c.expire(c.deadline())
	nm, _ := parseUDPFrame(h.sent[len(h.sent)-1])
	if x, _ := parseDHCP6(nm.payload); x.xid == m.xid {
		t.Errorf("refresh reused the old transaction id")
	}
}

func TestDHCP6RefreshTimeHasAFloor(t *testing.T) {
	ll := netip.MustParseAddr("fe80::1")
	h := &fakeHost6{}
	c := newDHCP6Client(testMAC, ll, h, zap.NewNop())
	now := time.Unix(1000, 0)
	c.start(now)
	c.expire(c.deadline())
	in, _ := parseUDPFrame(h.sent[0])
	m, _ := parseDHCP6(in.payload)
	r := &dhcp6Msg{typ: dhcp6Reply, xid: m.xid, serverID: []byte{0, 3, 0, 1, 1, 2, 3, 4, 5, 6}, refresh: 5, hasRefresh: true}
	c.receive(now, udp6Frame([6]byte{2}, testMAC, ll, ll, 547, 546, r.marshal()))
	if got := c.deadline().Sub(now); got != irtMinimum {
		t.Errorf("refresh in %v, want IRT_MINIMUM", got)
	}
}

func TestParseDomainList(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want []string
		bad  bool
	}{
		{appendDomainList(nil, []string{"a.example", "b"}), []string{"a.example", "b"}, false},
		{[]byte{1, 'a', 2, 'b', 'c'}, []string{"a.bc"}, false}, // no root label at the end
		{[]byte{5, 'a'}, nil, true},
		{[]byte{64}, nil, true},
		{nil, nil, false},
	} {
		got, err := parseDomainList(tc.in)
		if (err != nil) != tc.bad || len(got) != len(tc.want) {
			t.Errorf("% x: %q, %v", tc.in, got, err)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("% x: %q", tc.in, got)
			}
		}
	}
}
