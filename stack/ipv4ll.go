package stack

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	gvstack "gvisor.dev/gvisor/pkg/tcpip/stack"
)

// IPv4 "auto" is RFC 3927 link-local configuration: an interface picks an
// address in 169.254.1.0-169.254.254.255 from a generator seeded by its
// MAC (so it tends to get the same one each time), ARP-probes for it
// (RFC 5227), takes it with a /16 route when nobody answers, announces
// it, and afterwards defends it once per DEFEND_INTERVAL or moves on.
//
// One goroutine per stack, the llManager, owns every claim's state and
// runs the steps; timers and the workers only post events to it. It may
// take Stack.mu (to reserve, bind and release addresses); the workers
// never block on it (an event that finds its queue full is dropped, as a
// lost ARP frame would be), and nothing holding Stack.mu waits for it, so
// neither the workers' quiescence in Delete nor the API can deadlock.

// RFC 3927 section 9 counts.
const (
	llProbeNum     = 3
	llAnnounceNum  = 2
	llMaxConflicts = 10
)

// llTimings are RFC 3927's waits; tests shorten them.
type llTimings struct {
	probeWait, probeMin, probeMax     time.Duration
	announceWait, announceInterval    time.Duration
	rateLimitInterval, defendInterval time.Duration
}

// rfc3927 is what the RFC says, and what OpenPerf's lwIP does.
var rfc3927 = llTimings{
	probeWait: time.Second, probeMin: time.Second, probeMax: 2 * time.Second,
	announceWait: 2 * time.Second, announceInterval: 2 * time.Second,
	rateLimitInterval: 60 * time.Second, defendInterval: 10 * time.Second,
}

const (
	llFirst  = 169<<24 | 254<<16 | 1<<8 // 169.254.1.0
	llCount  = 254 * 256                // through 169.254.254.255
	llPrefix = 16
)

// llPicker draws candidate addresses from a generator seeded by the MAC.
type llPicker struct{ r *rand.Rand }

func newLLPicker(mac [6]byte) llPicker {
	var seed [8]byte
	copy(seed[2:], mac[:])
	return llPicker{rand.New(rand.NewPCG(binary.BigEndian.Uint64(seed[:]), 3927))}
}

// next returns a candidate, big-endian.
func (p llPicker) next() uint32 { return llFirst + uint32(p.r.IntN(llCount)) }

// The phases of a claim.
const (
	llIdle     = iota // choosing an address next
	llProbe           // probing addr
	llAnnounce        // claimed addr, announcing it
	llBound           // claimed and announced
)

// autoV4 is one interface's claim. The fields above the line belong to
// the llManager goroutine.
type autoV4 struct {
	pick       llPicker
	phase      int
	addr       uint32 // the candidate or the claimed address; 0 none
	sent       int    // probes or announcements sent for addr
	conflicts  int
	lastDefend time.Time
	gen        uint64 // the current schedule; older timers are ignored

	bound   atomic.Bool // addr is claimed (the interface's addr4 holds it)
	stopped atomic.Bool // the interface was deleted
}

// arpSeen is what a worker saw of an ARP frame that concerns a claim.
type arpSeen struct {
	op       uint16
	sha      [6]byte
	spa, tpa uint32
}

type llEvent struct {
	it  *Interface
	gen uint64 // a timer's schedule; 0: an ARP frame
	arp arpSeen
}

// llManager runs every interface's RFC 3927 claim (see above).
type llManager struct {
	s       *Stack
	t       llTimings
	events  chan llEvent
	done    chan struct{}
	dropped atomic.Uint64 // ARP events lost to a full queue
}

func newLLManager(s *Stack, t llTimings) *llManager {
	return &llManager{s: s, t: t, events: make(chan llEvent, 4096), done: make(chan struct{})}
}

// run handles events until done closes.
func (m *llManager) run() {
	for {
		select {
		case ev := <-m.events:
			m.handle(ev)
		case <-m.done:
			return
		}
	}
}

// start begins an interface's claim: after a random wait of up to
// PROBE_WAIT, so interfaces made together do not probe in lockstep. It
// does not block. Call it once, before anything else can post for it.
func (m *llManager) start(it *Interface) {
	it.auto.gen = 1
	m.after(it, 1, jitter(0, m.t.probeWait))
}

// schedule makes the claim's next step happen after d, superseding any
// step scheduled before. Manager goroutine only.
func (m *llManager) schedule(it *Interface, d time.Duration) {
	it.auto.gen++
	m.after(it, it.auto.gen, d)
}

func (m *llManager) after(it *Interface, gen uint64, d time.Duration) {
	time.AfterFunc(d, func() {
		select {
		case m.events <- llEvent{it: it, gen: gen}:
		case <-m.done:
		}
	})
}

// observe posts an ARP frame for a claim. Workers call it: it never
// blocks.
func (m *llManager) observe(it *Interface, a arpSeen) {
	select {
	case m.events <- llEvent{it: it, arp: a}:
	default:
		m.dropped.Add(1)
	}
}

