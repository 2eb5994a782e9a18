// Package packetio holds the data plane's contracts: drivers own ports and
// buffer pools, workers move bursts between port queues and the sinks and
// sources that consumers register at run time. Nothing here calls DPDK; the
// implementation is packetio/dpdk, and packetio/fake stands in for it in
// unit tests. The one piece of DPDK's shape here is Mbuf, a copy of
// rte_mbuf's first cache line so that Go reads packets without a cgo call;
// packetio/dpdk checks that copy against DPDK's headers at compile time.
package packetio

import (
	"errors"
	"time"

	"github.com/openperfd/openperfd/memory"
)

// BurstSize is the most packets a worker receives per queue call. At 64
// the per-burst costs (the ~45-70 ns cgo call, each sink's lock and
// clock read) come to ~2 ns a packet; at 32 twice that, which measured
// 15-30% of the analyzer's throughput on net_null.
const BurstSize = 64

// TxBurstSize is the most packets a worker hands a port per transmit call
// for a source, for the same reason as BurstSize. Bursts from NewBurst
// have this many entries.
const TxBurstSize = 64

// Kind says what a port is.
type Kind string

// Port kinds, as the OpenPerf API names them.
const (
	KindDPDK Kind = "dpdk"
	KindHost Kind = "host"
	KindBond Kind = "bond"
)

// Duplex is a link's duplex mode.
type Duplex string

// Duplex values; DuplexUnknown when the driver cannot tell.
const (
	DuplexFull    Duplex = "full"
	DuplexHalf    Duplex = "half"
	DuplexUnknown Duplex = "unknown"
)

// LinkStatus is what the driver reports about a port's link right now.
type LinkStatus struct {
	Up        bool
	Known     bool  // false when the driver cannot report the link
	SpeedMbps int64 // 0 when unknown
	Duplex    Duplex
	// Fixed is a link whose speed and duplex are not negotiated (DPDK's
	// RTE_ETH_LINK_FIXED), e.g. ring and null test ports.
	Fixed bool
}

// LinkConfig is the user's wish for a port's link.
type LinkConfig struct {
	AutoNegotiation bool
	SpeedMbps       int64  // used when AutoNegotiation is false
	Duplex          Duplex // used when AutoNegotiation is false
}

// BondMode is a bonding mode; only 802.3ad (LACP) is offered, as in OpenPerf.
type BondMode string

// BondLACP is IEEE 802.3ad link aggregation.
const BondLACP BondMode = "lag_802_3_ad"

// BondConfig describes a bond port over member ports (by port id).
type BondConfig struct {
	Mode    BondMode
	Members []string
}

// PortInfo is what a port is, as opposed to how it is doing.
type PortInfo struct {
	ID        string
	Index     uint16 // the driver's port index
	Kind      Kind
	Device    string // driver's device name, e.g. net_ring_0 or 0000:01:00.0
	Driver    string // driver name, e.g. net_ring
	Interface string // host interface, for af_packet/tap ports
	MAC       [6]byte
	Link      LinkConfig
	Bond      *BondConfig // set for bond ports
	RxQueues  int
	TxQueues  int
	// RxChecksums names the checksums the port verifies on receipt
	// ("ipv4", "udp", "tcp"), reported in each packet's RxChecksum; nil
	// when the port verifies none and the analyzer sums in software.
	RxChecksums []string
	// RxInterrupts is true when every rx queue of the port can wake a
	// sleeping worker (see RxInterrupts); false: the port must be polled.
	RxInterrupts bool
	// RxScatter is true when frames longer than one 2 KiB buffer arrive
	// whole: the port scatters them over several buffers and the rx path
	// copies them into one jumbo buffer. Ports without scatter (ring,
	// null, memif) take any length into one buffer anyway.
	RxScatter bool
	// MTU is the MTU set on the port for jumbo frames (the largest up to
	// a 9216-byte frame's that a port with rx scatter takes); 0: the
	// driver's default.
	MTU int
	// RxHardwareTimes is true when the port times each received frame
	// with its NIC's clock (FrameTimes); false: a burst's frames count
	// from the time the driver call returned them (RxTimes).
	RxHardwareTimes bool
}

