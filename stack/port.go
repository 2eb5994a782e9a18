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

	macs *fib.Table[*Interface, packetio.Sink] // destination MAC -> interface (shared by all ports)
	v4   *immutable.Map[uint32, *Interface]    // IPv4 address -> interface (ARP targets)
	sn   *immutable.Map[uint32, []*Interface]  // low 24 bits of IPv6 addresses (solicited-node groups)

	published atomic.Pointer[portIndex]
}

// portIndex is one published, read-only view of a port's interfaces.
type portIndex struct {
	v4 *immutable.Map[uint32, *Interface]
	sn *immutable.Map[uint32, []*Interface]
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
		return nil, fmt.Errorf("port %s: %w", id, ErrNotFound)
	}
	ps := &portState{
		id: id, index: p.Info().Index,
		tx:   newTxQueue(s.drv.Pool(), s.opts.QueueDepth, s.dp.Wake),
		macs: s.macs,
		v4:   immutable.NewMap[uint32, *Interface](u32Hasher{}),
		sn:   immutable.NewMap[uint32, []*Interface](u32Hasher{}),
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
	ps.published.Store(&portIndex{v4: ps.v4, sn: ps.sn})
}

func (s *Stack) publishLocked() {
	for _, ps := range s.ports {
		ps.publish()
	}
}

func (ps *portState) lookupMAC(k fib.MAC) *Interface {
	it, _ := ps.macs.Snapshot(ps.index).Lookup(k)
	return it
}

// add puts an interface in the port's (unpublished) address maps; its MAC
// goes into the FIB in a batch (see Stack.Create).
func (ps *portState) add(it *Interface) {
	if a := it.ipv4Locked(); a.Is4() {
		ps.v4 = ps.v4.Set(binary.BigEndian.Uint32(a.AsSlice()), it)
	}
	for _, k := range it.solicitedKeys() {
		list, _ := ps.sn.Get(k)
		ps.sn = ps.sn.Set(k, append(append([]*Interface(nil), list...), it))
	}
}

// remove takes an interface out of the port's (unpublished) address maps.
func (ps *portState) remove(it *Interface) {
	if a := it.ipv4Locked(); a.Is4() {
		k := binary.BigEndian.Uint32(a.AsSlice())
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
// run of frames for the same MAC is looked up once.
func (ps *portSink) Push(_ uint16, pkts []*packetio.Mbuf) {
	snap := ps.ps.macs.Snapshot(ps.ps.index)
	idx := ps.ps.published.Load()
	lastKey := fib.MAC(1 << 63)
	var last *Interface
	for _, m := range pkts {
		frame := m.Data()
		if len(frame) < 14 {
			continue
		}
		if frame[0]&1 == 0 {
			if k := fib.MACFrom(frame); k != lastKey {
				lastKey, last = k, nil
				if it, ok := snap.Lookup(k); ok {
					last = it
				}
			}
			if last != nil {
				ps.deliver(last, frame)
			}
			continue
		}
		ps.multicast(snap, idx, frame)
	}
}

func (ps *portSink) multicast(snap *fib.Snapshot[*Interface, packetio.Sink], idx *portIndex, frame []byte) {
	etype := binary.BigEndian.Uint16(frame[12:14])
	switch {
	case etype == 0x0806 && len(frame) >= 42:
		// ARP: only the owner of the target address needs it.
		if it, ok := idx.v4.Get(binary.BigEndian.Uint32(frame[38:42])); ok {
			ps.deliver(it, frame)
		}
		return
	case frame[0] == 0x33 && frame[1] == 0x33 && frame[2] == 0xff:
		list, _ := idx.sn.Get(uint32(frame[3])<<16 | uint32(frame[4])<<8 | uint32(frame[5]))
		for _, it := range list {
			ps.deliver(it, frame)
		}
		return
	}
	snap.Each(func(_ fib.MAC, it *Interface) bool {
		ps.deliver(it, frame)
		return true
	})
}

func (ps *portSink) deliver(it *Interface, frame []byte) {
	if ps.queue == nil {
		it.link.deliver(frame)
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
	for {
		select {
		case item := <-ps.queue:
			if item.it.link.rxFilter.Match(item.frame) {
				item.it.link.deliverOwned(item.frame)
			}
		case <-ps.done:
			return
		}
	}
}
