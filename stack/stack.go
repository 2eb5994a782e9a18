package stack

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	gvstack "gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"

	"github.com/openperfd/openperfd/fib"
	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/packet/bpf"
	"github.com/openperfd/openperfd/packetio"
)

// ID is the id of the one stack.
const ID = "stack0"

// Rx strategies: how received frames reach the stack.
const (
	// RxDirect delivers on the worker goroutine, inside its loop.
	RxDirect = "direct"
	// RxQueued hands frames to a bounded queue a stack goroutine drains, so
	// a slow stack never holds up a worker; overflow is counted and dropped.
	RxQueued = "queued"
)

// Dataplane is what the stack needs from the workers.
type Dataplane interface {
	AddSink(portID string, s packetio.Sink)
	RemoveSink(portID string, s packetio.Sink)
	AddSource(portID string, s packetio.Source) error
	RemoveSource(s packetio.Source)
	// Synchronize returns once no worker can still see what was unpublished.
	Synchronize()
	// Wake pokes idle workers so queued frames go out at once.
	Wake()
}

// Options configure the stack.
type Options struct {
	Strategy   string // RxDirect or RxQueued
	QueueDepth int    // frames per port queue (queued rx and tx); default 4096
	// QSBR is the workers' (they read the FIB); nil makes a private one.
	QSBR *fib.QSBR
	Log  *zap.Logger

	llTimings *llTimings // IPv4 auto's waits; nil: RFC 3927's (tests shorten them)
}

// Stack hosts the interfaces on one gVisor stack. Methods are safe for
// concurrent use; changes are serialised by mu.
type Stack struct {
	drv  packetio.Driver
	dp   Dataplane
	opts Options
	log  *zap.Logger

	shrinkWarn sync.Once // shrinkNeighborCaches' failure is logged once

	mu     sync.Mutex // guards everything below
	ifaces map[string]*Interface
	ports  map[string]*portState
	macs   *fib.Table[fib.Shared[*Interface], packetio.Sink] // per port index: MAC -> the interfaces that have it
	shards []*shard
	seq    uint64

	queueDrops atomic.Uint64
	family     familyCounters
	ckErrs     checksumCounters // frames the links dropped for a checksum (rxcsum.go)
	wg         sync.WaitGroup
	dhcp       *dhcpScheduler // made with the first DHCP interface; guarded by mu

	ll *llManager // runs IPv4 auto (RFC 3927) claims
}

// Interface is one emulated interface.
type Interface struct {
	ID     string
	PortID string
	Config Config
	seq    uint64
	nic    tcpip.NICID
	link   *link
	stats  ifaceStats
	sh     *shard
	gv     *gvstack.Stack

	rxFilter, txFilter *bpf.Filter // nil passes everything

	dhcp4  *dhcp4Client // ipv4.method dhcp
	dhcp6  *dhcp6Client // ipv6.method dhcp6
	lease4 netip.Prefix // the DHCPv4 lease on the NIC; guarded by Stack.mu

	// addr4 is the IPv4 address the interface answers for, big-endian,
	// 0 for none: the static one, or the link-local one once IPv4 auto
	// has claimed it. Workers read it to tell interfaces that share a MAC
	// apart.
	addr4 atomic.Uint32
	// addr6 and ll6 are the static IPv6 address and the link-local one
	// (zero: none), set before the interface is indexed and not changed
	// after, for the same purpose.
	addr6, ll6 [16]byte

	auto    *autoV4 // IPv4 auto's claim; nil for other methods
	acdAddr uint32  // the address auto reserved on the port, 0 none; guarded by Stack.mu
}

// Stats are an interface's counters.
type Stats struct {
	RxPackets, TxPackets, RxBytes, TxBytes, RxErrors, TxErrors uint64
}

