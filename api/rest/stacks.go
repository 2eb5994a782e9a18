package rest

import (
	"context"
	"fmt"
	"net/http"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/stack"
)

var errNotYet = &apiError{status: http.StatusServiceUnavailable, msg: "the stack is not running"}

func stackJSON(s *stack.Stack) gen.Stack {
	pc := s.ProtocolCounters()
	conv := func(name string) gen.StackProtocolStats {
		p := pc[name]
		return gen.StackProtocolStats{
			TxPackets: int64(p.TxPackets), RxPackets: int64(p.RxPackets),
			ForwardedPackets: int64(p.ForwardedPackets), DroppedPackets: int64(p.DroppedPackets),
			ChecksumErrors: int64(p.ChecksumErrors), LengthErrors: int64(p.LengthErrors),
			MemoryErrors: int64(p.MemoryErrors), RoutingErrors: int64(p.RoutingErrors),
			ProtocolErrors: int64(p.ProtocolErrors), OptionErrors: int64(p.OptionErrors),
			MiscErrors: int64(p.MiscErrors), CacheHits: int64(p.CacheHits),
		}
	}
	pools := []gen.StackMemoryStats{} // [] without pools (no-init): the schema's array is not nullable
	for _, p := range s.Pools() {
		pools = append(pools, gen.StackMemoryStats{Name: p.Name, Available: p.Available, Used: p.Used,
			Max: p.Max, Errors: p.Errors})
	}
	heap := s.Heap()
	elem := gen.StackElementStats{}
	st := gen.StackStats{
		Arp: conv("arp"), Ipv4: conv("ipv4"), Ipv4Frag: conv("ipv4_frag"), Icmpv4: conv("icmpv4"),
		Igmp: conv("igmp"), Nd: conv("nd"), Ipv6: conv("ipv6"), Ipv6Frag: conv("ipv6_frag"),
		Icmpv6: conv("icmpv6"), Mld: conv("mld"), Udp: conv("udp"), Tcp: conv("tcp"),
		Heap:  gen.StackMemoryStats{Name: "heap", Available: heap.Available, Used: heap.Used, Max: heap.Max},
		Pools: pools, Sems: elem, Mutexes: elem, Mboxes: elem,
	}
	return gen.Stack{Id: stack.ID, Stats: st}
}

// ListStacks implements gen.StrictServerInterface.
func (h *Handlers) ListStacks(context.Context, gen.ListStacksRequestObject) (gen.ListStacksResponseObject, error) {
	s, err := h.stack()
	if err != nil {
		return nil, err
	}
	return gen.ListStacks200JSONResponse{stackJSON(s)}, nil
}

// GetStack implements gen.StrictServerInterface.
func (h *Handlers) GetStack(_ context.Context, req gen.GetStackRequestObject) (gen.GetStackResponseObject, error) {
	s, err := h.stack()
	if err != nil {
		return nil, err
	}
	if req.Id != stack.ID {
		return nil, fmt.Errorf("stack %s: %w", req.Id, packetio.ErrNotFound)
	}
	return gen.GetStack200JSONResponse(stackJSON(s)), nil
}
