package generator

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packetio"
)

// learnDef is one ethernet header whose destination MAC is learnt from
// the IP destination(s) of the first IP header after it.
type learnDef struct {
	def, eth, ip int
	mod          int          // index of the IP header's destination modifier; -1: none
	dsts         []netip.Addr // per modifier value in transmit order, or the one destination
}

// destinationModified reports an ethernet header whose destination a
// modifier writes in every frame: no base value is needed and nothing is
// learnt.
func destinationModified(h HeaderDef) bool {
	return slices.ContainsFunc(h.Modifiers, func(m Modifier) bool { return m.Name == "destination" })
}

// learnDefs lists what a generator on an interface learns. As in
// OpenPerf, the interface's stack decides where frames go: every ethernet
// header followed by an IP header takes the MAC its IP destination (or
// the gateway to it) resolves to, whether or not the request named a
// destination MAC; one without a destination and without an IP header
// after it cannot be sent.
func learnDefs(sp Spec) ([]learnDef, error) {
	unset := map[[2]int]bool{}
	for _, e := range sp.Ethernet {
		if e.Dst {
			unset[[2]int{e.Def, e.Header}] = true
		}
	}
	var out []learnDef
	for i := range sp.Traffic {
		for j, h := range sp.Traffic[i].Headers {
			if h.Header.Kind() != protocol.KindEthernet || destinationModified(h) {
				continue
			}
			p := fmt.Sprintf("config.traffic[%d].packet.protocols[%d].ethernet.destination", i, j)
			ld, err := newLearnDef(sp.Traffic, EthernetDefault{Def: i, Header: j}, p)
			if err != nil {
				if unset[[2]int{i, j}] {
					return nil, err
				}
				continue // a given destination with no IP header to learn from stays
			}
			out = append(out, ld)
		}
	}
	return out, nil
}

func newLearnDef(traffic []TrafficDefinition, e EthernetDefault, path string) (learnDef, error) {
	d := &traffic[e.Def]
	ld := learnDef{def: e.Def, eth: e.Header, ip: -1, mod: -1}
	for j := e.Header + 1; j < len(d.Headers); j++ {
		k := d.Headers[j].Header.Kind()
		if k == protocol.KindIPv4 || k == protocol.KindIPv6 {
			ld.ip = j
			break
		}
	}
	if ld.ip < 0 {
		return ld, invalidf(path, "required: there is no IP header after it to learn it from")
	}
	h := &d.Headers[ld.ip]
	for i := range h.Modifiers {
		if h.Modifiers[i].Name == "destination" {
			ld.mod = i
		}
	}
	if ld.mod >= 0 {
		m := &h.Modifiers[ld.mod]
		if err := m.validate(path, h.Header); err != nil {
			return ld, err
		}
		for _, v := range m.values() {
			ld.dsts = append(ld.dsts, addrOf(v, h.Header.Kind() == protocol.KindIPv6))
		}
		return ld, nil
	}
	switch ip := h.Header.(type) {
	case protocol.IPv4:
		ld.dsts = []netip.Addr{netip.AddrFrom4(ip.Dst)}
	case protocol.IPv6:
		ld.dsts = []netip.Addr{netip.AddrFrom16(ip.Dst)}
	}
	return ld, nil
}

func addrOf(v Value, v6 bool) netip.Addr {
	if v6 {
		var b [16]byte
		v.PutBytes(b[:])
		return netip.AddrFrom16(b)
	}
	var b [4]byte
	v.PutBytes(b[:])
	return netip.AddrFrom4(b)
}

// multicastMAC is the MAC a multicast or broadcast IP destination maps to,
// which needs no resolution.
func multicastMAC(a netip.Addr) ([6]byte, bool) {
	switch {
	case a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, true
	case a.Is4() && a.IsMulticast():
		b := a.As4()
		return [6]byte{0x01, 0x00, 0x5e, b[1] & 0x7f, b[2], b[3]}, true
	case a.Is6() && a.IsMulticast():
		b := a.As16()
		return [6]byte{0x33, 0x33, b[12], b[13], b[14], b[15]}, true
	}
	return [6]byte{}, false
}

// Neighbor is one learnt address.
type Neighbor struct {
	Addr, NextHop netip.Addr
	MAC           *[6]byte // nil until resolved
}

// learning is a generator's address resolution.
type learning struct {
	defs []learnDef

	mu       sync.Mutex
	running  bool
	done     chan struct{} // closed when the current run ends
	stop     context.CancelFunc
	nextHop  map[netip.Addr]netip.Addr
	macs     map[netip.Addr][6]byte // by destination
	err      error                  // the last run's first failure
	timedOut bool
}

