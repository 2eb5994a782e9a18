// NIC creation and addressing: the per-interface work Create runs shard by shard.

package stack

import (
	"fmt"
	"net/netip"

	"go.uber.org/zap"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	gvstack "gvisor.dev/gvisor/pkg/tcpip/stack"
)

// buildNIC makes an interface's NIC, addresses and routes in its shard.
func (s *Stack) buildNIC(it *Interface) error {
	// No NIC name: gVisor would compare it with every other NIC's.
	// Disabled until its neighbour caches are shrunk, so nothing uses them
	// meanwhile.
	eth := ethernet.New(it.link)
	// The wrapper's own nested endpoint passes packets on to the NIC
	// without parsing: where the link's GRO delivers.
	it.link.nic = &eth.Endpoint
	if e := it.gv.CreateNICWithOptions(it.nic, eth, gvstack.NICOptions{Disabled: true}); e != nil {
		return fmt.Errorf("create NIC: %s", e)
	}
	if _, err := shrinkNeighborCaches(it.gv, it.nic); err != nil {
		// Only memory is at stake: go on with gVisor's full-size caches.
		s.shrinkWarn.Do(func() { s.log.Warn("neighbour caches keep their preallocated size", zap.Error(err)) })
	}
	if e := it.gv.EnableNIC(it.nic); e != nil {
		_ = it.gv.RemoveNIC(it.nic)
		return fmt.Errorf("enable NIC: %s", e)
	}
	if err := configure(it.gv, it); err != nil {
		it.gv.RemoveRoutes(func(r tcpip.Route) bool { return r.NIC == it.nic })
		_ = it.gv.RemoveNIC(it.nic)
		return err
	}
	return nil
}

// configure gives a NIC its addresses and routes.
func configure(gv *gvstack.Stack, it *Interface) error {
	c := &it.Config
	if v4 := c.IPv4; v4 != nil && v4.Method == MethodStatic {
		if err := addOnLink(gv, it.nic, ipv4.ProtocolNumber, v4.Address, v4.Prefix); err != nil {
			return err
		}
		if v4.Gateway.IsValid() {
			gv.AddRoute(tcpip.Route{Destination: header.IPv4EmptySubnet,
				Gateway: tcpip.AddrFrom4(v4.Gateway.As4()), NIC: it.nic})
		}
	}
	if v6 := c.IPv6; v6 != nil {
		if err := addOnLink(gv, it.nic, ipv6.ProtocolNumber, c.linkLocal(), 64); err != nil {
			return err
		}
		if ep, e := gv.GetNetworkEndpoint(it.nic, ipv6.ProtocolNumber); e == nil {
			if ndp, ok := ep.(ipv6.NDPEndpoint); ok {
				cfg := ndp.NDPConfigurations()
				// Stateless DHCPv6 leaves addresses to SLAAC, as OpenPerf
				// does: dhcp6 autoconfigures like auto.
				slaac := v6.Method == MethodAuto || v6.Method == MethodDHCP6
				cfg.AutoGenGlobalAddresses = slaac
				cfg.MaxRtrSolicitations = 0
				if slaac {
					cfg.MaxRtrSolicitations = 3
				}
				ndp.SetNDPConfigurations(cfg)
			}
		}
		if v6.Method == MethodStatic {
			if err := addOnLink(gv, it.nic, ipv6.ProtocolNumber, v6.Address, v6.Prefix); err != nil {
				return err
			}
			if v6.Gateway.IsValid() {
				gv.AddRoute(tcpip.Route{Destination: header.IPv6EmptySubnet,
					Gateway: tcpip.AddrFrom16(v6.Gateway.As16()), NIC: it.nic})
			}
		}
	}
	return nil
}

// addOnLink gives a NIC an address and a route to its subnet.
func addOnLink(gv *gvstack.Stack, nic tcpip.NICID, proto tcpip.NetworkProtocolNumber, addr netip.Addr, prefix int) error {
	pa := tcpip.ProtocolAddress{Protocol: proto,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFromSlice(addr.AsSlice()), PrefixLen: prefix}}
	if e := gv.AddProtocolAddress(nic, pa, gvstack.AddressProperties{}); e != nil {
		return fmt.Errorf("add %s: %s", addr, e)
	}
	gv.AddRoute(tcpip.Route{Destination: pa.AddressWithPrefix.Subnet(), NIC: nic})
	return nil
}