// PortStats are a port's counters since it started.
type PortStats struct {
	RxPackets, TxPackets uint64
	RxBytes, TxBytes     uint64
	RxErrors, TxErrors   uint64
	// XStats are the driver's extended counters by name (DPDK xstats);
	// nil when the driver has none.
	XStats map[string]uint64
	// TxBackpressure counts the frames the port's full tx queues refused,
	// at each refusal (a frame refused, retried and refused again counts
	// twice); TxOverrunDrops those of them freed instead of retried
	// (drop-tx-overruns). Both come from the workers, not the driver.
	TxBackpressure, TxOverrunDrops uint64
	// RxProtocols and TxProtocols count the frames received and sent by
	// protocol; nil when the port does not count them.
	RxProtocols, TxProtocols *ProtocolCounts
}

// ProtocolCounts counts frames by protocol, as a virtual NIC's per-protocol
// counters: each frame once among ARP, IPv4, IPv6 and OtherL3 (any other
// EtherType), an IP frame once among UDP, TCP, ICMP, ICMPv6 and OtherL4
// (another protocol, an IPv6 extension header first, or an IPv4 fragment
// after the first), and tagged frames (802.1Q or 802.1ad) also in VLAN.
type ProtocolCounts struct {
	VLAN                     uint64
	ARP, IPv4, IPv6, OtherL3 uint64
	UDP, TCP, ICMP, ICMPv6   uint64
	OtherL4                  uint64
}

// XStatsReader is a Port with extended counters.
type XStatsReader interface {
	XStats() (map[string]uint64, error)
}

// TxCounters is a Dataplane that counts, per port (by id), the frames
// full tx queues refused; see PortStats.TxBackpressure.
type TxCounters interface {
	TxRefused(portID string) (refused, dropped uint64)
}

// Port is one port of a driver. Control methods may be called from any
// goroutine; RxBurst and TxBurst on a given queue only from the one worker
// that owns that queue.
type Port interface {
	Info() PortInfo
	Link() LinkStatus
	Stats() PortStats
	// RxBurst first frees pkts[:free] (packets the caller is done with; 0
	// for none), then fills pkts (a Burst from the same driver) with up to
	// len(pkts) received packets and returns how many it filled. Freeing
	// here saves the data plane a separate call per burst.
	RxBurst(queue uint16, pkts []*Mbuf, free int) int
	// TxBurst queues up to len(pkts) packets for transmission and returns
	// how many the port took; the rest stay owned by the caller.
	TxBurst(queue uint16, pkts []*Mbuf) int
}

// Pool hands out packet buffers. Safe for concurrent use.
type Pool interface {
	// Alloc fills all of pkts with fresh single-segment buffers, or none
	// and returns false when the pool cannot.
	Alloc(pkts []*Mbuf) bool
	// Free returns buffers to their pool.
	Free(pkts []*Mbuf)
	Stats() memory.PoolStats
}

// Driver owns the ports and pools. Control methods are serialised by the
// caller (the port service); Port and Pool methods follow their own rules.
type Driver interface {
	Ports() []Port
	Pool() Pool
	Pools() []memory.PoolStats
	// NewBurst returns a slice of TxBurstSize entries in memory the driver can
	// hand to its queues without copying or pointer checks. Free releases it.
	NewBurst() Burst
	// Stop stops a port so it can be reconfigured; Start starts it again.
	Stop(id string) error
	Start(id string) error
	// ConfigureLink applies a link configuration to a stopped port.
	ConfigureLink(id string, cfg LinkConfig) error
	// CreateBond makes a bond port over stopped members and starts it.
	CreateBond(id string, cfg BondConfig) (Port, error)
	// DeleteBond stops and removes a bond port; its members stay stopped.
	DeleteBond(id string) error
	Close() error
}

// RecyclePool is a pool for a source that sends the same buffers again and
// again, writing the next frame over the one a buffer holds (a generator's
// ring of recycled frames), without RefPool's references: a buffer goes
// to a port with one reference, and the port's free (any Free) hands it
// back to its owner, reference count 0, instead of to a free list. The
// owner sends a buffer again only once it reads 0 (Mbuf.Refcnt), and
// sets 1 (Mbuf.Lend) as it hands it to a port. Against RefPool this saves
// the atomic decrement in every port's free.
type RecyclePool interface {
	// Take gives the caller len(pkts) buffers, each held by nobody else
	// (reference count 0), or none and false.
	Take(pkts []*Mbuf) bool
	// Give returns taken buffers; one a port still holds goes back to
	// the free list once the port frees it.
	Give(pkts []*Mbuf)
	Stats() memory.PoolStats
}