func newLearning(defs []learnDef) *learning {
	done := make(chan struct{})
	close(done)
	return &learning{defs: defs, done: done, nextHop: map[netip.Addr]netip.Addr{}, macs: map[netip.Addr][6]byte{}}
}

func (l *learning) destinations() []netip.Addr {
	seen := map[netip.Addr]bool{}
	var out []netip.Addr
	for _, d := range l.defs {
		for _, a := range d.dsts {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

func (l *learning) state() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.running:
		return LearningResolving
	case len(l.macs) == len(l.destinations()) && l.err == nil:
		return LearningResolved
	case l.timedOut || l.err != nil:
		return LearningTimedOut
	}
	return LearningUnresolved
}

func (l *learning) errSuffix() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return " (" + l.err.Error() + ")"
	}
	return ""
}

func (l *learning) cancel() {
	l.mu.Lock()
	stop := l.stop
	l.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// startLearning resolves the generator's destinations in the background:
// all of them, or (retry) only those not resolved yet.
func (s *Service) startLearning(it *item, retry bool) {
	g := it.State
	l := g.learn
	l.mu.Lock()
	if l.running {
		l.mu.Unlock()
		return
	}
	if !retry {
		l.macs = map[netip.Addr][6]byte{}
		l.nextHop = map[netip.Addr]netip.Addr{}
	}
	l.err, l.timedOut, l.running = nil, false, true
	ctx, stop := context.WithCancel(context.Background())
	l.stop = stop
	done := make(chan struct{})
	l.done = done
	var todo []netip.Addr
	for _, a := range l.destinations() {
		if _, ok := l.macs[a]; !ok {
			todo = append(todo, a)
		}
	}
	l.mu.Unlock()
	iface := it.Endpoint.Interface
	go func() {
		defer close(done)
		defer stop()
		sem := make(chan struct{}, 64)
		var wg sync.WaitGroup
		for _, a := range todo {
			if mac, ok := multicastMAC(a); ok {
				l.mu.Lock()
				l.macs[a], l.nextHop[a] = mac, a
				l.mu.Unlock()
				continue
			}
			if s.opts.Resolver == nil {
				l.mu.Lock()
				l.err = fmt.Errorf("no stack to resolve %s with", a)
				l.mu.Unlock()
				break
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				rctx, cancel := context.WithTimeout(ctx, s.opts.LearnTimeout)
				defer cancel()
				nh, mac, err := s.opts.Resolver.Resolve(rctx, iface, a)
				l.mu.Lock()
				defer l.mu.Unlock()
				if nh.IsValid() {
					l.nextHop[a] = nh
				}
				if err != nil {
					if rctx.Err() != nil && ctx.Err() == nil {
						l.timedOut = true
					}
					if l.err == nil && ctx.Err() == nil {
						l.err = fmt.Errorf("resolve %s: %w", a, err)
					}
					return
				}
				l.macs[a] = mac
			}()
		}
		wg.Wait()
		stopped := ctx.Err() != nil
		// Recompile with what was learnt before reporting "resolved".
		s.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.running = false
			if stopped || l.err != nil || len(l.macs) < len(l.destinations()) {
				return
			}
			if err := s.applyLearnt(g, l); err != nil {
				l.err = err
			}
		})
	}()
}

// applyLearnt recompiles a generator with its learnt destination MACs.
// Destinations that share one MAC set it in the template; otherwise each
// flow gets the MAC of its own IP destination through a per-flow
// modifier, whatever else the definition modifies and however it ties.
func (s *Service) applyLearnt(g *gen, l *learning) error {
	traffic := make([]TrafficDefinition, len(g.spec.Traffic))
	copy(traffic, g.spec.Traffic)
	for _, ld := range l.defs {
		d := traffic[ld.def]
		d.Headers = append([]HeaderDef(nil), d.Headers...)
		eth := d.Headers[ld.eth].Header.(protocol.Ethernet)
		distinct := map[[6]byte]bool{}
		for _, a := range ld.dsts {
			m := l.macs[a]
			distinct[m] = true
			eth.Dst = m
		}
		if len(distinct) > 1 {
			macs, err := flowMACs(&g.prog.Definitions[ld.def], &d, ld, l.macs)
			if err != nil {
				return fmt.Errorf("traffic[%d]: %w", ld.def, err)
			}
			h := &d.Headers[ld.eth]
			h.Modifiers = append(slices.Clip(h.Modifiers), Modifier{Name: "destination", Kind: KindMAC, List: macs, PerFlow: true})
		}
		d.Headers[ld.eth].Header = eth
		traffic[ld.def] = d
	}
	prog, err := Compile(traffic, g.spec.Order, s.opts.FlowLimit)
	if err != nil {
		return err
	}
	if prog.Flows() != g.flows {
		return fmt.Errorf("learnt MACs changed the flow count from %d to %d", g.flows, prog.Flows())
	}
	g.prog = prog
	return nil
}