func (m *llManager) handle(ev llEvent) {
	a := ev.it.auto
	if a.stopped.Load() {
		return // Delete released what the claim held
	}
	if ev.gen == 0 {
		m.arp(ev.it, ev.arp)
		return
	}
	if ev.gen == a.gen {
		m.step(ev.it)
	}
}

// step is a claim's timer going off.
func (m *llManager) step(it *Interface) {
	a := it.auto
	switch a.phase {
	case llIdle:
		if !m.choose(it) {
			return
		}
		m.send(it, 0, a.addr)
		a.phase, a.sent = llProbe, 1
		m.schedule(it, jitter(m.t.probeMin, m.t.probeMax))
	case llProbe:
		if a.sent < llProbeNum {
			m.send(it, 0, a.addr)
			a.sent++
			if a.sent < llProbeNum {
				m.schedule(it, jitter(m.t.probeMin, m.t.probeMax))
			} else {
				m.schedule(it, m.t.announceWait)
			}
			return
		}
		// ANNOUNCE_WAIT since the last probe and no conflict: ours.
		if !m.s.llBind(it, a.addr) {
			return // deleted meanwhile
		}
		a.bound.Store(true)
		m.s.log.Debug("ipv4 link-local address claimed", zap.String("interface", it.ID), zap.Stringer("address", addrFromU32(a.addr)))
		m.send(it, a.addr, a.addr)
		a.phase, a.sent = llAnnounce, 1
		m.schedule(it, m.t.announceInterval)
	case llAnnounce:
		m.send(it, a.addr, a.addr)
		if a.sent++; a.sent < llAnnounceNum {
			m.schedule(it, m.t.announceInterval)
		} else {
			a.phase = llBound
		}
	}
}

// choose picks the next candidate nobody on the port holds or probes and
// reserves it. False when the interface is gone, or when the port left
// no candidate free in many draws (then it tries again later).
func (m *llManager) choose(it *Interface) bool {
	a := it.auto
	for range 64 {
		c := a.pick.next()
		ok, live := m.s.llReserve(it, c)
		if !live {
			return false
		}
		if ok {
			a.addr = c
			return true
		}
	}
	m.schedule(it, m.t.probeWait)
	return false
}

// arp judges an ARP frame seen while probing or holding an address
// (RFC 3927 2.2.1 and 2.5, RFC 5227 2.1.1).
func (m *llManager) arp(it *Interface, seen arpSeen) {
	a := it.auto
	if a.addr == 0 || seen.sha == it.Config.MAC {
		return
	}
	switch a.phase {
	case llProbe:
		// Someone has it, or is probing for it too.
		if seen.spa == a.addr || (seen.op == 1 && seen.spa == 0 && seen.tpa == a.addr) {
			m.conflict(it, seen)
		}
	case llAnnounce, llBound:
		if seen.spa != a.addr {
			return
		}
		if now := time.Now(); a.lastDefend.IsZero() || now.Sub(a.lastDefend) > m.t.defendInterval {
			a.lastDefend = now
			m.send(it, a.addr, a.addr)
			return
		}
		m.conflict(it, seen)
	}
}

// conflict gives the address up and starts over with another, at once
// or, after MAX_CONFLICTS, once per RATE_LIMIT_INTERVAL.
func (m *llManager) conflict(it *Interface, seen arpSeen) {
	a := it.auto
	m.s.log.Info("ipv4 link-local address conflict", zap.String("interface", it.ID),
		zap.Stringer("address", addrFromU32(a.addr)), zap.Stringer("holder", macAddr(seen.sha)))
	m.s.llRelease(it, a.addr)
	a.bound.Store(false)
	a.addr, a.phase, a.sent = 0, llIdle, 0
	a.lastDefend = time.Time{}
	a.conflicts++
	wait := jitter(0, m.t.probeWait)
	if a.conflicts >= llMaxConflicts {
		wait = m.t.rateLimitInterval
	}
	m.schedule(it, wait)
}

// send queues an ARP request from the interface: a probe (spa 0) or an
// announcement (spa == tpa). Lost frames are as on any link: the next
// step goes ahead regardless.
func (m *llManager) send(it *Interface, spa, tpa uint32) {
	var f [42]byte
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:12], it.Config.MAC[:])
	binary.BigEndian.PutUint16(f[12:14], 0x0806)
	binary.BigEndian.PutUint32(f[14:18], 0x0001_0800) // Ethernet, IPv4
	f[18], f[19] = 6, 4
	binary.BigEndian.PutUint16(f[20:22], 1) // request
	copy(f[22:28], it.Config.MAC[:])
	binary.BigEndian.PutUint32(f[28:32], spa)
	binary.BigEndian.PutUint32(f[38:42], tpa)
	it.link.sendFrame(f[:])
}

