package stack

import (
	"context"
	"fmt"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	gvstack "gvisor.dev/gvisor/pkg/tcpip/stack"
)

// Resolve finds the next hop from an interface towards dst (dst itself
// when it is on-link, else the gateway) and resolves its MAC address with
// ARP or ND, as a host sending to dst would. It waits for the answer until
// ctx ends; the stack's own retries (3 probes, 1 s apart) bound one
// attempt. Generators use it to learn destination MACs.
func (s *Stack) Resolve(ctx context.Context, ifaceID string, dst netip.Addr) (nextHop netip.Addr, mac [6]byte, err error) {
	it, err := s.Get(ifaceID)
	if err != nil {
		return netip.Addr{}, mac, err
	}
	var (
		proto = ipv4.ProtocolNumber
		addr  tcpip.Address
	)
	switch {
	case dst.Is4():
		if it.Config.IPv4 == nil {
			return netip.Addr{}, mac, invalid("destination", "interface %s has no IPv4 layer", ifaceID)
		}
		addr = tcpip.AddrFrom4(dst.As4())
	case dst.Is6():
		if it.Config.IPv6 == nil {
			return netip.Addr{}, mac, invalid("destination", "interface %s has no IPv6 layer", ifaceID)
		}
		proto = ipv6.ProtocolNumber
		addr = tcpip.AddrFrom16(dst.As16())
	default:
		return netip.Addr{}, mac, invalid("destination", "not an IP address")
	}
	r, e := it.gv.FindRoute(it.nic, tcpip.Address{}, addr, proto, false)
	if e != nil {
		switch e.(type) {
		case *tcpip.ErrHostUnreachable, *tcpip.ErrNetworkUnreachable, *tcpip.ErrNoNet:
			return netip.Addr{}, mac, invalid("destination", "%s is not reachable from interface %s (no route; add a gateway or an address in that subnet)", dst, ifaceID)
		}
		return netip.Addr{}, mac, fmt.Errorf("route to %s from %s: %s", dst, ifaceID, e)
	}
	defer r.Release()
	nh := r.NextHop()
	if nh.BitLen() == 0 {
		nh = addr
	}
	nextHop, _ = netip.AddrFromSlice(nh.AsSlice())

	done := make(chan gvstack.ResolvedFieldsResult, 1)
	e = r.ResolvedFields(func(res gvstack.ResolvedFieldsResult) { done <- res })
	if e != nil {
		if _, wait := e.(*tcpip.ErrWouldBlock); !wait {
			return nextHop, mac, fmt.Errorf("resolve %s from %s: %s", nextHop, ifaceID, e)
		}
	}
	select {
	case <-ctx.Done():
		return nextHop, mac, fmt.Errorf("resolve %s from %s: %w", nextHop, ifaceID, ctx.Err())
	case res := <-done:
		if res.Err != nil {
			return nextHop, mac, fmt.Errorf("resolve %s from %s: %s", nextHop, ifaceID, res.Err)
		}
		copy(mac[:], res.RouteInfo.RemoteLinkAddress)
		return nextHop, mac, nil
	}
}