// flowMACs returns, flow by flow of compiled definition cd (the traffic
// definition d), the learnt MAC of the flow's IP destination.
func flowMACs(cd *Definition, d *TrafficDefinition, ld learnDef, macs map[netip.Addr][6]byte) ([]Value, error) {
	off := 0
	for _, h := range d.Headers[:ld.ip] {
		off += h.Header.Len()
	}
	v6 := d.Headers[ld.ip].Header.Kind() == protocol.KindIPv6
	if v6 {
		off += protocol.IPv6DstOff
	} else {
		off += protocol.IPv4DstOff
	}
	frame := make([]byte, protocol.MaxFrameLen)
	out := make([]Value, cd.FlowCount)
	for f := range out {
		n := cd.Write(frame, f, 0, 0, 0)
		var a netip.Addr
		switch {
		case v6 && off+16 <= n:
			a = netip.AddrFrom16([16]byte(frame[off:]))
		case !v6 && off+4 <= n:
			a = netip.AddrFrom4([4]byte(frame[off:]))
		default:
			return nil, fmt.Errorf("flow %d: the frame ends before its IP destination", f)
		}
		m, ok := macs[a]
		if !ok {
			return nil, fmt.Errorf("flow %d: no MAC learnt for %s", f, a)
		}
		out[f] = MACAddr(m)
	}
	return out, nil
}

// awaitLearning waits (up to ctx) for a generator's learning to finish.
func (s *Service) awaitLearning(ctx context.Context, it *item) error {
	g := it.State
	if g.learn == nil {
		return nil
	}
	g.learn.mu.Lock()
	done := g.learn.done
	g.learn.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return invalidf("learning", "generator %s is still learning: %v", it.ID, ctx.Err())
	}
}

// LearningView is a generator's learning state and addresses.
type LearningView struct {
	State      string
	IPv4, IPv6 []Neighbor
}

// Learning reports a generator's learning.
func (s *Service) Learning(id string) (LearningView, error) {
	it, ok := s.Item(id)
	if !ok {
		return LearningView{}, fmt.Errorf("generator %s: %w", id, packetio.ErrNotFound)
	}
	g := it.State
	if g.learn == nil {
		// As OpenPerf: a port learns nothing, so asking is an error; an
		// interface with nothing to learn has learnt it all.
		if it.Endpoint.Interface == "" {
			return LearningView{}, invalidf("learning", "generator %s is on port %s: only generators on interfaces learn", id, it.Endpoint.PortID)
		}
		return LearningView{State: LearningResolved}, nil
	}
	l := g.learn
	v := LearningView{State: l.state()}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range l.destinations() {
		n := Neighbor{Addr: a, NextHop: l.nextHop[a]}
		if m, ok := l.macs[a]; ok {
			n.MAC = &m
		}
		if a.Is4() {
			v.IPv4 = append(v.IPv4, n)
		} else {
			v.IPv6 = append(v.IPv6, n)
		}
	}
	return v, nil
}

// LearningControl starts ("start": everything again), retries ("retry":
// only what is unresolved) or stops ("stop") a generator's learning.
func (s *Service) LearningControl(id, op string) error {
	it, ok := s.Item(id)
	if !ok {
		return fmt.Errorf("generator %s: %w", id, packetio.ErrNotFound)
	}
	g := it.State
	if g.learn == nil {
		// OpenPerf's answers: on a port, asking for learning to start is a
		// harmless no-op but stopping it is an error; on an interface
		// with nothing to learn, both are no-ops.
		if op == "stop" && it.Endpoint.Interface == "" {
			return invalidf("learning", "generator %s is on port %s: only generators on interfaces learn", id, it.Endpoint.PortID)
		}
		return nil
	}
	switch op {
	case "stop":
		g.learn.cancel()
		g.learn.mu.Lock()
		done := g.learn.done
		g.learn.mu.Unlock()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	case "start", "retry":
		if s.Running(id) {
			return fmt.Errorf("generator %s is running: %w", id, packetio.ErrInUse)
		}
		s.startLearning(it, op == "retry")
	default:
		return fmt.Errorf("learning operation %q: %w", op, ErrInvalid)
	}
	return nil
}
