package packetio

import "unsafe"

// Mbuf mirrors the first cache line of DPDK's struct rte_mbuf (DPDK 22.11
// layout, checked field by field at compile time in packetio/dpdk). Pure-Go
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
