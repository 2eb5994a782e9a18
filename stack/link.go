package stack

import (
	"bytes"
	"sync"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	gvstack "gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/stack/gro"

	"github.com/openperfd/openperfd/packet/bpf"
	"github.com/openperfd/openperfd/packetio"
)

// frameMTU is the largest frame an interface sends or takes, Ethernet
// header included; gVisor's ethernet wrapper leaves 1500 for IP.
const frameMTU = 1514

// link is the raw-frame end of one interface: frames from the port go up
// to gVisor's ethernet endpoint (which parses the header), frames from
// the stack (header already pushed) go out through the port's tx queue.
// It is the "child" that gVisor's ethernet.Endpoint wraps.
type link struct {
	mac        tcpip.LinkAddress
	tx         *txQueue
	dispatcher atomic.Pointer[dispatcherBox]
	stats      *ifaceStats
	fam        *familyCounters
	ckErrs     *checksumCounters // the stack's: frames dropped for a checksum
	// The interface's filters: frames they reject are dropped silently,
	// as a host's packet filter would.
	rxFilter, txFilter *bpf.Filter
	// tap takes DHCP clients' frames before gVisor; nil without DHCP.
	tap *dhcpTap
	// nic is the NIC's side of the ethernet wrapper (set by buildNIC):
	// where GRO's coalesced packets go, their Ethernet header parsed here.
	nic gvstack.NetworkDispatcher
	// groMu guards gro, which coalesces a burst's in-order TCP segments of
	// a connection into one packet for gVisor (receive offload, as a NIC
	// driver's GRO): TCP then runs once per up to 64 KiB instead of once
	// per frame. Made at the interface's first TCP frame (~7 KB: most
	// emulated interfaces never see one); flushed at the end of every
	// burst (rxBatch).
	groMu sync.Mutex
	gro   *gro.GRO
	// gsoPackets counts the large TCP packets writeGSO segmented.
	gsoPackets atomic.Uint64
}

type dispatcherBox struct{ d gvstack.NetworkDispatcher }

var (
	_ gvstack.LinkEndpoint = (*link)(nil)
	_ gvstack.GSOEndpoint  = (*link)(nil)
)

// deliver hands one received frame to the stack. It copies the frame:
// mbufs go back to the pool when the burst is done. TCP frames go through
// the link's GRO, which b's flush empties (nil b: no GRO).
func (l *link) deliver(frame []byte, b *rxBatch) {
	if !l.rxFilter.Match(frame) {
		return
	}
	if l.tap != nil {
		// DHCP's tap may keep the frame.
		l.deliverOwned(append([]byte(nil), frame...), b)
		return
	}
	// gVisor copies it into a buffer of its own (buffer.MakeWithData).
	l.deliverOwned(frame, b)
}

// deliverOwned hands the stack a frame that DHCP's tap, if any, may keep;
// gVisor takes a copy.
func (l *link) deliverOwned(frame []byte, b *rxBatch) {
	box := l.dispatcher.Load()
	if box == nil {
		l.stats.rxErrors.Add(1)
		return
	}
	l.stats.rxPackets.Add(1)
	l.stats.rxBytes.Add(uint64(len(frame)))
	if len(frame) >= 14 {
		l.fam.count(uint16(frame[12])<<8|uint16(frame[13]), true)
	}
	if l.tap != nil && l.tap.take(frame) {
		return
	}
	if k := rxChecksumError(frame); k != ckOK {
		l.stats.rxErrors.Add(1)
		if l.ckErrs != nil {
			l.ckErrs[k].Add(1)
		}
		return
	}
	pkt := gvstack.NewPacketBuffer(gvstack.PacketBufferOptions{Payload: buffer.MakeWithData(frame)})
	if b != nil && l.nic != nil && isTCP(frame) {
		l.coalesce(pkt, frame, b)
		pkt.DecRef()
		return
	}
	box.d.DeliverNetworkPacket(0, pkt) // the ethernet wrapper reads the type
	pkt.DecRef()
}

