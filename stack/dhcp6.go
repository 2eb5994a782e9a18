package stack

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Stateless DHCPv6 (RFC 8415 section 6.1): addresses come from SLAAC, the
// rest of the configuration from an Information-Request answered by a
// Reply, asked again when the Information Refresh Time runs out.

// DHCPv6 client states (an openperfd extension: OpenPerf reports only the
// SLAAC address of a dhcp6 interface).
const (
	DHCP6Idle       = "idle"       // not started yet
	DHCP6Requesting = "requesting" // Information-Request sent, no Reply yet
	DHCP6Informed   = "informed"   // a Reply arrived; refreshed later
)

// RFC 8415 section 7.6 timing of Information-Request.
const (
	infMaxDelay       = time.Second
	infTimeout        = time.Second
	infMaxRT          = time.Hour
	irtDefault        = 24 * time.Hour
	irtMinimum        = 10 * time.Minute
	dhcp6StatusUnspec = 1
)

// DHCP6Info is what a stateless DHCPv6 client learnt.
type DHCP6Info struct {
	State    string
	Server   string       // the server's DUID in hex
	DNS      []netip.Addr // option 23
	Domains  []string     // option 24
	Refresh  time.Duration
	Requests uint64 // Information-Requests sent
	Replies  uint64 // Replies accepted
}

// dhcp6Host sends a DHCPv6 client's frames.
type dhcp6Host interface {
	send(frame []byte)
}

// dhcp6Client is one interface's stateless DHCPv6 client; like
// dhcp4Client, the scheduler goroutine owns it and the API reads info.
type dhcp6Client struct {
	mac       [6]byte
	linkLocal netip.Addr
	duid      []byte
	host      dhcp6Host
	log       *zap.Logger

	xid     uint32
	begun   time.Time     // first transmission of this exchange, for Elapsed Time
	rt      time.Duration // current retransmission timeout
	next    time.Time
	stopped bool

	info     atomic.Pointer[DHCP6Info]
	requests atomic.Uint64
	replies  atomic.Uint64
}

func newDHCP6Client(mac [6]byte, linkLocal netip.Addr, host dhcp6Host, log *zap.Logger) *dhcp6Client {
	c := &dhcp6Client{mac: mac, linkLocal: linkLocal, duid: duidLL(mac), host: host, log: log}
	c.info.Store(&DHCP6Info{State: DHCP6Idle})
	return c
}

// Info returns what the client learnt so far.
func (c *dhcp6Client) Info() DHCP6Info {
	i := *c.info.Load()
	i.Requests, i.Replies = c.requests.Load(), c.replies.Load()
	return i
}

func (c *dhcp6Client) setState(s string) {
	i := *c.info.Load()
	i.State = s
	c.info.Store(&i)
}

// deadline implements dhcpClient.
func (c *dhcp6Client) deadline() time.Time { return c.next }

// start implements dhcpClient: the first Information-Request waits a
// random time up to INF_MAX_DELAY.
func (c *dhcp6Client) start(now time.Time) {
	c.next = now.Add(jitter(0, infMaxDelay))
}

// expire implements dhcpClient: (re)transmit the Information-Request.
func (c *dhcp6Client) expire(now time.Time) {
	if c.stopped || c.next.IsZero() || now.Before(c.next) {
		return
	}
	if c.rt == 0 { // a new exchange
		c.xid, c.begun = rand.Uint32()&0xffffff, now
		c.rt = rand6(infTimeout)
		c.setState(DHCP6Requesting)
	} else {
		// RT = 2*RTprev + RAND*RTprev, capped near MRT (section 15).
		c.rt = 2*c.rt + randFactor(c.rt)
		if c.rt > infMaxRT {
			c.rt = rand6(infMaxRT)
		}
	}
	elapsed := min(now.Sub(c.begun)/(10*time.Millisecond), 0xffff)
	m := &dhcp6Msg{typ: dhcp6InformationRequest, xid: c.xid, clientID: c.duid,
		elapsed: uint16(elapsed), hasElapsed: true, oro: []uint16{opt6DNSServers, opt6DomainList, opt6InfoRefresh}}
	c.host.send(udp6Frame(c.mac, allDHCP6MAC, c.linkLocal, allDHCP6, dhcp6ClientPort, dhcp6ServerPort, m.marshal()))
	c.requests.Add(1)
	c.next = now.Add(c.rt)
}

// rand6 is a first timeout: base plus up to a tenth either way.
func rand6(base time.Duration) time.Duration { return base + randFactor(base) }

// randFactor is RAND*d with RAND uniform in [-0.1, 0.1].
func randFactor(d time.Duration) time.Duration { return jitter(-d/10, d/10+1) }

// receive implements dhcpClient: a frame sent to port 546 at our MAC.
func (c *dhcp6Client) receive(now time.Time, frame []byte) {
	if c.stopped || c.rt == 0 {
		return // no Information-Request outstanding
	}
	in, ok := parseUDPFrame(frame)
	if !ok || in.dport != dhcp6ClientPort || in.sport != dhcp6ServerPort || !in.dst.Is6() {
		return
	}
	m, err := parseDHCP6(in.payload)
	if err != nil {
		c.log.Debug("dhcp6: dropped a reply", zap.Error(err))
		return
	}
	// Section 16.10: a Reply must match our transaction, carry a Server
	// Identifier, and echo our Client Identifier if it has one.
	if m.typ != dhcp6Reply || m.xid != c.xid || len(m.serverID) == 0 ||
		(m.clientID != nil && !bytes.Equal(m.clientID, c.duid)) {
		return
	}
	if m.status == dhcp6StatusUnspec {
		// The server could not answer; keep retransmitting.
		c.log.Debug("dhcp6: server failed", zap.String("message", m.statusMsg))
		return
	}
	refresh := irtDefault
	if m.hasRefresh {
		refresh = max(time.Duration(m.refresh)*time.Second, irtMinimum)
		if m.refresh == 0xffffffff {
			refresh = 0 // infinite: never ask again
		}
	}
	c.replies.Add(1)
	c.info.Store(&DHCP6Info{State: DHCP6Informed, Server: hex.EncodeToString(m.serverID),
		DNS: m.dns, Domains: m.domains, Refresh: refresh})
	c.rt, c.next = 0, time.Time{}
	if refresh > 0 {
		c.next = now.Add(refresh)
	}
	c.log.Debug("dhcp6: informed", zap.Int("dns", len(m.dns)), zap.Strings("domains", m.domains))
}

// holding implements dhcpClient: stateless DHCPv6 holds nothing.
func (c *dhcp6Client) holding() bool { return false }

// stop implements dhcpClient; stateless DHCPv6 holds nothing to release.
func (c *dhcp6Client) stop(time.Time) {
	c.stopped, c.next = true, time.Time{}
}
