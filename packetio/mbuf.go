package packetio

import "unsafe"

// Mbuf mirrors the first cache line of DPDK's struct rte_mbuf (DPDK 22.11
// layout, checked field by field against DPDK's headers at compile time in
// packetio/dpdk/layout.go, with the offsets of mbuf_layout.go). Pure-Go
// code reads and writes packets through it without a cgo call; the bytes
// stay in the buffer the driver owns.
//
// An Mbuf is owned by exactly one goroutine at a time: the worker that
// received it or the source that allocated it, until it is transmitted or
// freed.
type Mbuf struct {
	bufAddr      unsafe.Pointer
	bufIOVA      uint64
	dataOff      uint16
	refcnt       uint16
	nbSegs       uint16
	port         uint16
	olFlags      uint64
	packetType   uint32
	pktLen       uint32
	dataLen      uint16
	vlanTCI      uint16
	hash         [2]uint32
	vlanTCIOuter uint16
	bufLen       uint16
	pool         unsafe.Pointer
}

// MbufHeadroom is the room DPDK leaves in front of a packet's first byte.
const MbufHeadroom = 128

// Data returns the packet's bytes (first segment) without copying.
func (m *Mbuf) Data() []byte {
	return unsafe.Slice((*byte)(unsafe.Add(m.bufAddr, m.dataOff)), m.dataLen)
}

// Room returns the whole writable area from the packet's first byte to the
// end of the buffer, for building a packet in place before SetLen.
func (m *Mbuf) Room() []byte {
	return unsafe.Slice((*byte)(unsafe.Add(m.bufAddr, m.dataOff)), m.bufLen-m.dataOff)
}

// Rearm readies a buffer fresh from the pool but not reset (see
// RefillPort.TxRefill) for building a packet, as rte_pktmbuf_reset does:
// a buffer in a pool is single-segment with refcount 1 and no next
// segment, so only the first cache line needs setting. Then write the
// packet into Room and call SetLen.
func (m *Mbuf) Rearm() {
	m.dataOff = min(MbufHeadroom, m.bufLen)
	m.refcnt = 1
	m.nbSegs = 1
	m.port = 0xffff // RTE_MBUF_PORT_INVALID
	m.olFlags = 0
	m.packetType = 0
	m.pktLen = 0
	m.dataLen = 0
	m.vlanTCI = 0
	m.vlanTCIOuter = 0
}

// RearmTx is Rearm for a packet of n bytes (SetLen included), for a
// source filling a burst of raw buffers, and returns the packet's first
// byte, or nil when the buffer has no room for max(n, need) bytes. It
// writes the first cache line with a few wide stores.
func (m *Mbuf) RearmTx(n, need int) unsafe.Pointer {
	if int(m.bufLen) < MbufHeadroom+max(n, need) {
		return nil
	}
	// data_off, refcnt, nb_segs, port; ol_flags; packet_type, pkt_len;
	// data_len, vlan_tci, hash; vlan_tci_outer.
	*(*[4]uint16)(unsafe.Pointer(&m.dataOff)) = [4]uint16{MbufHeadroom, 1, 1, 0xffff}
	m.olFlags = 0
	*(*[2]uint32)(unsafe.Pointer(&m.packetType)) = [2]uint32{0, uint32(n)}
	*(*[2]uint16)(unsafe.Pointer(&m.dataLen)) = [2]uint16{uint16(n), 0}
	m.vlanTCIOuter = 0
	return unsafe.Add(m.bufAddr, MbufHeadroom)
}

// RearmShared readies a buffer the caller owns alone but keeps references
// to (a source's recycled frames) for sending n bytes again and again:
// RearmTx without touching the reference count or the data. Once is
// enough: a port's free of a buffer with references left only drops one
// (rte_pktmbuf_free), and by DPDK's rules nobody writes into a buffer
// with several references, so its header stays as set here.
func (m *Mbuf) RearmShared(n int) unsafe.Pointer {
	m.dataOff = MbufHeadroom
	m.nbSegs = 1
	m.port = 0xffff
	m.olFlags = 0
	m.packetType = 0
	m.pktLen = uint32(n)
	m.dataLen = uint16(n)
	m.vlanTCI = 0
	m.vlanTCIOuter = 0
	return unsafe.Add(m.bufAddr, MbufHeadroom)
}