// isTCP reports whether an untagged frame carries TCP over IPv4 (not a
// fragment) or IPv6 (no extension header): what GRO can coalesce.
func isTCP(frame []byte) bool {
	if len(frame) < 14+20 {
		return false
	}
	switch uint16(frame[12])<<8 | uint16(frame[13]) {
	case 0x0800:
		return frame[14+9] == 6 && frame[14+6]&0x3f == 0 && frame[14+7] == 0
	case 0x86dd:
		return len(frame) >= 14+40 && frame[14+6] == 6
	}
	return false
}

// coalesce parses the frame's Ethernet header as the ethernet wrapper
// would and hands the packet to the link's GRO, to go up at the burst's
// flush (or sooner, when GRO cannot merge it).
func (l *link) coalesce(pkt *gvstack.PacketBuffer, frame []byte, b *rxBatch) {
	if !groReady(pkt, frame, l.mac) {
		return
	}
	l.groMu.Lock()
	if l.gro == nil {
		l.gro = new(gro.GRO)
		l.gro.Init(true)
		l.gro.Dispatcher = l.nic
	}
	l.gro.Enqueue(pkt)
	l.groMu.Unlock()
	b.touch(l)
}

// groReady readies a received TCP frame's packet (isTCP), its checksums
// verified (deliverOwned), for GRO: its Ethernet header consumed and read
// as the ethernet wrapper would, and marked verified, which GRO needs to
// merge it (rxcsum.go).
func groReady(pkt *gvstack.PacketBuffer, frame []byte, mac tcpip.LinkAddress) bool {
	if _, ok := pkt.LinkHeader().Consume(header.EthernetMinimumSize); !ok {
		return false
	}
	switch dst := tcpip.LinkAddress(frame[:6]); {
	case dst == mac:
		pkt.PktType = tcpip.PacketHost
	case dst == header.EthernetBroadcastAddress:
		pkt.PktType = tcpip.PacketBroadcast
	case header.IsMulticastEthernetAddress(dst):
		pkt.PktType = tcpip.PacketMulticast
	default:
		pkt.PktType = tcpip.PacketOtherHost
	}
	pkt.NetworkProtocolNumber = tcpip.NetworkProtocolNumber(uint16(frame[12])<<8 | uint16(frame[13]))
	pkt.RXChecksumValidated = true // by deliverOwned (rxcsum.go)
	return true
}

// groBucketSize is the packets a bucket of gVisor's GRO holds (its
// unexported groBucketSize).
const groBucketSize = 8

// flushGRO sends what the link's GRO holds up the stack.
func (l *link) flushGRO() {
	l.groMu.Lock()
	if l.gro != nil {
		// gVisor's Flush sends up only the first packet of each of its
		// buckets (it resets a packet, links included, before stepping to
		// the next), and a bucket holds at most groBucketSize: that many
		// calls empty it, in order.
		for range groBucketSize {
			l.gro.Flush()
		}
	}
	l.groMu.Unlock()
}

// rxBatch is one burst's delivery: the links whose GRO took frames, to be
// flushed when the burst is done. It lives on the delivering goroutine's
// stack.
type rxBatch struct {
	few  [4]*link
	n    int
	more []*link
}

func (b *rxBatch) touch(l *link) {
	for i := range b.n {
		if b.few[i] == l {
			return
		}
	}
	if b.n < len(b.few) {
		b.few[b.n] = l
		b.n++
		return
	}
	for _, m := range b.more {
		if m == l {
			return
		}
	}
	b.more = append(b.more, l)
}

// flush flushes every link the batch touched.
func (b *rxBatch) flush() {
	for _, l := range b.few[:b.n] {
		l.flushGRO()
	}
	for _, l := range b.more {
		l.flushGRO()
	}
	*b = rxBatch{}
}

// MTU implements stack.LinkEndpoint.
func (l *link) MTU() uint32 { return frameMTU }

// SetMTU implements stack.LinkEndpoint; the MTU is fixed.
func (l *link) SetMTU(uint32) {}

// MaxHeaderLength implements stack.LinkEndpoint.
func (l *link) MaxHeaderLength() uint16 { return 0 }

