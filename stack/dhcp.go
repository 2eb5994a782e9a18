package stack

import (
	"encoding/binary"
	"net/netip"
	"time"

	"go.uber.org/zap"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	gvstack "gvisor.dev/gvisor/pkg/tcpip/stack"
)

// This file wires the DHCP clients into the stack: which interfaces get
// one, how their frames are taken off the receive path, and how a lease
// lands on the interface's NIC and in the port's ARP index.

// dhcpTap sits on a DHCP interface's link and takes the frames for its
// clients before gVisor sees them.
type dhcpTap struct {
	sched *dhcpScheduler
	v4    *dhcp4Client // nil unless ipv4.method is dhcp
	v6    *dhcp6Client // nil unless ipv6.method is dhcp6
	mac   [6]byte
}

// take hands a frame (which it may keep) to a client and reports whether
// it did. It runs on the workers (direct rx) or the port's stack
// goroutine (queued rx), so it only peeks at the headers.
func (t *dhcpTap) take(frame []byte) bool {
	switch dhcpClientPort(frame) {
	case dhcp4ClientPort:
		if t.v4 == nil {
			return false
		}
		// A broadcast reply reaches every interface on the port; only the
		// one whose MAC is its chaddr queues it, the others drop it here.
		if off := header.EthernetMinimumSize + int(frame[header.EthernetMinimumSize]&0xf)*4 + header.UDPMinimumSize; len(frame) >= off+34 {
			if [6]byte(frame[off+28:off+34]) != t.mac {
				return true
			}
		}
		t.sched.deliver(t.v4, frame)
		return true
	case dhcp6ClientPort:
		if t.v6 == nil {
			return false
		}
		t.sched.deliver(t.v6, frame)
		return true
	}
	return false
}

// dhcpHost is an interface as its clients see it.
type dhcpHost struct {
	s  *Stack
	it *Interface
}

func (h dhcpHost) send(frame []byte) { h.it.link.sendFrame(frame) }

func (h dhcpHost) bind(old, new *dhcp4Lease) { h.s.bindLease(h.it, old, new) }

// addDHCPLocked gives a new interface the clients its methods ask for
// (before its link can receive anything).
func (s *Stack) addDHCPLocked(it *Interface) {
	c := &it.Config
	v4 := c.IPv4 != nil && c.IPv4.Method == MethodDHCP
	v6 := c.IPv6 != nil && c.IPv6.Method == MethodDHCP6
	if !v4 && !v6 {
		return
	}
	if s.dhcp == nil {
		s.dhcp = newDHCPScheduler()
	}
	log := s.log.With(zap.String("interface", it.ID))
	tap := &dhcpTap{sched: s.dhcp, mac: c.MAC}
	host := dhcpHost{s: s, it: it}
	if v4 {
		it.dhcp4 = newDHCP4Client(c.MAC, c.IPv4, host, log)
		tap.v4 = it.dhcp4
	}
	if v6 {
		it.dhcp6 = newDHCP6Client(c.MAC, c.linkLocal(), host, log)
		tap.v6 = it.dhcp6
	}
	it.link.tap = tap
}

// dhcpClients lists the interfaces' clients.
func dhcpClients(its []*Interface) []dhcpClient {
	var cs []dhcpClient
	for _, it := range its {
		if it.dhcp4 != nil {
			cs = append(cs, it.dhcp4)
		}
		if it.dhcp6 != nil {
			cs = append(cs, it.dhcp6)
		}
	}
	return cs
}

// bindLease moves an interface from one leased address to another (either
// may be nil): the NIC's address and routes (the subnet, and the default
// route via the lease's router) and the port's ARP index. A lease for an
// interface deleted meanwhile is ignored.
func (s *Stack) bindLease(it *Interface, old, l *dhcp4Lease) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ifaces[it.ID] != it {
		return
	}
	if old != nil && l != nil && old.addr == l.addr && old.prefix == l.prefix && old.gateway == l.gateway {
		return // a renewal: the NIC keeps what it has
	}
	gv, nic := it.gv, it.nic
	if old != nil {
		a := tcpip.AddrFrom4(old.addr.As4())
		_ = gv.RemoveAddress(nic, a)
		subnet := tcpip.AddressWithPrefix{Address: a, PrefixLen: old.prefix}.Subnet()
		gw := tcpip.Address{}
		if old.gateway.IsValid() {
			gw = tcpip.AddrFrom4(old.gateway.As4())
		}
		gv.RemoveRoutes(func(r tcpip.Route) bool {
			return r.NIC == nic && ((r.Destination == subnet && r.Gateway.BitLen() == 0) ||
				(old.gateway.IsValid() && r.Destination == header.IPv4EmptySubnet && r.Gateway == gw))
		})
	}
	ps := s.ports[it.PortID]
	ps.remove(it)
	it.lease4 = netip.Prefix{}
	it.addr4.Store(0)
	if l != nil {
		it.lease4 = netip.PrefixFrom(l.addr, l.prefix)
		// The workers tell interfaces that share a MAC apart by addr4.
		it.addr4.Store(binary.BigEndian.Uint32(l.addr.AsSlice()))
	}
	ps.add(it)
	ps.publish()
	if l == nil {
		return
	}
	pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(l.addr.As4()), PrefixLen: l.prefix}}
	if e := gv.AddProtocolAddress(nic, pa, gvstack.AddressProperties{}); e != nil {
		s.log.Warn("dhcp: cannot add the leased address", zap.String("interface", it.ID),
			zap.Stringer("address", l.addr), zap.String("error", e.String()))
		return
	}
	gv.AddRoute(tcpip.Route{Destination: pa.AddressWithPrefix.Subnet(), NIC: nic})
	if l.gateway.IsValid() {
		gv.AddRoute(tcpip.Route{Destination: header.IPv4EmptySubnet, Gateway: tcpip.AddrFrom4(l.gateway.As4()), NIC: nic})
	}
}

// DHCP4 reports the interface's DHCPv4 client; ok is false when its IPv4
// method is not dhcp.
func (it *Interface) DHCP4() (st DHCP4Status, ok bool) {
	if it.dhcp4 == nil {
		return st, false
	}
	return it.dhcp4.Status(), true
}

// DHCP4Counters reports the DHCPv4 client's message counters (zero when
// the interface has none).
func (it *Interface) DHCP4Counters() DHCP4Counters {
	if it.dhcp4 == nil {
		return DHCP4Counters{}
	}
	return it.dhcp4.Counters()
}

// DHCP6 reports what the interface's stateless DHCPv6 client learnt; ok
// is false when its IPv6 method is not dhcp6.
func (it *Interface) DHCP6() (info DHCP6Info, ok bool) {
	if it.dhcp6 == nil {
		return info, false
	}
	return it.dhcp6.Info(), true
}

// flushTx waits (up to limit) until the ports' tx queues are empty, so
// frames queued last (RELEASEs at shutdown) leave before the ports go.
func (s *Stack) flushTx(limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		pending := 0
		for _, ps := range s.ports {
			pending += len(ps.tx.ch)
		}
		s.mu.Unlock()
		if pending == 0 {
			return
		}
		s.dp.Wake()
		time.Sleep(5 * time.Millisecond)
	}
}
