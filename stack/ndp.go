package stack

import (
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	gvstack "gvisor.dev/gvisor/pkg/tcpip/stack"
)

// ndpRoutes turns what router advertisements teach (on-link prefixes,
// default and other off-link routes) into routes of a shard's stack, as a
// host's kernel would. gVisor only reports these events; the integrator
// owns the route table. Events may not call into the stack, so the
// changes are applied by a goroutine.
type ndpRoutes struct {
	ops chan func(*gvstack.Stack)
}

var _ ipv6.NDPDispatcher = (*ndpRoutes)(nil)

func newNDPRoutes() *ndpRoutes { return &ndpRoutes{ops: make(chan func(*gvstack.Stack), 1024)} }

// run applies route changes until stop closes.
func (n *ndpRoutes) run(gv *gvstack.Stack, stop <-chan struct{}) {
	for {
		select {
		case op := <-n.ops:
			op(gv)
		case <-stop:
			return
		}
	}
}

func (n *ndpRoutes) queue(op func(*gvstack.Stack)) {
	select {
	case n.ops <- op:
	default: // a storm of advertisements; the next one repeats the news
	}
}

func (n *ndpRoutes) OnOnLinkPrefixDiscovered(nic tcpip.NICID, prefix tcpip.Subnet) {
	n.queue(func(gv *gvstack.Stack) { gv.AddRoute(tcpip.Route{Destination: prefix, NIC: nic}) })
}

func (n *ndpRoutes) OnOnLinkPrefixInvalidated(nic tcpip.NICID, prefix tcpip.Subnet) {
	n.queue(func(gv *gvstack.Stack) {
		gv.RemoveRoutes(func(r tcpip.Route) bool { return r.NIC == nic && r.Destination == prefix && r.Gateway.BitLen() == 0 })
	})
}

func (n *ndpRoutes) OnOffLinkRouteUpdated(nic tcpip.NICID, prefix tcpip.Subnet, router tcpip.Address, _ header.NDPRoutePreference) {
	n.queue(func(gv *gvstack.Stack) {
		r := tcpip.Route{Destination: prefix, Gateway: router, NIC: nic}
		gv.RemoveRoutes(func(x tcpip.Route) bool { return x.Equal(r) })
		gv.AddRoute(r)
	})
}

func (n *ndpRoutes) OnOffLinkRouteInvalidated(nic tcpip.NICID, prefix tcpip.Subnet, router tcpip.Address) {
	n.queue(func(gv *gvstack.Stack) {
		gv.RemoveRoutes(func(r tcpip.Route) bool {
			return r.NIC == nic && r.Destination == prefix && r.Gateway == router
		})
	})
}

// The remaining events need no action: addresses stay in gVisor, and
// DNS and DHCPv6 hints are not used by an emulated host.

func (*ndpRoutes) OnDuplicateAddressDetectionResult(tcpip.NICID, tcpip.Address, gvstack.DADResult) {}
func (*ndpRoutes) OnAutoGenAddress(tcpip.NICID, tcpip.AddressWithPrefix) gvstack.AddressDispatcher {
	return nil
}
func (*ndpRoutes) OnAutoGenAddressDeprecated(tcpip.NICID, tcpip.AddressWithPrefix)        {}
func (*ndpRoutes) OnAutoGenAddressInvalidated(tcpip.NICID, tcpip.AddressWithPrefix)       {}
func (*ndpRoutes) OnRecursiveDNSServerOption(tcpip.NICID, []tcpip.Address, time.Duration) {}
func (*ndpRoutes) OnDNSSearchListOption(tcpip.NICID, []string, time.Duration)             {}
func (*ndpRoutes) OnDHCPv6Configuration(tcpip.NICID, ipv6.DHCPv6ConfigurationFromNDPRA)   {}