// LinkAddress implements stack.LinkEndpoint.
func (l *link) LinkAddress() tcpip.LinkAddress { return l.mac }

// SetLinkAddress implements stack.LinkEndpoint; the MAC is fixed.
func (l *link) SetLinkAddress(tcpip.LinkAddress) {}

// Capabilities implements stack.LinkEndpoint: the link verifies received
// checksums itself (rxcsum.go).
func (l *link) Capabilities() gvstack.LinkEndpointCapabilities {
	return gvstack.CapabilityRXChecksumOffload
}

// GSOMaxSize implements stack.GSOEndpoint.
func (l *link) GSOMaxSize() uint32 { return gvstack.GVisorGSOMaxSize }

// SupportedGSO implements stack.GSOEndpoint: the link segments TCP
// itself (gso.go), so TCP hands it one packet of up to 64 KiB per send.
func (l *link) SupportedGSO() gvstack.SupportedGSO { return gvstack.HostGSOSupported }

// Attach implements stack.LinkEndpoint.
func (l *link) Attach(d gvstack.NetworkDispatcher) {
	if d == nil {
		l.dispatcher.Store(nil)
		return
	}
	l.dispatcher.Store(&dispatcherBox{d: d})
}

// IsAttached implements stack.LinkEndpoint.
func (l *link) IsAttached() bool { return l.dispatcher.Load() != nil }

// Wait implements stack.LinkEndpoint; there are no goroutines to wait for.
func (l *link) Wait() {}

// ARPHardwareType implements stack.LinkEndpoint; the wrapper says Ether.
func (l *link) ARPHardwareType() header.ARPHardwareType { return header.ARPHardwareNone }

// AddHeader implements stack.LinkEndpoint; the wrapper adds Ethernet.
func (l *link) AddHeader(*gvstack.PacketBuffer) {}

// ParseHeader implements stack.LinkEndpoint.
func (l *link) ParseHeader(*gvstack.PacketBuffer) bool { return true }

// Close implements stack.LinkEndpoint.
func (l *link) Close() { l.dispatcher.Store(nil) }

// SetOnCloseAction implements stack.LinkEndpoint.
func (l *link) SetOnCloseAction(func()) {}

// WritePackets implements stack.LinkEndpoint: each frame is copied into a
// packet buffer and queued for the port's worker.
func (l *link) WritePackets(pkts gvstack.PacketBufferList) (int, tcpip.Error) {
	n := 0
	for _, pkt := range pkts.AsSlice() {
		if t := pkt.GSOOptions.Type; t == gvstack.GSOTCPv4 || t == gvstack.GSOTCPv6 {
			if _, ok := l.writeGSO(pkt); !ok {
				if n == 0 {
					return 0, &tcpip.ErrWouldBlock{}
				}
				break
			}
			n++
			continue
		}
		if l.txFilter != nil && !l.txFilter.Match(bytes.Join(pkt.AsSlices(), nil)) {
			n++ // filtered out: consumed, not sent
			continue
		}
		if !l.tx.enqueue(pkt.AsSlices(), pkt.Size()) {
			l.stats.txErrors.Add(1)
			if n == 0 {
				return 0, &tcpip.ErrWouldBlock{}
			}
			break
		}
		l.stats.txPackets.Add(1)
		l.fam.count(uint16(pkt.NetworkProtocolNumber), false)
		l.stats.txBytes.Add(uint64(max(pkt.Size(), 60)))
		n++
	}
	return n, nil
}

// sendFrame queues a frame the stack made itself rather than gVisor (a
// DHCP message, an ARP probe), as WritePackets does: through the tx
// filter, counted. It reports false when the queue refused the frame.
func (l *link) sendFrame(frame []byte) bool {
	if !l.txFilter.Match(frame) {
		return true // filtered out: consumed, not sent
	}
	if !l.tx.enqueue([][]byte{frame}, len(frame)) {
		l.stats.txErrors.Add(1)
		return false // lost like any frame; the sender retransmits
	}
	l.stats.txPackets.Add(1)
	l.fam.count(uint16(frame[12])<<8|uint16(frame[13]), false)
	l.stats.txBytes.Add(uint64(max(len(frame), 60)))
	return true
}