// New makes the stack over a driver's ports and the workers.
func New(drv packetio.Driver, dp Dataplane, opts Options) (*Stack, error) {
	switch opts.Strategy {
	case RxDirect, RxQueued:
	default:
		return nil, fmt.Errorf("rx strategy %q: must be %s or %s", opts.Strategy, RxDirect, RxQueued)
	}
	if opts.QueueDepth <= 0 {
		opts.QueueDepth = 4096
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.QSBR == nil {
		opts.QSBR = fib.NewQSBR()
	}
	s := &Stack{drv: drv, dp: dp, opts: opts, log: opts.Log,
		macs:   fib.NewTable[fib.Shared[*Interface], packetio.Sink](opts.QSBR),
		ifaces: map[string]*Interface{}, ports: map[string]*portState{}}
	t := rfc3927
	if opts.llTimings != nil {
		t = *opts.llTimings
	}
	s.ll = newLLManager(s, t)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.ll.run()
	}()
	return s, nil
}

// shardSize caps the interfaces of one gVisor stack. gVisor keeps routes
// in a list it scans on every insert and lookup, and checks NIC names
// against every NIC; sharding keeps both short however many interfaces
// there are.
const shardSize = 256

// shard is one gVisor stack hosting up to shardSize interfaces.
type shard struct {
	gv      *gvstack.Stack
	v6      bool          // has the IPv6 protocol
	stop    chan struct{} // ends the shard's NDP route goroutine
	count   int
	nextNIC tcpip.NICID
}

// newShard makes a gVisor stack. IPv4-only interfaces go to shards
// without IPv6: every gVisor NIC allocates a neighbour cache per
// resolving protocol (~34 KB each), so leaving IPv6 out halves their cost.
func newShard(v6 bool) *shard {
	routes := newNDPRoutes()
	protos := []gvstack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol}
	transports := []gvstack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4}
	if v6 {
		protos = append(protos, ipv6.NewProtocolWithOptions(ipv6.Options{
			// Addresses are usable at once: an emulator's users want to
			// ping right after creating an interface.
			DADConfigs: gvstack.DADConfigurations{DupAddrDetectTransmits: 0},
			NDPDisp:    routes,
			NDPConfigs: ipv6.NDPConfigurations{
				HandleRAs:              ipv6.HandlingRAsEnabledWhenForwardingDisabled,
				DiscoverDefaultRouters: true,
				DiscoverOnLinkPrefixes: true,
			},
		}))
		transports = append(transports, icmp.NewProtocol6)
	}
	gv := gvstack.New(gvstack.Options{NetworkProtocols: protos, TransportProtocols: transports})
	tuneTCP(gv)
	sh := &shard{gv: gv, v6: v6, nextNIC: 1, stop: make(chan struct{})}
	go routes.run(gv, sh.stop)
	return sh
}

// tuneTCP sets TCP up as a Linux host's is: SACK on, and receive buffers
// that grow with a connection's rate (gVisor's defaults: no SACK, fixed
// 1 MiB buffers, which cap a shimmed iperf3 on the test-mode pair). Unset
// options keep gVisor's defaults; an option it refuses is left as it was.
func tuneTCP(gv *gvstack.Stack) {
	sack := tcpip.TCPSACKEnabled(true)
	moderate := tcpip.TCPModerateReceiveBufferOption(true)
	rcv := tcpip.TCPReceiveBufferSizeRangeOption{Min: 4 << 10, Default: 1 << 20, Max: 8 << 20}
	snd := tcpip.TCPSendBufferSizeRangeOption{Min: 4 << 10, Default: 1 << 20, Max: 8 << 20}
	for _, o := range []tcpip.SettableTransportProtocolOption{&sack, &moderate, &rcv, &snd} {
		_ = gv.SetTransportProtocolOption(tcp.ProtocolNumber, o)
	}
}

// shardLocked returns a shard with room for one more interface, with or
// without IPv6.
func (s *Stack) shardLocked(v6 bool) *shard {
	for _, sh := range s.shards {
		if sh.v6 == v6 && sh.count < shardSize {
			return sh
		}
	}
	sh := newShard(v6)
	s.shards = append(s.shards, sh)
	return sh
}

