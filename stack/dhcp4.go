package stack

import (
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// DHCPv4 client states as OpenPerf reports them (its
// Ipv4DhcpConfig.status.state enum; RFC 2131 section 4.4, plus "checking"
// from RFC 5227). This client passes through none, init, selecting,
// requesting, bound, renewing and rebinding; it keeps no leases across
// restarts, so it never reboots, and it does not probe offered addresses.
const (
	DHCPNone        = "none"
	DHCPRebooting   = "rebooting"
	DHCPInitReboot  = "init_reboot"
	DHCPInit        = "init"
	DHCPSelecting   = "selecting"
	DHCPRequesting  = "requesting"
	DHCPChecking    = "checking"
	DHCPBound       = "bound"
	DHCPRenewing    = "renewing"
	DHCPRebinding   = "rebinding"
	dhcp4RequestMax = 4 // REQUESTs sent in requesting before starting over
)

// DHCP4Status is what an interface's DHCPv4 client reports: its state and,
// while it holds a lease, the address, prefix length and gateway.
type DHCP4Status struct {
	State   string
	Address netip.Addr // valid while bound, renewing or rebinding
	Prefix  int
	Gateway netip.Addr // valid when the server named a router
}

// DHCP4Counters count an interface's DHCPv4 exchanges.
type DHCP4Counters struct {
	Discovers, Requests, Releases uint64 // sent
	Offers, Acks, Naks            uint64 // received and accepted
	Renewals                      uint64 // leases extended by a renewing or rebinding ACK
}

// dhcp4Timing is the client's pacing; tests shorten it.
type dhcp4Timing struct {
	initialDelay time.Duration // start: wait up to this long, so bulk creations spread out
	base, max    time.Duration // retransmission backoff in selecting and requesting
	renewFloor   time.Duration // shortest wait between renewing/rebinding retransmissions
}

var defaultDHCP4Timing = dhcp4Timing{initialDelay: time.Second, base: 2 * time.Second, max: 64 * time.Second, renewFloor: 10 * time.Second}

// dhcp4Host is what a client does to the outside world: the stack sends
// through the interface's link and binds on its NIC; tests use fakes.
// Both are called on the scheduler goroutine.
type dhcp4Host interface {
	send(frame []byte)
	// bind replaces the interface's leased address (old or new may be nil).
	bind(old, new *dhcp4Lease)
}

// dhcp4Client is one interface's DHCPv4 client (RFC 2131). All its
// fields but status and counters are owned by the scheduler goroutine,
// which alone calls its methods; the API reads status and counters.
type dhcp4Client struct {
	mac      [6]byte
	hostname string
	clientID []byte
	host     dhcp4Host
	timing   dhcp4Timing
	log      *zap.Logger

	state   string
	xid     uint32
	begun   time.Time // when the current exchange began, for the secs field
	tries   int       // transmissions of the current message
	next    time.Time // when the timer fires; zero: no timer
	offer   *dhcp4Msg // the OFFER being requested
	lease   *dhcp4Lease
	stopped bool

	status   atomic.Pointer[DHCP4Status]
	counters struct {
		discovers, requests, releases, offers, acks, naks, renewals atomic.Uint64
	}
}

func newDHCP4Client(mac [6]byte, cfg *IPv4Config, host dhcp4Host, log *zap.Logger) *dhcp4Client {
	c := &dhcp4Client{mac: mac, hostname: cfg.Hostname, clientID: clientIDBytes(cfg.ClientID),
		host: host, timing: defaultDHCP4Timing, log: log, state: DHCPNone}
	c.publish()
	return c
}

// Status returns the client's current state and lease.
func (c *dhcp4Client) Status() DHCP4Status { return *c.status.Load() }

// Counters returns the client's message counters.
func (c *dhcp4Client) Counters() DHCP4Counters {
	k := &c.counters
	return DHCP4Counters{Discovers: k.discovers.Load(), Requests: k.requests.Load(), Releases: k.releases.Load(),
		Offers: k.offers.Load(), Acks: k.acks.Load(), Naks: k.naks.Load(), Renewals: k.renewals.Load()}
}

func (c *dhcp4Client) publish() {
	st := &DHCP4Status{State: c.state}
	if l := c.lease; l != nil {
		st.Address, st.Prefix, st.Gateway = l.addr, l.prefix, l.gateway
	}
	c.status.Store(st)
}

// deadline implements dhcpClient.
func (c *dhcp4Client) deadline() time.Time { return c.next }

// start implements dhcpClient: INIT, with a random wait before the first
// DISCOVER (RFC 2131 section 4.4.1 asks for one; ours is short).
func (c *dhcp4Client) start(now time.Time) {
	c.restart(now, jitter(0, c.timing.initialDelay))
}

// restart goes back to INIT and discovers after wait.
func (c *dhcp4Client) restart(now time.Time, wait time.Duration) {
	c.state, c.offer, c.tries = DHCPInit, nil, 0
	c.next = now.Add(wait)
	c.publish()
}

// expire implements dhcpClient: the timer fired.
func (c *dhcp4Client) expire(now time.Time) {
	if c.stopped || c.next.IsZero() || now.Before(c.next) {
		return
	}
	switch c.state {
	case DHCPInit:
		c.xid, c.begun, c.tries = rand.Uint32(), now, 0
		c.state = DHCPSelecting
		c.sendDiscover(now)
	case DHCPSelecting:
		c.sendDiscover(now)
	case DHCPRequesting:
		if c.tries >= dhcp4RequestMax {
			c.log.Debug("dhcp: no answer to REQUEST, starting over")
			c.restart(now, jitter(c.timing.base/2, c.timing.base))
			return
		}
		c.sendRequest(now)
	case DHCPBound:
		c.state, c.xid, c.begun, c.tries = DHCPRenewing, rand.Uint32(), now, 0
		c.sendRenew(now)
	case DHCPRenewing:
		if !now.Before(c.lease.at(c.lease.t2)) {
			c.state = DHCPRebinding
		}
		c.sendRenew(now)
	case DHCPRebinding:
		if !now.Before(c.lease.at(c.lease.lease)) {
			c.log.Info("dhcp: lease expired", zap.Stringer("address", c.lease.addr))
			c.unbind()
			c.restart(now, 0)
			return
		}
		c.sendRenew(now)
	}
	c.publish()
}

// backoff is RFC 2131 section 4.1's exponential retransmission delay
// (doubling up to a maximum) randomised by a second either way.
func (c *dhcp4Client) backoff() time.Duration {
	d := c.timing.base
	for i := 1; i < c.tries && d < c.timing.max; i++ {
		d *= 2
	}
	d = min(d, c.timing.max)
	return max(d+jitter(-time.Second, time.Second), d/2)
}

// jitter is a uniformly random duration in [lo, hi).
func jitter(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + rand.N(hi-lo)
}

func (c *dhcp4Client) secs(now time.Time) uint16 {
	return uint16(min(now.Sub(c.begun)/time.Second, 0xffff))
}

func (c *dhcp4Client) request(typ byte, now time.Time) *dhcp4Msg {
	return &dhcp4Msg{op: bootRequest, xid: c.xid, secs: c.secs(now), chaddr: c.mac, typ: typ, prefix: -1,
		clientID: c.clientID, hostname: c.hostname}
}

var dhcp4ParamList = []byte{optSubnetMask, optRouter, optDNS, optDomainName, optLeaseTime, optT1, optT2}

func (c *dhcp4Client) broadcast(m *dhcp4Msg, src netip.Addr) {
	c.host.send(udp4Frame(c.mac, broadcastMAC, src, broadcast4, dhcp4ClientPort, dhcp4ServerPort, m.marshal()))
}

func (c *dhcp4Client) sendDiscover(now time.Time) {
	m := c.request(dhcp4Discover, now)
	m.paramList, m.maxMsgSize = dhcp4ParamList, 1500
	c.broadcast(m, zero4)
	c.counters.discovers.Add(1)
	c.tries++
	c.next = now.Add(c.backoff())
}

func (c *dhcp4Client) sendRequest(now time.Time) {
	m := c.request(dhcp4Request, now)
	m.paramList, m.maxMsgSize = dhcp4ParamList, 1500
	m.requested, m.serverID = c.offer.yiaddr, c.offer.serverID
	c.broadcast(m, zero4)
	c.counters.requests.Add(1)
	c.tries++
	c.next = now.Add(c.backoff())
}

// sendRenew sends a renewing REQUEST (unicast to the server) or a
// rebinding one (broadcast), and times the next: half the time left
// until T2 (renewing) or the end of the lease (rebinding), but no less
// than the floor (RFC 2131 section 4.4.5 says 60 s; ours is shorter so
// short test leases still retransmit).
func (c *dhcp4Client) sendRenew(now time.Time) {
	l := c.lease
	m := c.request(dhcp4Request, now)
	m.paramList, m.maxMsgSize, m.ciaddr = dhcp4ParamList, 1500, l.addr
	end := l.at(l.lease)
	if c.state == DHCPRenewing {
		end = l.at(l.t2)
		c.host.send(udp4Frame(c.mac, l.serverHW, l.addr, l.server, dhcp4ClientPort, dhcp4ServerPort, m.marshal()))
	} else {
		c.broadcast(m, l.addr)
	}
	c.counters.requests.Add(1)
	c.tries++
	wait := max(end.Sub(now)/2, c.timing.renewFloor)
	c.next = now.Add(wait)
	if end.Before(c.next) {
		c.next = end
	}
}

// receive implements dhcpClient: a frame sent to port 68 at our MAC.
func (c *dhcp4Client) receive(now time.Time, frame []byte) {
	if c.stopped {
		return
	}
	in, ok := parseUDPFrame(frame)
	if !ok || !in.dst.Is4() || in.dport != dhcp4ClientPort || in.sport != dhcp4ServerPort {
		return
	}
	m, err := parseDHCP4(in.payload)
	if err != nil {
		c.log.Debug("dhcp: dropped a reply", zap.Error(err))
		return
	}
	if m.op != bootReply || m.xid != c.xid || m.chaddr != c.mac {
		return
	}
	switch {
	case c.state == DHCPSelecting && m.typ == dhcp4Offer:
		if !m.serverID.Is4() || !m.yiaddr.Is4() || m.yiaddr.IsUnspecified() {
			return
		}
		c.counters.offers.Add(1)
		c.offer, c.state, c.tries = m, DHCPRequesting, 0
		c.sendRequest(now)
	case m.typ == dhcp4Ack && (c.state == DHCPRequesting || c.state == DHCPRenewing || c.state == DHCPRebinding):
		if c.state == DHCPRequesting && m.serverID.Is4() && m.serverID != c.offer.serverID {
			return // another server's answer to a REQUEST not meant for it
		}
		c.ack(now, m, in)
	case m.typ == dhcp4Nak && (c.state == DHCPRequesting || c.state == DHCPRenewing || c.state == DHCPRebinding):
		if c.state == DHCPRequesting && m.serverID.Is4() && m.serverID != c.offer.serverID {
			return
		}
		c.counters.naks.Add(1)
		c.log.Info("dhcp: NAK", zap.String("message", m.message), zap.String("state", c.state))
		c.unbind()
		// RFC 2131 section 3.1 step 5: restart; a short random pause keeps
		// a server that NAKs everything from being flooded.
		c.restart(now, jitter(c.timing.base/2, c.timing.base))
		return
	default:
		return
	}
	c.publish()
}

func (c *dhcp4Client) ack(now time.Time, m *dhcp4Msg, in udpIn) {
	l, err := leaseFromAck(m, now, in.srcMAC)
	if err != nil {
		c.log.Debug("dhcp: ignored an ACK", zap.Error(err))
		return
	}
	if !l.server.Is4() {
		l.server = in.src
	}
	c.counters.acks.Add(1)
	if c.state != DHCPRequesting {
		c.counters.renewals.Add(1)
	}
	old := c.lease
	c.lease, c.offer, c.state, c.tries = l, nil, DHCPBound, 0
	c.host.bind(old, l)
	c.next = time.Time{}
	if l.lease > 0 {
		c.next = l.at(l.t1)
	}
	if old == nil || old.addr != l.addr {
		c.log.Debug("dhcp: bound", zap.Stringer("address", l.addr), zap.Int("prefix", l.prefix),
			zap.Stringer("gateway", l.gateway), zap.Duration("lease", l.lease))
	}
}

// unbind gives the leased address back to nobody (it expired or the
// server refused it).
func (c *dhcp4Client) unbind() {
	if c.lease != nil {
		c.host.bind(c.lease, nil)
		c.lease = nil
	}
}

// stop implements dhcpClient: the interface is going away. A held lease
// is released (RFC 2131 section 4.4.6) so the server may reuse the
// address at once; the address goes with the interface's NIC.
func (c *dhcp4Client) stop(now time.Time) {
	if c.stopped {
		return
	}
	c.stopped, c.next = true, time.Time{}
	if l := c.lease; l != nil {
		c.xid = rand.Uint32()
		m := &dhcp4Msg{op: bootRequest, xid: c.xid, chaddr: c.mac, typ: dhcp4Release, prefix: -1,
			ciaddr: l.addr, serverID: l.server, clientID: c.clientID}
		c.host.send(udp4Frame(c.mac, l.serverHW, l.addr, l.server, dhcp4ClientPort, dhcp4ServerPort, m.marshal()))
		c.counters.releases.Add(1)
	}
	c.state, c.lease = DHCPNone, nil
	c.publish()
}

// holding implements dhcpClient: a lease is released on stop.
func (c *dhcp4Client) holding() bool { return c.lease != nil && !c.stopped }

// at is the time a lease-relative duration ends.
func (l *dhcp4Lease) at(d time.Duration) time.Time { return l.acquired.Add(d) }
