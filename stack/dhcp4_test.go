package stack

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/zap"
)

// fakeServer4 answers DHCPv4 client frames the way a simple server does:
// OFFER to DISCOVER, ACK (or NAK) to REQUEST, unicast to the client's MAC.
type fakeServer4 struct {
	ip      netip.Addr
	mac     [6]byte
	offer   netip.Addr
	prefix  int
	router  netip.Addr
	lease   uint32
	nak     bool
	got     []*dhcp4Msg // every message received
	gotFrom []udpIn
}

func newFakeServer4() *fakeServer4 {
	return &fakeServer4{ip: netip.MustParseAddr("192.0.2.1"), mac: [6]byte{2, 0xee, 0, 0, 0, 1},
		offer: netip.MustParseAddr("192.0.2.50"), prefix: 24, router: netip.MustParseAddr("192.0.2.1"), lease: 120}
}

// answer returns the server's reply to a client frame, or nil.
func (f *fakeServer4) answer(t testing.TB, frame []byte) []byte {
	t.Helper()
	in, ok := parseUDPFrame(frame)
	if !ok || in.dport != dhcp4ServerPort {
		t.Fatalf("client sent a frame that is not DHCP to port 67: % x", frame)
	}
	m, err := parseDHCP4(in.payload)
	if err != nil {
		t.Fatalf("client sent a bad message: %v", err)
	}
	f.got, f.gotFrom = append(f.got, m), append(f.gotFrom, in)
	r := &dhcp4Msg{op: bootReply, xid: m.xid, chaddr: m.chaddr, serverID: f.ip, prefix: -1}
	switch m.typ {
	case dhcp4Discover:
		r.typ, r.yiaddr = dhcp4Offer, f.offer
	case dhcp4Request:
		if f.nak {
			r.typ, r.message = dhcp4Nak, "wrong network"
			break
		}
		r.typ, r.yiaddr, r.ciaddr = dhcp4Ack, f.offer, m.ciaddr
	default:
		return nil
	}
	if r.typ != dhcp4Nak {
		r.prefix, r.routers = f.prefix, []netip.Addr{f.router}
		r.lease, r.hasLease = f.lease, true
	}
	dst := r.yiaddr
	if !dst.IsValid() {
		dst = broadcast4 // a NAK
	}
	return udp4Frame(f.mac, m.chaddr, f.ip, dst, dhcp4ServerPort, dhcp4ClientPort, r.marshal())
}

// fakeHost4 records what a client sends and binds.
type fakeHost4 struct {
	sent  [][]byte
	bound *dhcp4Lease
	binds int
}

func (h *fakeHost4) send(f []byte) { h.sent = append(h.sent, f) }
func (h *fakeHost4) bind(_, l *dhcp4Lease) {
	h.bound = l
	h.binds++
}

func (h *fakeHost4) last(t *testing.T) []byte {
	t.Helper()
	if len(h.sent) == 0 {
		t.Fatal("client sent nothing")
	}
	return h.sent[len(h.sent)-1]
}

var testMAC = [6]byte{2, 0, 0, 0, 0x0d, 1}

func newTestClient4(cfg *IPv4Config) (*dhcp4Client, *fakeHost4) {
	h := &fakeHost4{}
	c := newDHCP4Client(testMAC, cfg, h, zap.NewNop())
	return c, h
}

// bindClient runs DISCOVER/OFFER/REQUEST/ACK from start and returns the
// time the ACK arrived.
func bindClient(t *testing.T, c *dhcp4Client, h *fakeHost4, srv *fakeServer4, now time.Time) time.Time {
	t.Helper()
	c.start(now)
	if c.state != DHCPInit || c.deadline().Sub(now) > c.timing.initialDelay {
		t.Fatalf("after start: state %s, first DISCOVER in %v", c.state, c.deadline().Sub(now))
	}
	now = c.deadline()
	c.expire(now)
	if c.state != DHCPSelecting {
		t.Fatalf("after the first timer: state %s, want selecting", c.state)
	}
	c.receive(now, srv.answer(t, h.last(t)))
	if c.state != DHCPRequesting {
		t.Fatalf("after OFFER: state %s, want requesting", c.state)
	}
	c.receive(now, srv.answer(t, h.last(t)))
	if c.state != DHCPBound {
		t.Fatalf("after ACK: state %s, want bound", c.state)
	}
	return now
}