// txQueue is a port's queue of frames from the stack: any goroutine
// enqueues, the worker that runs it as a packetio.Source dequeues.
type txQueue struct {
	pool    packetio.Pool
	ch      chan *packetio.Mbuf
	wake    func()
	dropped atomic.Uint64
}

var _ packetio.Source = (*txQueue)(nil)

func newTxQueue(pool packetio.Pool, depth int, wake func()) *txQueue {
	return &txQueue{pool: pool, ch: make(chan *packetio.Mbuf, depth), wake: wake}
}

// enqueue copies a frame (padded to the 60-byte Ethernet minimum) into a
// packet buffer and queues it; false when buffers or the queue ran out.
func (q *txQueue) enqueue(parts [][]byte, size int) bool {
	var one [1]*packetio.Mbuf
	if size > frameMTU || !q.pool.Alloc(one[:]) {
		q.dropped.Add(1)
		return false
	}
	m := one[0]
	room := m.Room()
	off := 0
	for _, p := range parts {
		off += copy(room[off:], p)
	}
	for off < 60 {
		room[off] = 0
		off++
	}
	m.SetLen(off)
	select {
	case q.ch <- m:
	default:
		q.pool.Free(one[:])
		q.dropped.Add(1)
		return false
	}
	if q.wake != nil {
		q.wake()
	}
	return true
}

// enqueueBurst queues frames built in place (gso.go) and wakes the worker
// once; it returns how many frames and bytes it queued, and frees the
// rest when the queue is full.
func (q *txQueue) enqueueBurst(ms []*packetio.Mbuf) (sent, bytes int) {
loop:
	for _, m := range ms {
		n := len(m.Data()) // read before the worker owns it
		select {
		case q.ch <- m:
			sent++
			bytes += n
		default:
			break loop
		}
	}
	if rest := ms[sent:]; len(rest) > 0 {
		q.pool.Free(rest)
		q.dropped.Add(uint64(len(rest)))
	}
	if sent > 0 && q.wake != nil {
		q.wake()
	}
	return sent, bytes
}

// Pull implements packetio.Source.
func (q *txQueue) Pull(pkts []*packetio.Mbuf) int {
	n := 0
	for n < len(pkts) {
		select {
		case m := <-q.ch:
			pkts[n] = m
			n++
		default:
			return n
		}
	}
	return n
}

// Sent implements packetio.Source.
func (q *txQueue) Sent(_, dropped int) { q.dropped.Add(uint64(dropped)) }

// Detached implements packetio.Source: frames wait in the queue (or are
// dropped when it fills) until the port is back.
func (q *txQueue) Detached() {}

// drain frees whatever is still queued.
func (q *txQueue) drain() {
	var one [1]*packetio.Mbuf
	for {
		select {
		case m := <-q.ch:
			one[0] = m
			q.pool.Free(one[:])
		default:
			return
		}
	}
}

// ifaceStats are an interface's counters, written by workers and the
// stack, read by the API.
type ifaceStats struct {
	rxPackets, rxBytes, rxErrors atomic.Uint64
	txPackets, txBytes, txErrors atomic.Uint64
}

// familyCounters count IPv4 and IPv6 frames by EtherType, since gVisor
// keeps one set of IP counters for both.
type familyCounters struct{ v4, v6 famCounter }

type famCounter struct{ rx, tx atomic.Uint64 }

type famSnapshot struct{ rx, tx uint64 }

func (f *famCounter) snapshot() famSnapshot { return famSnapshot{rx: f.rx.Load(), tx: f.tx.Load()} }

func (f *familyCounters) count(etype uint16, rx bool) { f.countN(etype, rx, 1) }

// countN counts n frames of one EtherType.
func (f *familyCounters) countN(etype uint16, rx bool, n uint64) {
	var c *famCounter
	switch etype {
	case 0x0800:
		c = &f.v4
	case 0x86dd:
		c = &f.v6
	default:
		return
	}
	if rx {
		c.rx.Add(n)
	} else {
		c.tx.Add(n)
	}
}