// Close removes every interface and stops the stack's goroutines.
func (s *Stack) Close() {
	s.mu.Lock()
	ids := make([]string, 0, len(s.ifaces))
	for id := range s.ifaces {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	s.Delete(ids)
	s.mu.Lock()
	sched := s.dhcp
	s.mu.Unlock()
	if sched != nil {
		// The clients' RELEASEs are queued by the scheduler as it stops;
		// give the workers a moment to send them before the ports go.
		sched.close()
		s.flushTx(time.Second)
	}
	s.mu.Lock()
	for id, ps := range s.ports {
		s.dropPortLocked(id, ps)
	}
	s.mu.Unlock()
	close(s.ll.done)
	s.wg.Wait()
	for _, sh := range s.shards {
		close(sh.stop)
		sh.gv.Close()
		sh.gv.Wait()
	}
}

// Create makes interfaces, all or nothing. An empty id gets a UUID.
// where names the request field of each item for errors ("items[3]", or
// "" for a single interface).
func (s *Stack) Create(items []*Interface, where func(i int) string) ([]*Interface, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seenID := map[string]bool{}
	type portMAC struct {
		port string
		mac  [6]byte
	}
	seenMAC := map[portMAC][]*Interface{} // earlier items of this batch by port and MAC
	for i, it := range items {
		if it.ID == "" {
			it.ID = uuid.NewString()
		}
		if _, dup := s.ifaces[it.ID]; dup || seenID[it.ID] {
			return nil, invalid(join(where(i), "id"), "interface %s already exists", it.ID)
		}
		seenID[it.ID] = true
		if s.portByID(it.PortID) == nil {
			return nil, invalid(join(where(i), "port_id"), "port %q does not exist", it.PortID)
		}
		if err := it.Config.Validate(); err != nil {
			return nil, err
		}
		var err error
		if it.rxFilter, err = bpf.Compile(it.Config.RxFilter); err != nil {
			return nil, invalid(join(where(i), "config.rx_filter"), "%v", err)
		}
		if it.txFilter, err = bpf.Compile(it.Config.TxFilter); err != nil {
			return nil, invalid(join(where(i), "config.tx_filter"), "%v", err)
		}
		key := portMAC{it.PortID, it.Config.MAC}
		if err := s.sharerClashLocked(it, seenMAC[key]); err != nil {
			return nil, err
		}
		seenMAC[key] = append(seenMAC[key], it)
	}
	// Place every item on a port and a shard first, then build the NICs
	// shard by shard in parallel (shards are independent gVisor stacks),
	// then index them.
	for _, it := range items {
		ps, err := s.portLocked(it.PortID)
		if err != nil {
			return nil, err
		}
		it.link = &link{mac: tcpip.LinkAddress(it.Config.MAC[:]), tx: ps.tx, stats: &it.stats, fam: &s.family, ckErrs: &s.ckErrs,
			rxFilter: it.rxFilter, txFilter: it.txFilter}
		s.addDHCPLocked(it)
		if v4 := it.Config.IPv4; v4 != nil && v4.Method == MethodAuto {
			it.auto = &autoV4{pick: newLLPicker(it.Config.MAC)}
		}
		sh := s.shardLocked(it.Config.IPv6 != nil)
		it.sh, it.gv, it.nic = sh, sh.gv, sh.nextNIC
		sh.nextNIC++
		sh.count++
	}
	errs := make([]error, len(items))
	byShard := map[*shard][]int{}
	for i, it := range items {
		byShard[it.sh] = append(byShard[it.sh], i)
	}
	work := make(chan []int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(byShard)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for idx := range work {
				for _, i := range idx {
					errs[i] = s.buildNIC(items[i])
				}
			}
		}()
	}
	for _, idx := range byShard {
		work <- idx
	}
	close(work)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			for j, it := range items {
				if errs[j] == nil {
					it.sh.gv.RemoveRoutes(func(r tcpip.Route) bool { return r.NIC == it.nic })
					_ = it.sh.gv.RemoveNIC(it.nic)
				}
				it.sh.count--
			}
			return nil, fmt.Errorf("%s: %w", orDefault(where(i), "interface"), err)
		}
	}
	byPort := map[*portState][]fib.Item[*Interface]{}
	for _, it := range items {
		s.seq++
		it.seq = s.seq
		s.ifaces[it.ID] = it
		if v4 := it.Config.IPv4; v4 != nil && v4.Method == MethodStatic {
			it.addr4.Store(binary.BigEndian.Uint32(v4.Address.AsSlice()))
		}
		if v6 := it.Config.IPv6; v6 != nil {
			it.ll6 = it.Config.linkLocal().As16()
			if v6.Method == MethodStatic {
				it.addr6 = v6.Address.As16()
			}
		}
		ps := s.ports[it.PortID]
		ps.add(it)
		byPort[ps] = append(byPort[ps], fib.Item[*Interface]{MAC: fib.MACFrom(it.Config.MAC[:]), Value: it})
	}
	for ps, batch := range byPort {
		// Interfaces with the same MAC share its entry.
		if err := fib.JoinBatch(s.macs, ps.index, batch); err != nil {
			// Ids are unique, so no interface joins twice: a bug, not bad input.
			return nil, fmt.Errorf("index interfaces on port %s: %w", ps.id, err)
		}
	}
	s.publishLocked()
	if cs := dhcpClients(items); len(cs) > 0 {
		// They start in the background: creation never waits for a server.
		s.dhcp.start(cs...)
	}
	for _, it := range items {
		if it.auto != nil {
			s.ll.start(it) // the address comes later; Create does not wait
		}
	}
	return items, nil
}

