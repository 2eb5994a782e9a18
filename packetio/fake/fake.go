// Package fake is an in-memory packetio.Driver for unit tests: ports come
// in cross-wired pairs (what port 2k sends, port 2k+1 receives, and back)
// and buffers are Go memory. It is safe for the same concurrent use as the
// DPDK driver.
package fake

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/openperfd/openperfd/clock"
	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/packetio"
)

// Driver is the fake driver.
type Driver struct {
	mu      sync.Mutex
	ports   []*Port
	pool    *Pool
	recycle *Pool // RecyclePool's; nil until asked for
	// stamp, when set, times each received frame (SetRxStamps).
	stamp atomic.Pointer[func(*packetio.Mbuf) int64]
}

var (
	_ packetio.Driver       = (*Driver)(nil)
	_ packetio.RxInterrupts = (*Driver)(nil)
	_ packetio.RefillPort   = (*Port)(nil)
	_ packetio.RxTimes      = (*Port)(nil)
	_ packetio.FrameTimes   = (*Port)(nil)
	_ packetio.RefPool      = (*Pool)(nil)
	_ packetio.RecyclePool  = (*Pool)(nil)
	_ packetio.RecyclePools = (*Driver)(nil)
)

// New makes pairs of cross-wired ports with ids "0", "1", ... and a pool
// of buffers buffers.
func New(pairs, queues, buffers int) *Driver {
	d := &Driver{pool: newPool(buffers)}
	for i := 0; i < 2*pairs; i++ {
		p := &Port{d: d, info: packetio.PortInfo{
			ID: fmt.Sprint(i), Index: uint16(i), Kind: packetio.KindDPDK,
			Device: fmt.Sprintf("fake%d", i), Driver: "fake",
			MAC:      [6]byte{0x02, 0, 0, 0, 0, byte(i)},
			Link:     packetio.LinkConfig{AutoNegotiation: true},
			RxQueues: queues, TxQueues: queues,
		}, started: true}
		p.rx = make([]chan *packetio.Mbuf, queues)
		p.rxTime = make([]int64, queues)
		p.frameTimes = make([][]int64, queues)
		p.intr = make([]atomic.Pointer[waiter], queues)
		for q := range p.rx {
			p.rx[q] = make(chan *packetio.Mbuf, 1024)
		}
		d.ports = append(d.ports, p)
	}
	for i := 0; i < len(d.ports); i += 2 {
		d.ports[i].peer, d.ports[i+1].peer = d.ports[i+1], d.ports[i]
	}
	return d
}

// Port is a fake port.
type Port struct {
	d       *Driver
	info    packetio.PortInfo
	started bool
	peer    *Port
	rx      []chan *packetio.Mbuf
	intr    []atomic.Pointer[waiter] // per rx queue, the waiter it is armed for
	rxTime  []int64                  // per rx queue, LastRxTime
	// frameTimes, per rx queue, are RxFrameTimes: the last burst's
	// frames' stamps, or nil when they have none.
	frameTimes [][]int64
	stats      struct{ rxP, rxB, txP, txB atomic.Uint64 }
}

// Info implements packetio.Port.
func (p *Port) Info() packetio.PortInfo {
	p.d.mu.Lock()
	defer p.d.mu.Unlock()
	return p.info
}

// Link implements packetio.Port.
func (p *Port) Link() packetio.LinkStatus {
	return packetio.LinkStatus{Up: true, Known: true, SpeedMbps: 10000, Duplex: packetio.DuplexFull}
}

// Stats implements packetio.Port.
func (p *Port) Stats() packetio.PortStats {
	return packetio.PortStats{RxPackets: p.stats.rxP.Load(), RxBytes: p.stats.rxB.Load(),
		TxPackets: p.stats.txP.Load(), TxBytes: p.stats.txB.Load()}
}

// RxBurst implements packetio.Port.
func (p *Port) RxBurst(q uint16, pkts []*packetio.Mbuf, free int) int {
	if free > 0 {
		p.d.pool.Free(pkts[:free])
	}
	n := 0
	for n < len(pkts) {
		select {
		case m := <-p.rx[q]:
			m.SetPort(p.info.Index)
			pkts[n] = m
			p.stats.rxP.Add(1)
			p.stats.rxB.Add(uint64(m.Len()))
			n++
		default:
			p.stampRx(q, pkts[:n])
			return n
		}
	}
	p.stampRx(q, pkts[:n])
	return n
}