func TestDHCP4ClientBindsThroughDORA(t *testing.T) {
	srv := newFakeServer4()
	c, h := newTestClient4(&IPv4Config{Method: MethodDHCP, Hostname: "emu-1", ClientID: "client-1"})
	now := bindClient(t, c, h, srv, time.Unix(1000, 0))

	disc, req := srv.got[0], srv.got[1]
	if disc.typ != dhcp4Discover || disc.hostname != "emu-1" || !bytes.Equal(disc.clientID, append([]byte{0}, "client-1"...)) {
		t.Errorf("DISCOVER: type %d hostname %q client id % x", disc.typ, disc.hostname, disc.clientID)
	}
	if disc.flags&dhcp4Broadcast != 0 || srv.gotFrom[0].dstMAC != broadcastMAC || srv.gotFrom[0].src != zero4 || srv.gotFrom[0].dst != broadcast4 {
		t.Errorf("DISCOVER must go from 0.0.0.0 to the broadcast address without the broadcast flag: %+v flags %#x", srv.gotFrom[0], disc.flags)
	}
	if req.typ != dhcp4Request || req.requested != srv.offer || req.serverID != srv.ip || req.xid != disc.xid || req.hostname != "emu-1" {
		t.Errorf("REQUEST: %+v", req)
	}
	if h.bound == nil || h.bound.addr != srv.offer || h.bound.prefix != 24 || h.bound.gateway != srv.router || h.bound.serverHW != srv.mac {
		t.Fatalf("bound %+v", h.bound)
	}
	st := c.Status()
	if st.State != DHCPBound || st.Address != srv.offer || st.Prefix != 24 || st.Gateway != srv.router {
		t.Errorf("status %+v", st)
	}
	if got := c.deadline().Sub(now); got != 60*time.Second {
		t.Errorf("renewal in %v, want T1 = half the 120 s lease", got)
	}
	if k := c.Counters(); k.Discovers != 1 || k.Requests != 1 || k.Offers != 1 || k.Acks != 1 {
		t.Errorf("counters %+v", k)
	}
}

func TestDHCP4ClientRenewsAtT1UnicastAndStaysBound(t *testing.T) {
	srv := newFakeServer4()
	c, h := newTestClient4(&IPv4Config{Method: MethodDHCP})
	bindClient(t, c, h, srv, time.Unix(1000, 0))
	binds := h.binds

	now := c.deadline() // T1
	c.expire(now)
	if c.state != DHCPRenewing {
		t.Fatalf("at T1: state %s, want renewing", c.state)
	}
	frame := h.last(t)
	reply := srv.answer(t, frame)
	in := srv.gotFrom[len(srv.gotFrom)-1]
	m := srv.got[len(srv.got)-1]
	if in.dstMAC != srv.mac || in.dst != srv.ip || in.src != srv.offer || m.ciaddr != srv.offer || m.requested.IsValid() || m.serverID.IsValid() {
		t.Errorf("renewing REQUEST must be unicast from the lease to the server, with ciaddr and without options 50/54: %+v %+v", in, m)
	}
	c.receive(now, reply)
	if c.state != DHCPBound || c.Counters().Renewals != 1 {
		t.Fatalf("after the renewal ACK: state %s counters %+v", c.state, c.Counters())
	}
	if h.binds != binds+1 || h.bound.acquired != now {
		t.Errorf("the renewed lease was not handed on (binds %d -> %d)", binds, h.binds)
	}
	if got := c.deadline().Sub(now); got != 60*time.Second {
		t.Errorf("next renewal in %v, want 60 s from the renewal", got)
	}
}