// watchARP passes an ARP frame received on the port to the claims it
// concerns: whose address is its sender's, or (a probe) its target's.
// Workers call it only while the port has claims.
func (ps *portSink) watchARP(idx *portIndex, frame []byte) {
	if len(frame) < 42 || binary.BigEndian.Uint32(frame[14:18]) != 0x0001_0800 || frame[18] != 6 || frame[19] != 4 {
		return
	}
	seen := arpSeen{op: binary.BigEndian.Uint16(frame[20:22]),
		spa: binary.BigEndian.Uint32(frame[28:32]), tpa: binary.BigEndian.Uint32(frame[38:42])}
	copy(seen.sha[:], frame[22:28])
	var first *Interface
	if seen.spa != 0 {
		if it, ok := idx.acd.Get(seen.spa); ok {
			ps.s.ll.observe(it, seen)
			first = it
		}
	}
	if seen.tpa != 0 && seen.tpa != seen.spa {
		if it, ok := idx.acd.Get(seen.tpa); ok && it != first {
			ps.s.ll.observe(it, seen)
		}
	}
}

// llReserve makes addr the claim's candidate unless an interface of its
// port holds or probes it. live is false when the interface is gone.
func (s *Stack) llReserve(it *Interface, addr uint32) (ok, live bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ifaces[it.ID] != it || it.auto.stopped.Load() {
		return false, false
	}
	ps := s.ports[it.PortID]
	if _, taken := ps.v4.Get(addr); taken {
		return false, true
	}
	if _, taken := ps.acd.Get(addr); taken {
		return false, true
	}
	ps.acd = ps.acd.Set(addr, it)
	it.acdAddr = addr
	ps.publish()
	return true, true
}

// llBind gives the interface its claimed address: in gVisor with the
// 169.254.0.0/16 route, and in the port's ARP index. False when the
// interface is gone.
func (s *Stack) llBind(it *Interface, addr uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ifaces[it.ID] != it || it.auto.stopped.Load() {
		return false
	}
	if err := addLinkLocal4(it, addr); err != nil {
		s.log.Warn("ipv4 link-local address not added", zap.String("interface", it.ID), zap.Error(err))
		return false
	}
	it.addr4.Store(addr)
	ps := s.ports[it.PortID]
	ps.v4 = ps.v4.Set(addr, it)
	ps.publish()
	return true
}

// llRelease takes addr back from the interface: the reservation and, if
// it was bound, the address and its route.
func (s *Stack) llRelease(it *Interface, addr uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ifaces[it.ID] != it {
		return
	}
	ps := s.ports[it.PortID]
	if cur, ok := ps.acd.Get(addr); ok && cur == it {
		ps.acd = ps.acd.Delete(addr)
	}
	it.acdAddr = 0
	if it.addr4.Load() == addr {
		removeLinkLocal4(it, addr)
		it.addr4.Store(0)
		if cur, ok := ps.v4.Get(addr); ok && cur == it {
			ps.v4 = ps.v4.Delete(addr)
		}
	}
	ps.publish()
}

// AutoIPv4 reports an IPv4 auto interface's link-local address once
// claimed; ok is false for other interfaces. state is "probing" until the
// address is claimed, then "bound".
func (it *Interface) AutoIPv4() (addr netip.Prefix, state string, ok bool) {
	if it.auto == nil {
		return netip.Prefix{}, "", false
	}
	if a := it.addr4.Load(); a != 0 && it.auto.bound.Load() {
		return netip.PrefixFrom(addrFromU32(a), llPrefix), "bound", true
	}
	return netip.Prefix{}, "probing", true
}

func addrFromU32(a uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], a)
	return netip.AddrFrom4(b)
}

type macAddr [6]byte

func (m macAddr) String() string { return macString(m) }

// addLinkLocal4 adds a claimed address and 169.254.0.0/16's route to the
// interface's NIC.
func addLinkLocal4(it *Interface, addr uint32) error {
	pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{
		Address: tcpip.AddrFrom4(addrFromU32(addr).As4()), PrefixLen: llPrefix}}
	if e := it.gv.AddProtocolAddress(it.nic, pa, gvstack.AddressProperties{}); e != nil {
		return fmt.Errorf("add %s: %s", addrFromU32(addr), e)
	}
	it.gv.AddRoute(tcpip.Route{Destination: pa.AddressWithPrefix.Subnet(), NIC: it.nic})
	return nil
}

// removeLinkLocal4 undoes addLinkLocal4.
func removeLinkLocal4(it *Interface, addr uint32) {
	a := tcpip.AddrFrom4(addrFromU32(addr).As4())
	subnet := tcpip.AddressWithPrefix{Address: a, PrefixLen: llPrefix}.Subnet()
	it.gv.RemoveRoutes(func(r tcpip.Route) bool { return r.NIC == it.nic && r.Destination == subnet })
	_ = it.gv.RemoveAddress(it.nic, a) // gone already is fine
}