// stampRx records when queue q's burst pkts came back, and with
// SetRxStamps each frame's own time.
func (p *Port) stampRx(q uint16, pkts []*packetio.Mbuf) {
	if len(pkts) == 0 {
		return
	}
	p.rxTime[q] = clock.Now()
	stamp := p.d.stamp.Load()
	if stamp == nil {
		p.frameTimes[q] = nil
		return
	}
	ts := p.frameTimes[q][:0]
	for _, m := range pkts {
		ts = append(ts, (*stamp)(m))
	}
	p.frameTimes[q] = ts
}

// RxFrameTimes implements packetio.FrameTimes: the stamps SetRxStamps's
// function gave the frames of queue q's last burst, nil without it.
func (p *Port) RxFrameTimes(q uint16) []int64 { return p.frameTimes[q] }

// SetRxStamps makes every port time each frame it receives, as a NIC with
// receive timestamps does: stamp returns a frame's time (ns, clock.Now's
// scale) as the port receives it, on the worker polling the queue. Ports
// report PortInfo.RxHardwareTimes while it is set; nil turns it off. Set
// it before the ports are attached to workers, which read PortInfo then.
func (d *Driver) SetRxStamps(stamp func(m *packetio.Mbuf) int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if stamp == nil {
		d.stamp.Store(nil)
	} else {
		d.stamp.Store(&stamp)
	}
	for _, p := range d.ports {
		p.info.RxHardwareTimes = stamp != nil
	}
}

// LastRxTime implements packetio.RxTimes.
func (p *Port) LastRxTime(q uint16) int64 { return p.rxTime[q] }

// TxBurst implements packetio.Port: packets go to the peer's rx queue q.
func (p *Port) TxBurst(q uint16, pkts []*packetio.Mbuf) int {
	ch := p.peer.rx[int(q)%len(p.peer.rx)]
	for i, m := range pkts {
		select {
		case ch <- m:
			p.stats.txP.Add(1)
			p.stats.txB.Add(uint64(m.Len()))
		default:
			p.peer.signal(int(q) % len(p.peer.rx))
			return i
		}
	}
	if len(pkts) > 0 {
		p.peer.signal(int(q) % len(p.peer.rx))
	}
	return len(pkts)
}

// signal raises rx queue q's interrupt if a waiter armed it.
func (p *Port) signal(q int) {
	if q >= len(p.intr) { // a bond: never armed
		return
	}
	if w := p.intr[q].Load(); w != nil {
		w.Wake()
	}
}

// TxRefill implements packetio.RefillPort over TxBurst and the pool.
func (p *Port) TxRefill(q uint16, pkts []*packetio.Mbuf, off, n, spare, want int) (sent, avail int) {
	if n > off {
		sent = p.TxBurst(q, pkts[off:n])
		if off+sent < n {
			return sent, 0
		}
	}
	if spare > 0 && n > 0 {
		copy(pkts, pkts[n:n+spare])
	}
	want = min(want, len(pkts))
	if want > spare && p.d.pool.Alloc(pkts[spare:want]) {
		spare = want
	}
	return sent, spare
}

// Ports implements packetio.Driver.
func (d *Driver) Ports() []packetio.Port {
	d.mu.Lock()
	defer d.mu.Unlock()
	return packetio.AsPorts(d.ports)
}

// Pool implements packetio.Driver.
func (d *Driver) Pool() packetio.Pool { return d.pool }

// Pools implements packetio.Driver.
func (d *Driver) Pools() []memory.PoolStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.recycle != nil {
		return []memory.PoolStats{d.pool.Stats(), d.recycle.Stats()}
	}
	return []memory.PoolStats{d.pool.Stats()}
}

// recycleBuffers is the size of the fake's recycle pool.
const recycleBuffers = 1 << 14

// RecyclePool implements packetio.RecyclePools: a pool of its own, made
// at the first call.
func (d *Driver) RecyclePool() packetio.RecyclePool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.recycle == nil {
		d.recycle = NewRecyclePool(recycleBuffers, memory.DefaultBufSize)
	}
	return d.recycle
}

// NewBurst implements packetio.Driver.
func (d *Driver) NewBurst() packetio.Burst {
	return packetio.NewBurstFrom(make([]*packetio.Mbuf, packetio.TxBurstSize), nil)
}

func (d *Driver) find(id string) *Port {
	for _, p := range d.ports {
		if p.info.ID == id {
			return p
		}
	}
	return nil
}

