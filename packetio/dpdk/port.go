package dpdk

/*
#include <errno.h>
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/openperfd/openperfd/clock"
	"github.com/openperfd/openperfd/packetio"
)

// port is one ethdev. Fields other than qstats are guarded by Driver.mu;
// qstats entries are written by the single worker owning that queue and
// read atomically by stats readers.
type port struct {
	d           *Driver
	idx         uint16
	id          string
	kind        packetio.Kind
	device      string
	driver      string
	iface       string
	mac         [6]byte
	link        packetio.LinkConfig
	nrx, ntx    int
	rxChecksums []string              // what configure enabled: packetio.PortInfo.RxChecksums
	rxScatter   bool                  // jumbo frames arrive as chains, copied into jumbo buffers
	mtu         int                   // the MTU configure set for jumbo frames; 0: the driver's default
	rxJumbo     *C.struct_rte_mempool // with rxScatter: where chained frames are copied
	started     bool
	noIntr      bool                  // the driver refused rx interrupts at start
	rxIntr      bool                  // started with rx interrupts on every rx queue
	memifIntr   bool                  // those interrupts are the memif rings' own (memif.c)
	qstats      []C.struct_op_qstats  // rx queues first, then tx queues
	pcounts     []C.struct_op_pcounts // as qstats, with Options.ProtocolCounters; else nil
	// stamps is set while configure has the device's receive timestamps
	// on; rxts is its rx queues' times once the device clock is fitted
	// (the rx path records times for a port with rxts only), else nil.
	stamps      *rxStamps
	rxts        []C.struct_op_rxts
	bond        *packetio.BondConfig
	memberPorts []*port
	bondedTo    *port
}

var (
	_ packetio.Port         = (*port)(nil)
	_ packetio.RefillPort   = (*port)(nil)
	_ packetio.RxTimes      = (*port)(nil)
	_ packetio.FrameTimes   = (*port)(nil)
	_ packetio.XStatsReader = (*port)(nil)
)

// XStats implements packetio.XStatsReader: DPDK's extended stats of the
// port, by name, and on a port with rx scatter our own two counters of
// chained frames (x_rx_linearized: copied into one jumbo buffer;
// x_rx_chain_drops: dropped, as no jumbo buffer could take them); on a
// port with receive timestamps on, two of its frames' times
// (x_rx_hw_timestamps: frames timed by the device's clock;
// x_rx_sw_timestamps: frames that kept their burst's software time, as
// some frame of the burst carried no stamp).
func (p *port) XStats() (map[string]uint64, error) {
	out, err := p.driverXStats()
	if err == nil && p.rxScatter {
		lin, drops := p.chainStats()
		out["x_rx_linearized"], out["x_rx_chain_drops"] = lin, drops
	}
	if err == nil {
		p.d.mu.Lock()
		if p.stamps != nil {
			out["x_rx_hw_timestamps"], out["x_rx_sw_timestamps"] = p.stamps.counts()
		}
		p.d.mu.Unlock()
	}
	return out, err
}

// chainStats sums the rx queues' counts of chained frames linearized and
// dropped.
func (p *port) chainStats() (linearized, drops uint64) {
	for i := range p.nrx {
		linearized += atomic.LoadUint64((*uint64)(unsafe.Pointer(&p.qstats[i].linearized)))
		drops += atomic.LoadUint64((*uint64)(unsafe.Pointer(&p.qstats[i].chain_drops)))
	}
	return linearized, drops
}

func (p *port) driverXStats() (map[string]uint64, error) {
	for range 3 { // the count can change between two calls (a bond gains a member)
		n := C.op_port_xstats(C.uint16_t(p.idx), nil, nil, 0)
		if n < 0 {
			return nil, fmt.Errorf("port %s: xstats: %s", p.id, C.GoString(C.op_strerror(-n)))
		}
		if n == 0 {
			return map[string]uint64{}, nil
		}
		names := (*C.char)(C.calloc(C.size_t(n), C.OP_XSTAT_NAME))
		values := (*C.uint64_t)(C.calloc(C.size_t(n), 8))
		got := C.op_port_xstats(C.uint16_t(p.idx), names, values, C.unsigned(n))
		out := make(map[string]uint64, max(int(got), 0))
		if got > 0 && got <= n {
			vs := unsafe.Slice((*uint64)(unsafe.Pointer(values)), int(got))
			for i := range int(got) {
				name := C.GoString((*C.char)(unsafe.Add(unsafe.Pointer(names), i*C.OP_XSTAT_NAME)))
				out[name] = vs[i]
			}
		}
		C.free(unsafe.Pointer(names))
		C.free(unsafe.Pointer(values))
		switch {
		case got > 0 && got <= n:
			return out, nil
		case got < 0 && got != -C.EAGAIN:
			return nil, fmt.Errorf("port %s: xstats: %s", p.id, C.GoString(C.op_strerror(-got)))
		}
	}
	return nil, fmt.Errorf("port %s: xstats: the driver's list kept changing", p.id)
}

// Info implements packetio.Port.
func (p *port) Info() packetio.PortInfo {
	p.d.mu.Lock()
	defer p.d.mu.Unlock()
	info := packetio.PortInfo{
		ID: p.id, Index: p.idx, Kind: p.kind,
		Device: p.device, Driver: p.driver, Interface: p.iface,
		MAC: p.mac, Link: p.link, RxQueues: p.nrx, TxQueues: p.ntx,
		RxChecksums:  append([]string(nil), p.rxChecksums...),
		RxScatter:    p.rxScatter,
		MTU:          p.mtu,
		RxInterrupts: p.rxIntr,
		// The device's times once its clock is fitted; until then, and
		// on every other port, software times.
		RxHardwareTimes: p.rxts != nil,
	}
	if p.bond != nil {
		b := *p.bond
		b.Members = append([]string(nil), p.bond.Members...)
		info.Bond = &b
	}
	return info
}

// Link implements packetio.Port.
func (p *port) Link() packetio.LinkStatus {
	var l C.struct_op_link
	if C.op_port_link(C.uint16_t(p.idx), &l) != 0 {
		return packetio.LinkStatus{Duplex: packetio.DuplexUnknown}
	}
	st := packetio.LinkStatus{Known: true, Up: l.up != 0, Duplex: packetio.DuplexHalf, Fixed: l.autoneg == 0}
	if l.full_duplex != 0 {
		st.Duplex = packetio.DuplexFull
	}
	// DPDK reports RTE_ETH_SPEED_NUM_UNKNOWN as UINT32_MAX.
	if l.speed != C.uint32_t(0xffffffff) {
		st.SpeedMbps = int64(l.speed)
	}
	if !st.Up {
		st.Duplex = packetio.DuplexUnknown
	}
	return st
}

// Stats implements packetio.Port. Packet and error counts come from the
// driver; bytes from the driver unless it reports none (ring ports), then
// from the burst helpers' own counts.
func (p *port) Stats() packetio.PortStats {
	var s C.struct_op_stats
	var out packetio.PortStats
	if C.op_port_stats(C.uint16_t(p.idx), &s) == 0 {
		out = packetio.PortStats{
			RxPackets: uint64(s.ipackets), TxPackets: uint64(s.opackets),
			RxBytes: uint64(s.ibytes), TxBytes: uint64(s.obytes),
			RxErrors: uint64(s.ierrors + s.imissed + s.rx_nombuf), TxErrors: uint64(s.oerrors),
		}
	}
	var swRxP, swRxB, swTxP, swTxB uint64
	for i := range p.qstats {
		pk := atomic.LoadUint64((*uint64)(unsafe.Pointer(&p.qstats[i].packets)))
		by := atomic.LoadUint64((*uint64)(unsafe.Pointer(&p.qstats[i].bytes)))
		if i < p.nrx {
			swRxP, swRxB = swRxP+pk, swRxB+by
		} else {
			swTxP, swTxB = swTxP+pk, swTxB+by
		}
	}
	if out.RxBytes == 0 && swRxB > 0 {
		out.RxBytes = swRxB
	}
	if out.TxBytes == 0 && swTxB > 0 {
		out.TxBytes = swTxB
	}
	out.RxPackets = max(out.RxPackets, swRxP)
	out.TxPackets = max(out.TxPackets, swTxP)
	out.RxProtocols, out.TxProtocols = p.protocolCounts()
	if p.rxScatter {
		// Received by the driver, dropped by us: an rx error, never silent.
		_, drops := p.chainStats()
		out.RxErrors += drops
	}
	return out
}

// RxBurst implements packetio.Port; one cgo call per burst, which also
// frees the caller's previous burst.
func (p *port) RxBurst(q uint16, pkts []*packetio.Mbuf, free int) int {
	if p.kind == packetio.KindBond && int(q) < p.ntx {
		// 802.3ad bonds send their LACP frames from tx_burst, and must be
		// polled in both directions at least every 100 ms.
		C.op_tx_burst(C.uint16_t(p.idx), C.uint16_t(q), 0, 0,
			C.uintptr_t(uintptr(unsafe.Pointer(&p.qstats[p.nrx+int(q)]))), p.pcp(p.nrx+int(q)))
	}
	return int(C.op_rx_burst(C.uint16_t(p.idx), C.uint16_t(q),
		C.uintptr_t(uintptr(unsafe.Pointer(unsafe.SliceData(pkts)))), C.uint16_t(len(pkts)),
		C.uintptr_t(uintptr(unsafe.Pointer(&p.qstats[q]))), C.uint16_t(free), p.rxJumbo, p.pcp(int(q)), p.tsp(q)))
}

// LastRxTime implements packetio.RxTimes.
func (p *port) LastRxTime(q uint16) int64 {
	return clock.FromMonotonic(int64(p.qstats[q].rx_time))
}

// RxFrameTimes implements packetio.FrameTimes: the times the rx path
// converted from the device's stamps, in C memory, nil on a port without
// (PortInfo.RxHardwareTimes false) or for a burst with an unstamped frame.
func (p *port) RxFrameTimes(q uint16) []int64 {
	if p.rxts == nil {
		return nil
	}
	ts := &p.rxts[q]
	if ts.n == 0 {
		return nil
	}
	return unsafe.Slice((*int64)(unsafe.Pointer(&ts.t[0])), int(ts.n))
}

// tsp is rx queue q's times for the burst helper, 0 when the port
// records none.
func (p *port) tsp(q uint16) C.uintptr_t {
	if p.rxts == nil {
		return 0
	}
	return C.uintptr_t(uintptr(unsafe.Pointer(&p.rxts[q])))
}

// TxBurst implements packetio.Port; one cgo call per burst.
func (p *port) TxBurst(q uint16, pkts []*packetio.Mbuf) int {
	return int(C.op_tx_burst(C.uint16_t(p.idx), C.uint16_t(q),
		C.uintptr_t(uintptr(unsafe.Pointer(unsafe.SliceData(pkts)))), C.uint16_t(len(pkts)),
		C.uintptr_t(uintptr(unsafe.Pointer(&p.qstats[p.nrx+int(q)]))), p.pcp(p.nrx+int(q))))
}

// TxRefill implements packetio.RefillPort: the transmission and the next
// burst's allocation in one cgo call.
func (p *port) TxRefill(q uint16, pkts []*packetio.Mbuf, off, n, spare, want int) (sent, avail int) {
	r := C.op_tx_refill(C.uint16_t(p.idx), C.uint16_t(q),
		C.uintptr_t(uintptr(unsafe.Pointer(unsafe.SliceData(pkts)))), C.uint16_t(off), C.uint16_t(n),
		C.uint16_t(spare), C.uint16_t(min(want, len(pkts))),
		C.uintptr_t(uintptr(unsafe.Pointer(&p.qstats[p.nrx+int(q)]))), p.d.pool.mp, p.pcp(p.nrx+int(q)))
	return int(r & 0xffff), int(r >> 16)
}

// countProtocols gives the port's queues protocol counters (zero), which
// the burst helpers then fill; before the port is polled, or as tests do.
func (p *port) countProtocols() {
	n := p.nrx + p.ntx
	p.pcounts = (*[1 << 16]C.struct_op_pcounts)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(C.struct_op_pcounts{}))))[:n:n]
}

// stopCountingProtocols frees the protocol counters.
func (p *port) stopCountingProtocols() {
	if p.pcounts != nil {
		C.free(unsafe.Pointer(&p.pcounts[0]))
		p.pcounts = nil
	}
}

// pcp is queue i's protocol counters (rx queues first, then tx) for the
// burst helpers, 0 when the port counts none.
func (p *port) pcp(i int) C.uintptr_t {
	if p.pcounts == nil {
		return 0
	}
	return C.uintptr_t(uintptr(unsafe.Pointer(&p.pcounts[i])))
}

// protocolCounts sums the queues' protocol counters, rx and tx.
func (p *port) protocolCounts() (rx, tx *packetio.ProtocolCounts) {
	if p.pcounts == nil {
		return nil, nil
	}
	rx, tx = new(packetio.ProtocolCounts), new(packetio.ProtocolCounts)
	for i := range p.pcounts {
		c := func(k C.int) uint64 { return atomic.LoadUint64((*uint64)(unsafe.Pointer(&p.pcounts[i].c[k]))) }
		to := rx
		if i >= p.nrx {
			to = tx
		}
		to.VLAN += c(C.OP_P_VLAN)
		to.ARP += c(C.OP_P_ARP)
		to.IPv4 += c(C.OP_P_IPV4)
		to.IPv6 += c(C.OP_P_IPV6)
		to.OtherL3 += c(C.OP_P_L3_OTHER)
		to.UDP += c(C.OP_P_UDP)
		to.TCP += c(C.OP_P_TCP)
		to.ICMP += c(C.OP_P_ICMP)
		to.ICMPv6 += c(C.OP_P_ICMPV6)
		to.OtherL4 += c(C.OP_P_L4_OTHER)
	}
	return rx, tx
}

// wantIntr reports whether to configure the port with rx interrupts.
// Bonds are left out: an 802.3ad bond must be polled every 100 ms anyway.
func (p *port) wantIntr() bool {
	return p.d.opts.RxInterrupts && !p.noIntr && p.kind != packetio.KindBond
}

func (p *port) freeStats() {
	p.stopCountingProtocols()
	p.rxts = nil
	if p.stamps != nil {
		p.stamps.free()
		p.stamps = nil
	}
	if p.qstats != nil {
		C.free(unsafe.Pointer(&p.qstats[0]))
		p.qstats = nil
	}
}
