package stack

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"

	"github.com/benbjohnson/immutable"

	"github.com/openperfd/openperfd/fib"
	"github.com/openperfd/openperfd/packetio"
)

// portState is the stack's presence on one port: the index workers use
// to find interfaces, the sink that receives the port's frames and the
// queue of frames the stack sends. The immutable maps are changed under
// Stack.mu; workers read the published index without locks.
type portState struct {
	id    string
	index uint16
	tx    *txQueue
	sink  *portSink

	macs *fib.Table[fib.Shared[*Interface], packetio.Sink] // destination MAC -> interfaces (one table for all ports)

	v4 *immutable.Map[uint32, *Interface]   // IPv4 address -> interface (ARP targets)
	sn *immutable.Map[uint32, []*Interface] // low 24 bits of IPv6 addresses (solicited-node groups)

	// acd maps the addresses IPv4 auto interfaces probe or hold to them:
	// ARP frames about these go to their claims as well (see ipv4ll.go).
	acd *immutable.Map[uint32, *Interface]

	published atomic.Pointer[portIndex]
}

// portIndex is one published, read-only view of a port's interfaces.
type portIndex struct {
	v4  *immutable.Map[uint32, *Interface]
	sn  *immutable.Map[uint32, []*Interface]
	acd *immutable.Map[uint32, *Interface]
}

type u32Hasher struct{}

// Hash mixes the address bits (murmur3's finaliser).
func (u32Hasher) Hash(k uint32) uint32 {
	k ^= k >> 16
	k *= 0x85ebca6b
	k ^= k >> 13
	k *= 0xc2b2ae35
	return k ^ k>>16
}
func (u32Hasher) Equal(a, b uint32) bool { return a == b }

// portLocked returns the port's state, creating it (and registering the
// sink and tx queue with the workers) for the port's first interface.
func (s *Stack) portLocked(id string) (*portState, error) {
	if ps := s.ports[id]; ps != nil {
		return ps, nil
	}
	p := s.portByID(id)
	if p == nil {
		return nil, fmt.Errorf("port %s: %w", id, packetio.ErrNotFound)
	}
	ps := &portState{
		id: id, index: p.Info().Index,
		tx:   newTxQueue(s.drv.Pool(), s.opts.QueueDepth, s.dp.Wake),
		macs: s.macs,
		v4:   immutable.NewMap[uint32, *Interface](u32Hasher{}),
		sn:   immutable.NewMap[uint32, []*Interface](u32Hasher{}),
		acd:  immutable.NewMap[uint32, *Interface](u32Hasher{}),
	}
	ps.sink = &portSink{ps: ps, s: s}
	if s.opts.Strategy == RxQueued {
		ps.sink.queue = make(chan rxItem, s.opts.QueueDepth)
		ps.sink.done = make(chan struct{})
		s.wg.Add(1)
		go ps.sink.drain(&s.wg)
	}
	ps.publish()
	if err := s.dp.AddSource(id, ps.tx); err != nil {
		return nil, fmt.Errorf("port %s: %w", id, err)
	}
	s.dp.AddSink(id, ps.sink)
	s.ports[id] = ps
	return ps, nil
}

// dropPortLocked takes the stack off a port with no interfaces left.
func (s *Stack) dropPortLocked(id string, ps *portState) {
	s.dp.RemoveSink(id, ps.sink)
	s.dp.RemoveSource(ps.tx)
	ps.tx.drain()
	if ps.sink.done != nil {
		close(ps.sink.done)
	}
	delete(s.ports, id)
}

func (ps *portState) publish() {
	ps.published.Store(&portIndex{v4: ps.v4, sn: ps.sn, acd: ps.acd})
}

func (s *Stack) publishLocked() {
	for _, ps := range s.ports {
		ps.publish()
	}
}

// lookupMAC returns the interfaces of the port that have MAC k.
func (ps *portState) lookupMAC(k fib.MAC) (fib.Shared[*Interface], bool) {
	return ps.macs.Snapshot(ps.index).Lookup(k)
}

// add puts an interface in the port's (unpublished) address maps; its MAC
// goes into the FIB in a batch (see Stack.Create).
func (ps *portState) add(it *Interface) {
	if a := it.addr4.Load(); a != 0 {
		ps.v4 = ps.v4.Set(a, it)
	}
	for _, k := range it.solicitedKeys() {
		list, _ := ps.sn.Get(k)
		ps.sn = ps.sn.Set(k, append(append([]*Interface(nil), list...), it))
	}
}