// RecyclePools is a Driver with a RecyclePool.
type RecyclePools interface {
	// RecyclePool returns the pool, or nil when the driver has none.
	RecyclePool() RecyclePool
}

// JumboPools is a Driver with a second pool whose buffers hold frames up
// to memory.MaxJumboFrame bytes in one segment, for the sources of frames
// longer than Pool's buffers hold (2 KiB). Their buffers go back to it
// through any Free: a buffer remembers its pool.
type JumboPools interface {
	// JumboPool returns the pool, or nil when the driver has none.
	JumboPool() RefPool
}

// Burst is a driver-allocated array of packet pointers.
type Burst struct {
	Pkts []*Mbuf
	free func()
}

// NewBurstFrom wraps driver memory; free is called once by Free.
func NewBurstFrom(pkts []*Mbuf, free func()) Burst { return Burst{Pkts: pkts, free: free} }

// Free releases the burst's memory.
func (b *Burst) Free() {
	if b.free != nil {
		b.free()
		b.free = nil
	}
	b.Pkts = nil
}

// Sink takes received packets. Push runs on the worker goroutine that owns
// the rx queue, must not block, must not keep pkts or the Mbufs after it
// returns, and may be called concurrently for different queues.
type Sink interface {
	Push(port uint16, pkts []*Mbuf)
}

// TimedSink is a Sink that takes a burst's receive time from the worker,
// when the port records one (RxTimes), rather than reading the clock when
// the burst reaches it.
type TimedSink interface {
	Sink
	// PushAt is Push for a burst the port received at rx (ns, clock.Now's
	// scale).
	PushAt(port uint16, pkts []*Mbuf, rx int64)
}

// RxTimes is a Port that records when each rx queue's last burst with
// frames came back from the driver: a clock read in the driver call, as
// OpenPerf's rx callback stamps frames, so a receive time does not
// include what the worker did between the driver and the sink.
type RxTimes interface {
	// LastRxTime returns the time (ns, clock.Now's scale) of queue q's
	// last RxBurst that returned frames. Only the worker polling q may
	// call it.
	LastRxTime(q uint16) int64
}

// FrameTimedSink is a TimedSink that also takes each frame's own receive
// time, when the port has them (FrameTimes): a NIC's receive timestamps.
type FrameTimedSink interface {
	TimedSink
	// PushTimes is Push for a burst whose frames the port timed one by
	// one: pkts[i] was received at rx[i] (ns, clock.Now's scale). rx is
	// the port's memory, valid during the call only.
	PushTimes(port uint16, pkts []*Mbuf, rx []int64)
}

// FrameTimes is a port that can time each frame it receives, with its
// NIC's clock converted to ours (PortInfo.RxHardwareTimes), rather than
// only its bursts (RxTimes).
type FrameTimes interface {
	RxTimes
	// RxFrameTimes returns the receive times (ns, clock.Now's scale) of
	// the frames of queue q's last RxBurst that returned frames, one per
	// frame in the order RxBurst returned them; nil when that burst has
	// none (not every frame of it carried a stamp: its time is then
	// LastRxTime's). The slice is the port's and valid until the next
	// RxBurst on q. Only the worker polling q may call it.
	RxFrameTimes(q uint16) []int64
}

// Sinks is what a consumer of received packets (an analyzer, a capture)
// needs from the workers: its sinks added to a port and removed at run
// time. Once RemoveSink returns, no worker pushes to the sink.
type Sinks interface {
	AddSink(portID string, s Sink)
	RemoveSink(portID string, s Sink)
}

// Source produces packets to transmit. Pull runs on one worker goroutine
// at a time; it fills pkts with up to len(pkts) buffers it allocated and
// returns how many. A Source that returns 0 is asked again later.
type Source interface {
	Pull(pkts []*Mbuf) int
	// Sent reports how many of the pulled packets the port took and how
	// many were dropped because the port was full (drop-tx-overruns).
	Sent(n, dropped int)
	// Detached tells the source that its port was taken off the workers
	// (stopped, reconfigured or bonded) and it will not be pulled again.
	Detached()
}