func TestDHCP4ClientRebindsAtT2AndRestartsWhenTheLeaseEnds(t *testing.T) {
	srv := newFakeServer4()
	c, h := newTestClient4(&IPv4Config{Method: MethodDHCP})
	acked := bindClient(t, c, h, srv, time.Unix(1000, 0))
	t2, end := acked.Add(105*time.Second), acked.Add(120*time.Second) // 7/8 and all of 120 s

	var states []string
	unicasts, broadcasts := 0, 0
	for i := 0; i < 50 && c.state != DHCPInit; i++ {
		now := c.deadline()
		if now.After(end) {
			t.Fatalf("timer at %v, after the lease ended at %v", now.Sub(acked), end.Sub(acked))
		}
		sent := len(h.sent)
		c.expire(now)
		states = append(states, c.state)
		if len(h.sent) > sent {
			in, _ := parseUDPFrame(h.last(t))
			switch {
			case in.dstMAC == broadcastMAC:
				broadcasts++
				if now.Before(t2) {
					t.Errorf("broadcast REQUEST at %v, before T2", now.Sub(acked))
				}
			default:
				unicasts++
				if !now.Before(t2) {
					t.Errorf("unicast REQUEST at %v, after T2", now.Sub(acked))
				}
			}
		}
	}
	if c.state != DHCPInit || h.bound != nil {
		t.Fatalf("after the lease ran out: state %s, bound %+v (states %v)", c.state, h.bound, states)
	}
	if unicasts < 2 || broadcasts < 1 {
		t.Errorf("%d renewing and %d rebinding REQUESTs; want retransmissions in both (states %v)", unicasts, broadcasts, states)
	}
	if c.Status().Address.IsValid() {
		t.Errorf("status keeps the address after expiry: %+v", c.Status())
	}
	// And it starts over at once.
	c.expire(c.deadline())
	if c.state != DHCPSelecting {
		t.Errorf("after expiry: %s, want selecting again", c.state)
	}
}

func TestDHCP4ClientRestartsOnNAK(t *testing.T) {
	for _, during := range []string{DHCPRequesting, DHCPRenewing} {
		t.Run(during, func(t *testing.T) {
			srv := newFakeServer4()
			c, h := newTestClient4(&IPv4Config{Method: MethodDHCP})
			now := time.Unix(1000, 0)
			if during == DHCPRequesting {
				c.start(now)
				now = c.deadline()
				c.expire(now)
				c.receive(now, srv.answer(t, h.last(t))) // OFFER
			} else {
				bindClient(t, c, h, srv, now)
				now = c.deadline()
				c.expire(now)
			}
			srv.nak = true
			c.receive(now, srv.answer(t, h.last(t)))
			if c.state != DHCPInit || h.bound != nil || c.Counters().Naks != 1 {
				t.Fatalf("after NAK: state %s bound %+v counters %+v", c.state, h.bound, c.Counters())
			}
			if wait := c.deadline().Sub(now); wait <= 0 || wait > c.timing.base {
				t.Errorf("restart after %v", wait)
			}
		})
	}
}

func TestDHCP4ClientRetransmitsWithBackoff(t *testing.T) {
	c, h := newTestClient4(&IPv4Config{Method: MethodDHCP})
	now := time.Unix(1000, 0)
	c.start(now)
	var gaps []time.Duration
	var xids []uint32
	for range 8 {
		at := c.deadline()
		c.expire(at)
		gaps = append(gaps, c.deadline().Sub(at))
		in, _ := parseUDPFrame(h.last(t))
		m, _ := parseDHCP4(in.payload)
		xids = append(xids, m.xid)
	}
	want := []time.Duration{2, 4, 8, 16, 32, 64, 64, 64}
	for i, g := range gaps {
		w := want[i] * time.Second
		if g < w-time.Second || g >= w+time.Second {
			t.Errorf("wait %d: %v, want %v ± 1 s", i, g, w)
		}
	}
	for _, x := range xids {
		if x != xids[0] {
			t.Errorf("retransmitted DISCOVERs changed xid: %v", xids)
			break
		}
	}
	if len(h.sent) != 8 || c.state != DHCPSelecting {
		t.Errorf("%d DISCOVERs, state %s", len(h.sent), c.state)
	}
}

func TestDHCP4ClientGivesUpARequestAfterFourTries(t *testing.T) {
	srv := newFakeServer4()
	c, h := newTestClient4(&IPv4Config{Method: MethodDHCP})
	now := time.Unix(1000, 0)
	c.start(now)
	c.expire(c.deadline())
	c.receive(c.deadline(), srv.answer(t, h.last(t)))
	for c.state == DHCPRequesting {
		c.expire(c.deadline())
	}
	if c.state != DHCPInit || c.Counters().Requests != dhcp4RequestMax {
		t.Errorf("state %s after %d REQUESTs", c.state, c.Counters().Requests)
	}
}