// Stop implements packetio.Driver.
func (d *Driver) Stop(id string) error { return d.setStarted(id, false) }

// Start implements packetio.Driver.
func (d *Driver) Start(id string) error { return d.setStarted(id, true) }

func (d *Driver) setStarted(id string, v bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.find(id)
	if p == nil {
		return fmt.Errorf("port %s: %w", id, packetio.ErrNotFound)
	}
	p.started = v
	return nil
}

// ConfigureLink implements packetio.Driver.
func (d *Driver) ConfigureLink(id string, cfg packetio.LinkConfig) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.find(id)
	if p == nil {
		return fmt.Errorf("port %s: %w", id, packetio.ErrNotFound)
	}
	if p.started {
		return fmt.Errorf("port %s started: %w", id, packetio.ErrInUse)
	}
	p.info.Link = cfg
	return nil
}

// CreateBond implements packetio.Driver with a port that receives nothing.
func (d *Driver) CreateBond(id string, cfg packetio.BondConfig) (packetio.Port, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range cfg.Members {
		p := d.find(m)
		if p == nil || p.started {
			return nil, fmt.Errorf("bond member %s missing or started: %w", m, packetio.ErrInvalid)
		}
	}
	b := &Port{d: d, info: packetio.PortInfo{ID: id, Index: uint16(100 + len(d.ports)), Kind: packetio.KindBond,
		Device: "fakebond", Driver: "fake_bond", Bond: &cfg, RxQueues: 1, TxQueues: 1,
		Link: packetio.LinkConfig{AutoNegotiation: true}}, started: true}
	b.rx, b.rxTime, b.frameTimes = []chan *packetio.Mbuf{make(chan *packetio.Mbuf, 1)}, make([]int64, 1), make([][]int64, 1)
	b.peer = b
	d.ports = append(d.ports, b)
	return b, nil
}

// DeleteBond implements packetio.Driver.
func (d *Driver) DeleteBond(id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, p := range d.ports {
		if p.info.ID == id && p.info.Kind == packetio.KindBond {
			d.ports = append(d.ports[:i], d.ports[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("bond %s: %w", id, packetio.ErrNotFound)
}

// Close implements packetio.Driver.
func (d *Driver) Close() error { return nil }

// Pool is a fake buffer pool over Go memory: a packetio.RefPool, or
// (NewRecyclePool) a packetio.RecyclePool.
type Pool struct {
	name    string
	recycle bool
	limbo   []*packetio.Mbuf // recycle: given back while held
	mu      sync.Mutex
	free    []*packetio.Mbuf
	size    int
	fails   int64
	maxUsed int64
}

func newPool(n int) *Pool { return NewPool(n, memory.DefaultBufSize) }

// NewPool makes a pool of n buffers of room bytes each, headroom included
// (memory.JumboBufSize for a jumbo pool).
func NewPool(n, room int) *Pool {
	p := &Pool{name: "fake", size: n}
	for i := 0; i < n; i++ {
		m := packetio.NewHeapMbuf(make([]byte, room))
		m.SetPoolID(unsafe.Pointer(p))
		p.free = append(p.free, m)
	}
	return p
}

// ID is what the pool's buffers return from packetio.Mbuf.PoolID.
func (p *Pool) ID() unsafe.Pointer { return unsafe.Pointer(p) }

// NewRecyclePool makes a packetio.RecyclePool of n buffers of room bytes
// each, headroom included. Its Alloc always fails: buffers come from Take.
func NewRecyclePool(n, room int) *Pool {
	p := NewPool(n, room)
	p.name, p.recycle = "fake_recycle", true
	return p
}

// Take implements packetio.RecyclePool.
func (p *Pool) Take(pkts []*packetio.Mbuf) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reap()
	if !p.recycle || !p.take(pkts) {
		p.fails++
		return false
	}
	for _, m := range pkts {
		m.SetRefcnt(0)
	}
	return true
}

// take moves len(pkts) buffers from the free list into pkts, reset, or
// none and false. Called with the lock held.
func (p *Pool) take(pkts []*packetio.Mbuf) bool {
	if len(p.free) < len(pkts) {
		return false
	}
	k := len(p.free) - len(pkts)
	copy(pkts, p.free[k:])
	p.free = p.free[:k]
	for _, m := range pkts {
		m.Reset()
	}
	p.maxUsed = max(p.maxUsed, int64(p.size-len(p.free)))
	return true
}

// Give implements packetio.RecyclePool.
func (p *Pool) Give(pkts []*packetio.Mbuf) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.limbo = append(p.limbo, pkts...)
	p.reap()
}

// reap moves the buffers given back that no port holds any more to the
// free list. Called with the lock held.
func (p *Pool) reap() {
	k := 0
	for _, m := range p.limbo {
		if m.Refcnt() == 0 {
			m.SetRefcnt(1)
			p.free = append(p.free, m)
		} else {
			p.limbo[k] = m
			k++
		}
	}
	clear(p.limbo[k:])
	p.limbo = p.limbo[:k]
}

// Alloc implements packetio.Pool.
func (p *Pool) Alloc(pkts []*packetio.Mbuf) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.recycle || !p.take(pkts) {
		p.fails++
		return false
	}
	return true
}

// Free implements packetio.Pool: a buffer with several references loses
// one, and goes back with its last (see packetio.RefPool), to the pool it
// came from, as rte_pktmbuf_free does; a heap buffer of no pool's goes to
// p. A recycle pool's buffer goes back to its owner (reference count 0).
func (p *Pool) Free(pkts []*packetio.Mbuf) {
	for len(pkts) > 0 {
		o := owner(pkts[0], p)
		k := 1
		for k < len(pkts) && owner(pkts[k], p) == o {
			k++
		}
		o.put(pkts[:k])
		pkts = pkts[k:]
	}
}

// owner is m's pool, or p when m is of none.
func owner(m *packetio.Mbuf, p *Pool) *Pool {
	if id := m.PoolID(); id != nil {
		return (*Pool)(id)
	}
	return p
}

// put is Free for buffers of p.
func (p *Pool) put(pkts []*packetio.Mbuf) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range pkts {
		if r := m.Refcnt(); r > 1 {
			m.SetRefcnt(r - 1)
			continue
		}
		if p.recycle {
			m.SetRefcnt(0)
			continue
		}
		p.free = append(p.free, m)
	}
}