// Scheduled is a Source that knows when it next has packets to send. A
// worker about to sleep asks its sources, so that paced traffic leaves on
// time rather than whenever the idle back-off happens to wake it. Called
// only by the worker that pulls the source.
type Scheduled interface {
	// NextDue returns how long until the source next has a packet to
	// send (<= 0: now), or ok false when it has none scheduled.
	NextDue() (d time.Duration, ok bool)
}

// RefillPort is a Port that can transmit a burst and allocate the buffers
// of the next one in a single driver call: one cgo call per burst instead
// of two (an allocation and a transmission). The workers use it for
// FillSources.
type RefillPort interface {
	// TxRefill transmits pkts[off:n] like TxBurst (pkts is a Burst from the
	// same driver). When the port took all of them (or there were none),
	// it then moves the spare buffers pkts[n:n+spare] to the front and, if
	// want > spare, tops them up to want fresh buffers from the driver's
	// pool; avail is how many spare buffers are now at pkts[:avail] (spare
	// if the pool could not). Fresh buffers come raw: call Mbuf.Rearm
	// before writing one. When the port took fewer, nothing else happens:
	// avail is 0 and the spares stay at pkts[n:n+spare].
	TxRefill(queue uint16, pkts []*Mbuf, off, n, spare, want int) (sent, avail int)
}

// FillSource is a Source that writes into buffers the worker allocated for
// it with RefillPort.TxRefill, the transmit call of its previous burst.
// On a port without TxRefill the worker uses Pull.
type FillSource interface {
	Source
	// Want returns how many buffers the next Fill could use (0..TxBurstSize).
	// A source that wants none is Pulled instead (it may have buffers of
	// its own, see RefPool).
	Want() int
	// Fill writes packets into raw (buffers from TxRefill, each to be
	// readied with Mbuf.Rearm) from the front and returns how many it
	// wrote; the worker keeps the rest for the next Fill.
	Fill(raw []*Mbuf) int
}

// RefPool is a Pool whose buffers can be shared: a buffer holding k
// references goes back to the pool when the k-th Free (a port's, once
// sent, or the owner's) releases the last one, as rte_pktmbuf_free does.
// A source of identical frames sends one prebuilt buffer many times.
type RefPool interface {
	Pool
	// AddRef adds n references to m (n < 0 takes them away; at least one
	// must stay). Safe against concurrent Frees of m.
	AddRef(m *Mbuf, n int)
}

// AsPorts copies a driver's ports, of its own type, into a []Port.
func AsPorts[P Port](ps []P) []Port {
	out := make([]Port, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

// RxQueue names one receive queue of a port.
type RxQueue struct {
	Port  Port
	Queue uint16
}

// RxInterrupts is a Driver whose ports can wake an idle worker when a
// frame arrives (DPDK's rx queue interrupts), so that the worker sleeps
// instead of polling. Ports that can say so in PortInfo.RxInterrupts.
type RxInterrupts interface {
	// NewRxWaiter makes a waiter for the calling worker's thread; only
	// that thread may call its methods other than Wake.
	NewRxWaiter() (RxWaiter, error)
}

// ErrRxIntrNotReady is wrapped by RxWaiter.Arm errors that pass with
// time.
var ErrRxIntrNotReady = errors.New("rx interrupts not ready")

// RxWaiter puts one worker to sleep until a frame arrives on its queues,
// someone calls Wake, or a timeout passes.
type RxWaiter interface {
	// Arm turns interrupts on for queues (every one must be on a port
	// with PortInfo.RxInterrupts). Frames that arrived before Arm raise
	// none: the caller polls the queues once more before Wait. An error
	// that wraps ErrRxIntrNotReady is passing (a memif port whose peer
	// has not connected): poll and try again later.
	Arm(queues []RxQueue) error
	// Wait sleeps until an armed queue signals a frame, Wake is called
	// or timeout passes. A waiter may receive from the queue that ended
	// the wait before it returns (the frames are stamped as the thread
	// wakes, not after its way back): that queue's next RxBurst returns
	// them. So the armed queues' ports must keep running until Disarm.
	Wait(timeout time.Duration)
	// Disarm turns interrupts off again for the armed queues that are
	// also in keep, and forgets the rest, freeing frames Wait received
	// from them: they left the caller's plan.
	Disarm(keep []RxQueue)
	// Wake ends a Wait, or the next one if none is under way. Safe from
	// any goroutine.
	Wake()
	// Close frees the waiter.
	Close()
}