func TestDHCP4ClientIgnoresRepliesNotForIt(t *testing.T) {
	srv := newFakeServer4()
	c, h := newTestClient4(&IPv4Config{Method: MethodDHCP})
	now := time.Unix(1000, 0)
	c.start(now)
	c.expire(c.deadline())
	good := srv.answer(t, h.last(t))
	in, _ := parseUDPFrame(good)
	m, _ := parseDHCP4(in.payload)
	mutate := map[string]func(m *dhcp4Msg){
		"other xid":     func(m *dhcp4Msg) { m.xid++ },
		"other chaddr":  func(m *dhcp4Msg) { m.chaddr[5]++ },
		"a request":     func(m *dhcp4Msg) { m.op = bootRequest },
		"an ACK":        func(m *dhcp4Msg) { m.typ = dhcp4Ack },
		"no server id":  func(m *dhcp4Msg) { m.serverID = netip.Addr{} },
		"zero yiaddr":   func(m *dhcp4Msg) { m.yiaddr = zero4 },
		"no magic":      nil,
		"to port 67":    nil,
		"truncated msg": nil,
	}
	for name, f := range mutate {
		mm := *m
		var frame []byte
		switch name {
		case "no magic":
			p := mm.marshal()
			p[dhcp4FixedLen] = 0
			frame = udp4Frame(srv.mac, testMAC, srv.ip, m.yiaddr, 67, 68, p)
		case "to port 67":
			frame = udp4Frame(srv.mac, testMAC, srv.ip, m.yiaddr, 67, 67, mm.marshal())
		case "truncated msg":
			frame = udp4Frame(srv.mac, testMAC, srv.ip, m.yiaddr, 67, 68, mm.marshal()[:200])
		default:
			f(&mm)
			frame = udp4Frame(srv.mac, testMAC, srv.ip, m.yiaddr, 67, 68, mm.marshal())
		}
		c.receive(now, frame)
		if c.state != DHCPSelecting {
			t.Fatalf("%s: moved the client to %s", name, c.state)
		}
	}
	c.receive(now, good)
	if c.state != DHCPRequesting {
		t.Errorf("the real OFFER left the client in %s", c.state)
	}
}

func TestDHCP4ClientReleasesOnStop(t *testing.T) {
	srv := newFakeServer4()
	c, h := newTestClient4(&IPv4Config{Method: MethodDHCP, ClientID: "01:02:00:00:00:0d:01"})
	now := bindClient(t, c, h, srv, time.Unix(1000, 0))
	c.stop(now)
	srv.answer(t, h.last(t))
	in, m := srv.gotFrom[len(srv.gotFrom)-1], srv.got[len(srv.got)-1]
	if m.typ != dhcp4Release || m.ciaddr != srv.offer || m.serverID != srv.ip || in.dst != srv.ip || in.dstMAC != srv.mac {
		t.Errorf("RELEASE %+v sent as %+v", m, in)
	}
	if !bytes.Equal(m.clientID, []byte{1, 2, 0, 0, 0, 0x0d, 1}) {
		t.Errorf("client id % x, want the configured bytes", m.clientID)
	}
	if c.Status().State != DHCPNone || !c.deadline().IsZero() || c.Counters().Releases != 1 {
		t.Errorf("after stop: %+v, deadline %v", c.Status(), c.deadline())
	}
	// A client that never bound has nothing to release.
	c2, h2 := newTestClient4(&IPv4Config{Method: MethodDHCP})
	c2.start(now)
	c2.stop(now)
	if len(h2.sent) != 0 {
		t.Errorf("an unbound client sent %d frames on stop", len(h2.sent))
	}
}

func TestDHCP4StatesAreOpenPerfs(t *testing.T) {
	openperf := map[string]bool{"none": true, "rebooting": true, "init_reboot": true, "init": true, "selecting": true,
		"requesting": true, "checking": true, "bound": true, "renewing": true, "rebinding": true}
	for _, s := range []string{DHCPNone, DHCPRebooting, DHCPInitReboot, DHCPInit, DHCPSelecting, DHCPRequesting,
		DHCPChecking, DHCPBound, DHCPRenewing, DHCPRebinding} {
		if !openperf[s] {
			t.Errorf("state %q is not in OpenPerf's enum", s)
		}
	}
}
