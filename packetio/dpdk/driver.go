package dpdk

/*
#cgo noescape op_rx_burst
#cgo nocallback op_rx_burst
#cgo noescape op_tx_burst
#cgo nocallback op_tx_burst
#cgo noescape op_pool_alloc_bulk
#cgo nocallback op_pool_alloc_bulk
#cgo noescape op_free_bulk
#cgo nocallback op_free_bulk
#cgo noescape op_tx_refill
#cgo nocallback op_tx_refill
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"go.uber.org/zap"

	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/packetio"
)

// Options shape the driver's ports and pool. EAL must be running.
type Options struct {
	// Queues is the number of rx and tx queues wanted per port, normally
	// one per worker; drivers that offer fewer get fewer.
	Queues int
	// TestPortPairs creates that many pairs of ring-wired ports.
	TestPortPairs int
	// ExpectPorts is the number of ports EAL should have made from the
	// user's --vdev and PCI options; fewer is an error (EAL accepts a vdev
	// with a bad key and silently makes no port).
	ExpectPorts int
	// PortIDs maps a DPDK port index to the id users see; the default id is
	// the index in decimal, as in OpenPerf.
	PortIDs map[int]string
	// PoolBuffers is the size of the packet pool (2^n-1 is best).
	PoolBuffers int
	// PoolCache is the per-lcore cache of the pool.
	PoolCache int
	// JumboBuffers is the size of the jumbo pool, whose buffers hold
	// frames up to memory.MaxJumboFrame bytes; 0 makes none, and then
	// frames stop at what a 2 KiB buffer holds.
	JumboBuffers int
	// RecycleBuffers is the size of the recycle pool
	// (packetio.RecyclePools); 0 makes none.
	RecycleBuffers int
	// RxDesc and TxDesc are the descriptors per rx and tx queue.
	RxDesc int
	TxDesc int
	// RingSize is the slots of each queue's ring in a test port pair.
	RingSize int
	// RxInterrupts asks for rx queue interrupts on every port whose
	// driver has them, so idle workers can sleep (see RxWaiter).
	RxInterrupts bool
	// ProtocolCounters counts every port's received and sent frames by
	// protocol (packetio.PortStats.RxProtocols): a look at each frame's
	// first bytes in the burst helpers.
	ProtocolCounters bool
	// Log receives what the driver has to say while it runs (ports
	// using their NIC's receive timestamps, their clocks' trouble); nil
	// discards it.
	Log *zap.Logger
}

// Defaults for the Options left zero: 1024 descriptors or ring slots per
// queue absorb a worker's pause of ~40 us at 25 Mpps; a pool cache of
// 256 holds four 64-packet bursts.
const (
	defaultRxDesc    = 1024
	defaultTxDesc    = 1024
	defaultRingSize  = 1024
	defaultPoolCache = 256
	// jumboPoolCache is small: the jumbo pool is small, and buffers an
	// idle lcore's cache holds are ~9.5 KB each.
	jumboPoolCache = 32
)

// jumboPortMTU is the MTU asked of ports that can scatter received frames
// over several buffers (NICs, tap): a memory.MaxJumboFrame frame without
// its Ethernet header and FCS.
const jumboPortMTU = memory.MaxJumboFrame - 14 - 4

// portScanEnd bounds the port indexes Open looks for ports at: every
// index DPDK can hand out is below it (RTE_MAX_ETHPORTS is 32 in Debian's
// build; the rest answer "no port").
const portScanEnd = 1024

// Driver is the DPDK packetio.Driver.
type Driver struct {
	opts  Options
	pool  *pool
	jumbo *pool // nil without Options.JumboBuffers, or when it failed
	// recycle is nil without Options.RecycleBuffers.
	recycle *recyclePool
	// jumboErr is why there is no jumbo pool though one was asked for.
	jumboErr error
	log      *zap.Logger

	mu      sync.Mutex // guards ports, bondSeq and the clocks' channels
	ports   []*port
	bondSeq int
	// clocksStop and clocksDone stop and await the goroutine that
	// recalibrates device clocks (runClocks), clocksWake has it look at
	// the ports again; nil until a port uses its receive timestamps.
	clocksStop, clocksDone, clocksWake chan struct{}
	closeOnce                          sync.Once
}

var (
	_ packetio.Driver       = (*Driver)(nil)
	_ packetio.RecyclePools = (*Driver)(nil)
)

// Open makes the driver: creates the packet pool and the test port pairs,
// then configures and starts every port.
func Open(opts Options) (*Driver, error) {
	if opts.Queues < 1 {
		opts.Queues = 1
	}
	if opts.RxDesc == 0 {
		opts.RxDesc = defaultRxDesc
	}
	if opts.TxDesc == 0 {
		opts.TxDesc = defaultTxDesc
	}
	if opts.RingSize == 0 {
		opts.RingSize = defaultRingSize
	}
	if opts.PoolCache == 0 {
		opts.PoolCache = defaultPoolCache
	}
	found := int(C.op_port_count())
	if found < opts.ExpectPorts {
		return nil, fmt.Errorf("EAL made %d ports from the device options, want %d: check the --vdev/PCI arguments", found, opts.ExpectPorts)
	}
	p, err := newPool("openperfd_pool", opts.PoolBuffers, opts.PoolCache, memory.DefaultBufSize)
	if err != nil {
		return nil, err
	}
	d := &Driver{opts: opts, pool: p, log: opts.Log}
	if d.log == nil {
		d.log = zap.NewNop()
	}
	if opts.JumboBuffers > 0 {
		// Frames longer than 2 KiB get buffers of their own rather than
		// chains of 2 KiB segments, so every reader of frame bytes (the
		// analyzer's signature at the frame's end, capture, the
		// generator's templates) keeps seeing one contiguous frame.
		// Without room for it (a user's tight -m) the daemon still runs,
		// with frames up to 2 KiB: the caller reports JumboError.
		d.jumbo, d.jumboErr = newPool("openperfd_jumbo", opts.JumboBuffers, min(jumboPoolCache, opts.JumboBuffers/2), memory.JumboBufSize)
	}
	if opts.RecycleBuffers > 0 {
		if d.recycle, err = newRecyclePool("openperfd_recycle", opts.RecycleBuffers, memory.DefaultBufSize); err != nil {
			d.Close()
			return nil, err
		}
	}
	for i := 0; i < opts.TestPortPairs; i++ {
		var a, b C.uint16_t
		na, nb := C.CString(fmt.Sprint(2*i)), C.CString(fmt.Sprint(2*i+1))
		rc := C.op_ring_pair(na, nb, C.uint(opts.Queues), C.uint(opts.RingSize), &a, &b)
		C.free(unsafe.Pointer(na))
		C.free(unsafe.Pointer(nb))
		if rc != 0 {
			d.Close()
			return nil, fmt.Errorf("create test port pair %d: %s", i, C.GoString(C.op_strerror(-rc)))
		}
	}
	for idx := 0; idx < portScanEnd; idx++ {
		if C.op_port_valid(C.uint16_t(idx)) == 0 {
			continue
		}
		id := strconv.Itoa(idx)
		if u, ok := opts.PortIDs[idx]; ok {
			id = u
		}
		pt, err := d.setupPort(uint16(idx), id, packetio.KindDPDK)
		if err != nil {
			d.Close()
			return nil, err
		}
		d.ports = append(d.ports, pt)
	}
	for idx := range opts.PortIDs {
		if d.byIndex(uint16(idx)) == nil {
			d.Close()
			return nil, fmt.Errorf("port-ids: no DPDK port with index %d", idx)
		}
	}
	return d, nil
}

func (d *Driver) byIndex(idx uint16) *port {
	for _, p := range d.ports {
		if p.idx == idx {
			return p
		}
	}
	return nil
}

// mustPort is byID with the not-found error the API maps to 404.
func (d *Driver) mustPort(id string) (*port, error) {
	if p := d.byID(id); p != nil {
		return p, nil
	}
	return nil, fmt.Errorf("port %s: %w", id, packetio.ErrNotFound)
}

func (d *Driver) byID(id string) *port {
	for _, p := range d.ports {
		if p.id == id {
			return p
		}
	}
	return nil
}

// setupPort reads a port's description, configures its queues and starts it.
func (d *Driver) setupPort(idx uint16, id string, kind packetio.Kind) (*port, error) {
	var desc C.struct_op_port_desc
	if rc := C.op_port_desc(C.uint16_t(idx), &desc); rc != 0 {
		return nil, fmt.Errorf("port %s: device info: %s", id, C.GoString(C.op_strerror(-rc)))
	}
	p := &port{
		d:      d,
		idx:    idx,
		id:     id,
		kind:   kind,
		device: C.GoString(&desc.device[0]),
		driver: C.GoString(&desc.driver[0]),
		iface:  C.GoString(&desc.iface[0]),
		link:   packetio.LinkConfig{AutoNegotiation: true},
	}
	for i := range p.mac {
		p.mac[i] = byte(desc.mac[i])
	}
	if p.mac == [6]byte{} {
		// Ring and null ports have no address; give them a locally
		// administered one derived from the index so it is stable.
		p.mac = [6]byte{0x02, 0x6f, 0x70, 0x00, byte(idx >> 8), byte(idx)}
		_ = C.op_port_set_mac(C.uint16_t(idx), (*C.uint8_t)(unsafe.Pointer(&p.mac[0])))
	}
	nq := d.opts.Queues
	nq = min(nq, int(desc.max_rx_queues), int(desc.max_tx_queues))
	if nq < 1 {
		return nil, fmt.Errorf("port %s: driver %s offers no queues", id, p.driver)
	}
	p.nrx, p.ntx = nq, nq
	p.qstats = (*[1 << 16]C.struct_op_qstats)(C.calloc(C.size_t(p.nrx+p.ntx), C.size_t(unsafe.Sizeof(C.struct_op_qstats{}))))[: p.nrx+p.ntx : p.nrx+p.ntx]
	if d.opts.ProtocolCounters {
		p.countProtocols()
	}
	if err := d.configure(p); err != nil {
		p.freeStats()
		return nil, err
	}
	if err := d.startPort(p); err != nil {
		p.freeStats()
		return nil, err
	}
	return p, nil
}

func (d *Driver) configure(p *port) error {
	speeds := C.op_link_speeds(cbool(p.link.AutoNegotiation), C.uint32_t(p.link.SpeedMbps), cbool(p.link.Duplex != packetio.DuplexHalf))
	var cksums C.unsigned
	var mtu C.uint16_t
	jumboMTU := 0
	if d.jumbo != nil {
		jumboMTU = jumboPortMTU
	}
	rc := C.op_port_configure(C.uint16_t(p.idx), C.uint16_t(p.nrx), C.uint16_t(p.ntx),
		C.uint16_t(d.opts.RxDesc), C.uint16_t(d.opts.TxDesc), speeds, d.pool.mp, &cksums, cbool(p.wantIntr()),
		C.uint16_t(jumboMTU), &mtu)
	if rc != 0 {
		return fmt.Errorf("port %s: configure %d rx/%d tx queues: %s", p.id, p.nrx, p.ntx, C.GoString(C.op_strerror(-rc)))
	}
	d.configureStamps(p, cksums&C.OP_RX_TIMESTAMP != 0)
	p.rxScatter, p.mtu, p.rxJumbo = cksums&C.OP_RX_SCATTER != 0, int(mtu), nil
	if p.rxScatter {
		p.rxJumbo = d.jumbo.mp
	}
	p.rxChecksums = nil
	for _, o := range []struct {
		bit  C.unsigned
		name string
	}{{C.OP_RX_CKSUM_IPV4, "ipv4"}, {C.OP_RX_CKSUM_UDP, "udp"}, {C.OP_RX_CKSUM_TCP, "tcp"}} {
		if cksums&o.bit != 0 {
			p.rxChecksums = append(p.rxChecksums, o.name)
		}
	}
	return nil
}

func (d *Driver) startPort(p *port) error {
	rc := C.op_port_start(C.uint16_t(p.idx))
	if rc != 0 && p.wantIntr() {
		// Some drivers take intr_conf.rxq at configure time and refuse
		// it at start (too few interrupt vectors): poll that port.
		p.noIntr = true
		if err := d.configure(p); err != nil {
			return err
		}
		rc = C.op_port_start(C.uint16_t(p.idx))
	}
	if rc != 0 {
		return fmt.Errorf("port %s: start: %s", p.id, C.GoString(C.op_strerror(-rc)))
	}
	p.started = true
	if p.stamps != nil {
		if err := d.calibrate(p); err != nil {
			d.log.Warn("port's NIC stamps frames but its clock cannot be put on ours: software receive times",
				zap.String("port", p.id), zap.Error(err))
		}
	}
	// The driver has rx interrupts when every queue has an event fd.
	p.rxIntr = p.wantIntr()
	for q := 0; q < p.nrx && p.rxIntr; q++ {
		p.rxIntr = C.op_rx_intr_fd(C.uint16_t(p.idx), C.uint16_t(q)) >= 0
	}
	// memif's driver offers none through ethdev, but its rings have them.
	if !p.rxIntr && p.wantIntr() && C.op_memif_port(C.uint16_t(p.idx)) != 0 {
		p.rxIntr, p.memifIntr = true, true
	}
	return nil
}

// configureStamps follows configure's word on the device's receive
// timestamps (on: the offload is enabled): the port gets its side of them,
// used once its clock is fitted at start; off, or when the mbuf field
// cannot be had, software times. The port is not polled.
func (d *Driver) configureStamps(p *port, on bool) {
	p.rxts = nil
	if on && p.stamps == nil {
		off, flag, err := registerRxTimestamps()
		if err == nil {
			p.stamps, err = newRxStamps(p.nrx, off, flag)
		}
		if err != nil {
			d.log.Warn("port's NIC stamps frames, but not for us: software receive times", zap.String("port", p.id), zap.Error(err))
		}
	}
	if !on && p.stamps != nil {
		p.stamps.free()
		p.stamps = nil
	}
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
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
	out := []memory.PoolStats{d.pool.Stats()}
	if d.jumbo != nil {
		out = append(out, d.jumbo.Stats())
	}
	if d.recycle != nil {
		out = append(out, d.recycle.Stats())
	}
	return out
}

// RecyclePool implements packetio.RecyclePools; nil without
// Options.RecycleBuffers.
func (d *Driver) RecyclePool() packetio.RecyclePool {
	if d.recycle == nil {
		return nil // not a typed nil in the interface
	}
	return d.recycle
}

// JumboError returns why Open made no jumbo pool though
// Options.JumboBuffers asked for one (nil when it made one or none was
// asked for).
func (d *Driver) JumboError() error { return d.jumboErr }

// JumboPool returns the pool of buffers for frames longer than Pool's
// hold (up to memory.MaxJumboFrame bytes), or nil when there is none
// (Options.JumboBuffers 0). Its buffers go back to it through any
// port's or pool's free: DPDK frees a buffer to the pool it came from.
func (d *Driver) JumboPool() packetio.RefPool {
	if d.jumbo == nil {
		return nil
	}
	return d.jumbo
}

// NewBurst implements packetio.Driver: TxBurstSize pointers in C memory.
func (d *Driver) NewBurst() packetio.Burst {
	mem := C.calloc(packetio.TxBurstSize, C.size_t(unsafe.Sizeof(uintptr(0))))
	pkts := unsafe.Slice((**packetio.Mbuf)(mem), packetio.TxBurstSize)
	return packetio.NewBurstFrom(pkts, func() { C.free(mem) })
}

// Stop implements packetio.Driver.
func (d *Driver) Stop(id string) error { return d.withPort(id, d.stopPort) }

// withPort runs f on port id under the driver's lock.
func (d *Driver) withPort(id string, f func(*port) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.mustPort(id)
	if err != nil {
		return err
	}
	return f(p)
}

func (d *Driver) stopPort(p *port) error {
	if !p.started {
		return nil
	}
	if rc := C.op_port_stop(C.uint16_t(p.idx)); rc != 0 {
		return fmt.Errorf("port %s: stop: %s", p.id, C.GoString(C.op_strerror(-rc)))
	}
	p.started = false
	return nil
}

// Start implements packetio.Driver.
func (d *Driver) Start(id string) error {
	return d.withPort(id, func(p *port) error {
		if p.started {
			return nil
		}
		return d.startPort(p)
	})
}

// ConfigureLink implements packetio.Driver. The port must be stopped.
func (d *Driver) ConfigureLink(id string, cfg packetio.LinkConfig) error {
	return d.withPort(id, func(p *port) error {
		if p.started {
			return fmt.Errorf("port %s: configure link of a started port: %w", id, packetio.ErrInUse)
		}
		old := p.link
		p.link = cfg
		if err := d.configure(p); err != nil {
			p.link = old
			if err2 := d.configure(p); err2 != nil {
				return fmt.Errorf("%w (and restoring the old link failed: %v)", err, err2)
			}
			return fmt.Errorf("%w: %w", err, packetio.ErrInvalid)
		}
		return nil
	})
}

// CreateBond implements packetio.Driver. Members must be stopped.
func (d *Driver) CreateBond(id string, cfg packetio.BondConfig) (packetio.Port, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.byID(id) != nil {
		return nil, fmt.Errorf("port %s already exists: %w", id, packetio.ErrInvalid)
	}
	members := make([]*port, 0, len(cfg.Members))
	for _, mid := range cfg.Members {
		m := d.byID(mid)
		if m == nil {
			return nil, fmt.Errorf("bond member %s: %w", mid, packetio.ErrInvalid)
		}
		if m.kind == packetio.KindBond || m.bondedTo != nil {
			return nil, fmt.Errorf("bond member %s is a bond or already bonded: %w", mid, packetio.ErrInvalid)
		}
		if m.started {
			return nil, fmt.Errorf("bond member %s is started: %w", mid, packetio.ErrInUse)
		}
		members = append(members, m)
	}
	d.bondSeq++
	name := fmt.Sprintf("net_bonding%d", d.bondSeq)
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var idx C.uint16_t
	if rc := C.op_bond_create(cname, &idx); rc != 0 {
		return nil, fmt.Errorf("create bond %s: %s", id, C.GoString(C.op_strerror(C.op_errno())))
	}
	fail := func(err error) (packetio.Port, error) {
		for _, m := range members {
			_ = C.op_bond_remove(idx, C.uint16_t(m.idx))
		}
		_ = C.op_bond_free(cname)
		return nil, err
	}
	for _, m := range members {
		if rc := C.op_bond_add(idx, C.uint16_t(m.idx)); rc != 0 {
			return fail(fmt.Errorf("add %s to bond %s: %s", m.id, id, C.GoString(C.op_strerror(C.op_errno()))))
		}
	}
	b, err := d.setupPort(uint16(idx), id, packetio.KindBond)
	if err != nil {
		return fail(err)
	}
	b.bond = &packetio.BondConfig{Mode: cfg.Mode, Members: append([]string(nil), cfg.Members...)}
	b.memberPorts = members
	for _, m := range members {
		m.bondedTo = b
	}
	d.ports = append(d.ports, b)
	return b, nil
}

// DeleteBond implements packetio.Driver. Members are left stopped.
func (d *Driver) DeleteBond(id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := d.byID(id)
	if b == nil {
		return fmt.Errorf("port %s: %w", id, packetio.ErrNotFound)
	}
	if b.kind != packetio.KindBond {
		return fmt.Errorf("port %s is owned by DPDK and cannot be deleted: %w", id, packetio.ErrInvalid)
	}
	if err := d.stopPort(b); err != nil {
		return err
	}
	for _, m := range b.memberPorts {
		_ = C.op_bond_remove(C.uint16_t(b.idx), C.uint16_t(m.idx))
		m.bondedTo = nil
		// The bond driver leaves members started; the caller restarts them.
		_ = C.op_port_stop(C.uint16_t(m.idx))
		m.started = false
		if err := d.configure(m); err != nil {
			return fmt.Errorf("delete bond %s: reconfigure member: %w", id, err)
		}
	}
	cname := C.CString(b.device)
	defer C.free(unsafe.Pointer(cname))
	if rc := C.op_bond_free(cname); rc != 0 {
		return fmt.Errorf("delete bond %s: %s", id, C.GoString(C.op_strerror(-rc)))
	}
	b.freeStats()
	for i, p := range d.ports {
		if p == b {
			d.ports = append(d.ports[:i], d.ports[i+1:]...)
			break
		}
	}
	return nil
}

// Close stops and closes every port and frees the pool. EAL cleanup is
// the caller's (CleanupEAL).
func (d *Driver) Close() error {
	d.closeOnce.Do(func() {
		d.stopClocks()
		d.mu.Lock()
		defer d.mu.Unlock()
		// Bonds first: their members cannot be closed while bonded.
		for i := len(d.ports) - 1; i >= 0; i-- {
			p := d.ports[i]
			_ = d.stopPort(p)
			if p.kind == packetio.KindBond {
				for _, m := range p.memberPorts {
					_ = C.op_bond_remove(C.uint16_t(p.idx), C.uint16_t(m.idx))
				}
			}
		}
		for i := len(d.ports) - 1; i >= 0; i-- {
			_ = C.op_port_close(C.uint16_t(d.ports[i].idx))
			d.ports[i].freeStats()
		}
		d.ports = nil
		if d.pool != nil {
			d.pool.free()
		}
		if d.jumbo != nil {
			d.jumbo.free()
		}
		if d.recycle != nil {
			d.recycle.free()
		}
	})
	return nil
}

// ValidPortID reports whether s is usable as a port id.
func ValidPortID(s string) bool {
	return s != "" && !strings.ContainsAny(s, "/ \t\n")
}