func (s *Stack) portByID(id string) packetio.Port {
	for _, p := range s.drv.Ports() {
		if p.Info().ID == id {
			return p
		}
	}
	return nil
}

// sharerClashLocked refuses an interface that shares its MAC on its port
// with another (an existing one, or an earlier item of the batch, given
// in batch) and also one of its addresses: the receiver tells sharers
// apart by address, so that pair could not be served.
func (s *Stack) sharerClashLocked(it *Interface, batch []*Interface) error {
	others := batch
	if ps := s.ports[it.PortID]; ps != nil {
		if e, ok := ps.lookupMAC(fib.MACFrom(it.Config.MAC[:])); ok {
			if all := e.Sharers(); all != nil {
				others = append(slices.Clip(others), all...)
			} else {
				others = append(slices.Clip(others), e.First())
			}
		}
	}
	for _, o := range others {
		if field, addr, ok := it.Config.clash(&o.Config); ok {
			return invalid(field, "%s is already used by interface %s, which has the same MAC %s on port %s (interfaces may share a MAC only with different addresses)",
				addr, o.ID, macString(it.Config.MAC), it.PortID)
		}
	}
	return nil
}

// Delete removes interfaces; unknown ids are ignored. It returns how many
// existed.
func (s *Stack) Delete(ids []string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var gone []*Interface
	byPort := map[*portState][]fib.Item[*Interface]{}
	for _, id := range ids {
		if it, ok := s.ifaces[id]; ok {
			delete(s.ifaces, id)
			ps := s.ports[it.PortID]
			ps.remove(it)
			byPort[ps] = append(byPort[ps], fib.Item[*Interface]{MAC: fib.MACFrom(it.Config.MAC[:]), Value: it})
			gone = append(gone, it)
		}
	}
	if len(gone) == 0 {
		return 0
	}
	for ps, items := range byPort {
		// Interfaces that shared a MAC with these keep its entry.
		fib.LeaveBatch(s.macs, ps.index, items)
	}
	s.publishLocked()
	// No worker may still hold an interface from an old index when its
	// NIC goes away.
	s.dp.Synchronize()
	if cs := dhcpClients(gone); len(cs) > 0 {
		s.dhcp.stop(cs...) // sends the RELEASEs from the scheduler
	}
	s.destroyLocked(gone...)
	return len(gone)
}

// destroyLocked removes interfaces from gVisor and the indexes, with one
// pass over each shard's routes.
func (s *Stack) destroyLocked(its ...*Interface) {
	byShard := map[*shard]map[tcpip.NICID]bool{}
	for _, it := range its {
		if byShard[it.sh] == nil {
			byShard[it.sh] = map[tcpip.NICID]bool{}
		}
		byShard[it.sh][it.nic] = true
	}
	for sh, nics := range byShard {
		sh.gv.RemoveRoutes(func(r tcpip.Route) bool { return nics[r.NIC] })
		for nic := range nics {
			_ = sh.gv.RemoveNIC(nic)
			sh.count--
		}
	}
}