// remove takes an interface out of the port's (unpublished) address maps
// and ends its IPv4 auto claim, if any.
func (ps *portState) remove(it *Interface) {
	if it.auto != nil {
		it.auto.stopped.Store(true)
		if k := it.acdAddr; k != 0 {
			if cur, ok := ps.acd.Get(k); ok && cur == it {
				ps.acd = ps.acd.Delete(k)
			}
		}
	}
	if k := it.addr4.Load(); k != 0 {
		if cur, ok := ps.v4.Get(k); ok && cur == it {
			ps.v4 = ps.v4.Delete(k)
		}
	}
	for _, k := range it.solicitedKeys() {
		list, _ := ps.sn.Get(k)
		kept := make([]*Interface, 0, len(list))
		for _, x := range list {
			if x != it {
				kept = append(kept, x)
			}
		}
		if len(kept) == 0 {
			ps.sn = ps.sn.Delete(k)
		} else {
			ps.sn = ps.sn.Set(k, kept)
		}
	}
}

// solicitedKeys are the low 24 bits of the interface's IPv6 addresses:
// neighbor solicitations go to ff02::1:ffXX:XXXX (MAC 33:33:ff:XX:XX:XX).
func (it *Interface) solicitedKeys() []uint32 {
	v6 := it.Config.IPv6
	if v6 == nil {
		return nil
	}
	key := func(a [16]byte) uint32 { return uint32(a[13])<<16 | uint32(a[14])<<8 | uint32(a[15]) }
	keys := []uint32{key(it.Config.linkLocal().As16())}
	if v6.Method == MethodStatic && v6.Address.Is6() {
		if k := key(v6.Address.As16()); k != keys[0] {
			keys = append(keys, k)
		}
	}
	return keys
}

// portSink receives a port's frames on the workers and hands each to the
// interface it is for: unicast by destination MAC, ARP by target address,
// neighbor solicitations by solicited-node group, other multicast and
// broadcast to every interface on the port.
type portSink struct {
	ps    *portState
	s     *Stack
	queue chan rxItem // RxQueued only
	done  chan struct{}
}

type rxItem struct {
	it    *Interface
	frame []byte
}

var _ packetio.Sink = (*portSink)(nil)

// Push implements packetio.Sink. The index is read once per burst, and a
// run of frames for the same MAC is looked up once. A MAC with one
// interface delivers straight to it; only a shared MAC looks into the
// frame (see the package documentation).
func (ps *portSink) Push(_ uint16, pkts []*packetio.Mbuf) {
	snap := ps.ps.macs.Snapshot(ps.ps.index)
	idx := ps.ps.published.Load()
	if idx.acd.Len() > 0 {
		ps.watchBurst(idx, pkts) // IPv4 auto claims need to see ARP
	}
	var b rxBatch // links whose GRO took frames: flushed after the burst
	defer b.flush()
	lastKey := fib.MAC(1 << 63)
	var last *Interface // the MAC's interface, or its first sharer
	var shared bool     // last's MAC has other interfaces: see entry
	var entry fib.Shared[*Interface]
	for _, m := range pkts {
		frame := m.Data()
		if len(frame) < 14 {
			continue
		}
		if frame[0]&1 != 0 {
			ps.multicast(snap, idx, frame)
			continue
		}
		if k := fib.MACFrom(frame); k != lastKey {
			entry, _ = snap.Lookup(k) // the zero Shared when absent: First is nil
			lastKey, last, shared = k, entry.First(), entry.Len() > 1
		}
		if last == nil {
			continue
		}
		if !shared {
			ps.deliver(last, frame, &b)
			continue
		}
		ps.unicastShared(entry.Sharers(), frame, &b)
	}
}

// watchBurst passes a burst's ARP frames to the claims they concern.
func (ps *portSink) watchBurst(idx *portIndex, pkts []*packetio.Mbuf) {
	for _, m := range pkts {
		if frame := m.Data(); len(frame) >= 14 && frame[12] == 0x08 && frame[13] == 0x06 {
			ps.watchARP(idx, frame)
		}
	}
}