// PoolID returns what identifies the buffer's pool (rte_mbuf's pool), so
// a fake pool can take its own buffers back.
func (m *Mbuf) PoolID() unsafe.Pointer { return m.pool }

// SetPoolID records the buffer's pool; fakes use it (see PoolID).
func (m *Mbuf) SetPoolID(p unsafe.Pointer) { m.pool = p }

// DataPtr returns the address of the packet's first byte.
func (m *Mbuf) DataPtr() unsafe.Pointer { return unsafe.Add(m.bufAddr, m.dataOff) }

// SetLen sets the length of a single-segment packet.
func (m *Mbuf) SetLen(n int) {
	m.dataLen = uint16(n)
	m.pktLen = uint32(n)
}

// Len returns the packet's total length over all segments.
func (m *Mbuf) Len() int { return int(m.pktLen) }

// Port returns the index of the port the packet arrived on.
func (m *Mbuf) Port() uint16 { return m.port }

// NewHeapMbuf makes an Mbuf over a Go byte slice, with MbufHeadroom bytes
// of it kept in front of the packet. It is for fakes and tests: such an
// Mbuf must never reach DPDK.
func NewHeapMbuf(buf []byte) *Mbuf {
	if len(buf) <= MbufHeadroom || len(buf) > 0xffff {
		panic("packetio: NewHeapMbuf needs 129..65535 bytes") // programming error in a test
	}
	return &Mbuf{
		bufAddr: unsafe.Pointer(&buf[0]),
		dataOff: MbufHeadroom,
		bufLen:  uint16(len(buf)),
		refcnt:  1,
		nbSegs:  1,
	}
}

// SetPort records the arrival port; drivers and fakes use it.
func (m *Mbuf) SetPort(p uint16) { m.port = p }

// Reset readies a recycled heap Mbuf for reuse; fakes use it.
func (m *Mbuf) Reset() {
	m.dataOff = MbufHeadroom
	m.dataLen = 0
	m.pktLen = 0
}

// RxChecksum is what a port's hardware found checking a received packet's
// IP and L4 (UDP/TCP) checksums: the RTE_MBUF_F_RX_IP_CKSUM_* and
// RTE_MBUF_F_RX_L4_CKSUM_* bits of DPDK's ol_flags, whose values
// packetio/dpdk checks at compile time. Each of the two fields is
// unknown (0, the port did not check: check in software), bad, good, or
// none (both bits: the bytes' checksum is not right, but the port
// verified the data's integrity, as virtio does for checksums a sender
// offloaded). Ports without rx checksum offload leave both unknown.
type RxChecksum uint64

// RxChecksum fields and values.
const (
	RxIPChecksumMask RxChecksum = 1<<4 | 1<<7
	RxIPChecksumBad  RxChecksum = 1 << 4
	RxIPChecksumGood RxChecksum = 1 << 7
	RxL4ChecksumMask RxChecksum = 1<<3 | 1<<8
	RxL4ChecksumBad  RxChecksum = 1 << 3
	RxL4ChecksumGood RxChecksum = 1 << 8
)

// RxChecksum returns what the port found checking the packet's checksums.
func (m *Mbuf) RxChecksum() RxChecksum {
	return RxChecksum(m.olFlags) & (RxIPChecksumMask | RxL4ChecksumMask)
}

// SetRxChecksum records what a port found checking the packet's
// checksums; fakes and tests use it.
func (m *Mbuf) SetRxChecksum(c RxChecksum) {
	m.olFlags = m.olFlags&^uint64(RxIPChecksumMask|RxL4ChecksumMask) | uint64(c&(RxIPChecksumMask|RxL4ChecksumMask))
}