// Get returns one interface.
func (s *Stack) Get(id string) (*Interface, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.ifaces[id]
	if !ok {
		return nil, fmt.Errorf("interface %s: %w", id, packetio.ErrNotFound)
	}
	return it, nil
}

// Filter selects interfaces in List; zero fields match everything.
type Filter struct {
	PortID string
	MAC    *[6]byte
	IPv4   netip.Addr
	IPv6   netip.Addr
}

// List returns interfaces in creation order.
func (s *Stack) List(f Filter) []*Interface {
	s.mu.Lock()
	out := make([]*Interface, 0, len(s.ifaces))
	for _, it := range s.ifaces {
		if f.matches(it) {
			out = append(out, it)
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

func (f Filter) matches(it *Interface) bool {
	c := &it.Config
	switch {
	case f.PortID != "" && it.PortID != f.PortID:
		return false
	case f.MAC != nil && *f.MAC != c.MAC:
		return false
	case f.IPv4.IsValid() && addrFromU32(it.addr4.Load()) != f.IPv4: // static, leased or claimed by auto
		return false
	case f.IPv6.IsValid() && (c.IPv6 == nil || (c.IPv6.Address != f.IPv6 && c.linkLocal() != f.IPv6 && !it.hasAuto(f.IPv6))):
		return false
	}
	return true
}

// Stats returns an interface's counters.
func (it *Interface) Stats() Stats {
	st := &it.stats
	return Stats{RxPackets: st.rxPackets.Load(), TxPackets: st.txPackets.Load(),
		RxBytes: st.rxBytes.Load(), TxBytes: st.txBytes.Load(),
		RxErrors: st.rxErrors.Load(), TxErrors: st.txErrors.Load()}
}

// LinkLocal is the interface's IPv6 link-local address (zero without IPv6).
func (it *Interface) LinkLocal() netip.Addr {
	if it.Config.IPv6 == nil {
		return netip.Addr{}
	}
	return it.Config.linkLocal()
}

// Count is the number of interfaces.
func (s *Stack) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ifaces)
}

// Pools reports the packet pools the stack's frames come from.
func (s *Stack) Pools() []memory.PoolStats { return s.drv.Pools() }

// AutoAddress is the first global IPv6 address the interface gained by
// SLAAC (not configured by the user), if any.
func (it *Interface) AutoAddress() (netip.Prefix, bool) {
	if it.gv == nil || it.Config.IPv6 == nil {
		return netip.Prefix{}, false
	}
	for _, pa := range it.gv.AllAddresses()[it.nic] {
		if pa.Protocol != ipv6.ProtocolNumber {
			continue
		}
		a, ok := netip.AddrFromSlice(pa.AddressWithPrefix.Address.AsSlice())
		if !ok || a.IsLinkLocalUnicast() || a == it.Config.IPv6.Address {
			continue
		}
		return netip.PrefixFrom(a, pa.AddressWithPrefix.PrefixLen), true
	}
	return netip.Prefix{}, false
}

func (it *Interface) hasAuto(a netip.Addr) bool {
	p, ok := it.AutoAddress()
	return ok && p.Addr() == a
}

// HeapStats is the Go heap as the stack's "heap" pool.
type HeapStats struct{ Available, Used, Max int64 }

// Heap reports the Go heap in bytes, standing in for lwIP's heap pool.
func (s *Stack) Heap() HeapStats {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return HeapStats{Available: int64(ms.HeapIdle), Used: int64(ms.HeapAlloc), Max: int64(ms.HeapSys)}
}

// join prefixes a field name with where it sits, if anywhere.
func join(where, field string) string {
	if where == "" {
		return field
	}
	return where + "." + field
}

// GVisor returns the gVisor stack and NIC that host the interface, for
// modules that open transport endpoints on it (the socket server). The
// NIC goes away when the interface is deleted; endpoints on it then fail.
func (it *Interface) GVisor() (*gvstack.Stack, tcpip.NICID) { return it.gv, it.nic }