// AddRef implements packetio.RefPool.
func (p *Pool) AddRef(m *packetio.Mbuf, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := m.Refcnt() + n
	if r < 1 || r > 0xffff {
		panic("fake: reference count out of range") // programming error
	}
	m.SetRefcnt(r)
}

// Stats implements packetio.Pool.
func (p *Pool) Stats() memory.PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.recycle {
		p.reap()
	}
	used := int64(p.size - len(p.free))
	return memory.PoolStats{Name: p.name, Available: int64(len(p.free)), Used: used,
		Max: p.maxUsed, Size: int64(p.size), Errors: p.fails}
}

// SetRxInterrupts makes every port report rx interrupts (or not): a
// frame sent to an armed queue then ends its waiter's Wait.
func (d *Driver) SetRxInterrupts(on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.ports {
		p.info.RxInterrupts = on
	}
}

// NewRxWaiter implements packetio.RxInterrupts.
func (d *Driver) NewRxWaiter() (packetio.RxWaiter, error) {
	return &waiter{sig: make(chan struct{}, 1)}, nil
}

// waiter is the fake packetio.RxWaiter: a frame for an armed queue and
// Wake both post to sig.
type waiter struct {
	sig   chan struct{}
	armed []packetio.RxQueue
}

// Arm implements packetio.RxWaiter.
func (w *waiter) Arm(queues []packetio.RxQueue) error {
	for _, q := range queues {
		p, ok := q.Port.(*Port)
		if !ok || !p.Info().RxInterrupts || int(q.Queue) >= len(p.intr) {
			w.Disarm(queues)
			return fmt.Errorf("port %s has no rx interrupts", q.Port.Info().ID)
		}
		p.intr[q.Queue].Store(w)
		w.armed = append(w.armed, q)
	}
	return nil
}

// Wait implements packetio.RxWaiter.
func (w *waiter) Wait(timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-w.sig:
	case <-t.C:
	}
}

// Disarm implements packetio.RxWaiter.
func (w *waiter) Disarm(keep []packetio.RxQueue) {
	for _, q := range w.armed {
		if slices.Contains(keep, q) {
			q.Port.(*Port).intr[q.Queue].CompareAndSwap(w, nil)
		}
	}
	w.armed = w.armed[:0]
}

// Wake implements packetio.RxWaiter.
func (w *waiter) Wake() {
	select {
	case w.sig <- struct{}{}:
	default:
	}
}

// Close implements packetio.RxWaiter.
func (w *waiter) Close() { w.Disarm(nil) }