// unicastShared hands a frame to the sharer of its MAC it is for, or to
// each sharer when none holds its address.
func (ps *portSink) unicastShared(sharers []*Interface, frame []byte, b *rxBatch) {
	if it := pickSharer(sharers, frame); it != nil {
		ps.deliver(it, frame, b)
		return
	}
	for _, it := range sharers {
		ps.deliver(it, frame, nil) // a copy each: no GRO
	}
}

// pickSharer returns the interface among sharers that holds the address
// a unicast frame is for: the IPv4 destination, the ARP target protocol
// address, the IPv6 destination, or a neighbour solicitation's target.
// nil when none does. It reads only the frame's fixed-offset fields and
// does not allocate.
func pickSharer(sharers []*Interface, frame []byte) *Interface {
	switch binary.BigEndian.Uint16(frame[12:14]) {
	case 0x0800: // IPv4: destination at 14+16
		if len(frame) < 34 {
			return nil
		}
		return sharerWith4(sharers, binary.BigEndian.Uint32(frame[30:34]))
	case 0x0806: // ARP for IPv4 over Ethernet: target protocol address at 14+24
		if len(frame) < 42 || binary.BigEndian.Uint32(frame[14:18]) != 0x0001_0800 || frame[18] != 6 || frame[19] != 4 {
			return nil
		}
		return sharerWith4(sharers, binary.BigEndian.Uint32(frame[38:42]))
	case 0x86dd: // IPv6: destination at 14+24
		if len(frame) < 54 {
			return nil
		}
		dst := (*[16]byte)(frame[38:54])
		// A neighbour solicitation's target (14+40+8) is the address being
		// resolved; unicast ones (NUD) are sent to it as well, but say it
		// explicitly. No extension headers: ND has none.
		if frame[20] == 58 && len(frame) >= 78 && frame[54] == 135 {
			dst = (*[16]byte)(frame[62:78])
		}
		for _, it := range sharers {
			if it.owns6(dst) {
				return it
			}
		}
	}
	return nil
}

// sharerWith4 returns the sharer whose IPv4 address is a (0: none).
func sharerWith4(sharers []*Interface, a uint32) *Interface {
	if a == 0 {
		return nil
	}
	for _, it := range sharers {
		if it.addr4.Load() == a {
			return it
		}
	}
	return nil
}

func (ps *portSink) multicast(snap *fib.Snapshot[fib.Shared[*Interface], packetio.Sink], idx *portIndex, frame []byte) {
	etype := binary.BigEndian.Uint16(frame[12:14])
	switch {
	case etype == 0x0806 && len(frame) >= 42:
		// ARP: only the owner of the target address needs it.
		if it, ok := idx.v4.Get(binary.BigEndian.Uint32(frame[38:42])); ok {
			ps.deliver(it, frame, nil)
		}
		return
	case frame[0] == 0x33 && frame[1] == 0x33 && frame[2] == 0xff:
		list, _ := idx.sn.Get(uint32(frame[3])<<16 | uint32(frame[4])<<8 | uint32(frame[5]))
		for _, it := range list {
			ps.deliver(it, frame, nil)
		}
		return
	}
	snap.Each(func(_ fib.MAC, e fib.Shared[*Interface]) bool {
		if all := e.Sharers(); all != nil {
			for _, it := range all {
				ps.deliver(it, frame, nil)
			}
		} else {
			ps.deliver(e.First(), frame, nil)
		}
		return true
	})
}

func (ps *portSink) deliver(it *Interface, frame []byte, b *rxBatch) {
	if ps.queue == nil {
		it.link.deliver(frame, b)
		return
	}
	select {
	case ps.queue <- rxItem{it: it, frame: append([]byte(nil), frame...)}:
	default:
		ps.s.queueDrops.Add(1)
		it.stats.rxErrors.Add(1)
	}
}

// drain runs the queued strategy's stack goroutine for one port.
func (ps *portSink) drain(wg interface{ Done() }) {
	defer wg.Done()
	var b rxBatch // flushed whenever the queue runs dry
	for {
		select {
		case item := <-ps.queue:
			if item.it.link.rxFilter.Match(item.frame) {
				item.it.link.deliverOwned(item.frame, &b)
			}
			if len(ps.queue) == 0 {
				b.flush()
			}
		case <-ps.done:
			b.flush()
			return
		}
	}
}

// owns6 reports whether a is the interface's static IPv6 address or its
// link-local one.
func (it *Interface) owns6(a *[16]byte) bool {
	return *a != [16]byte{} && (*a == it.addr6 || *a == it.ll6)
}
