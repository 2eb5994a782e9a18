package socket

import (
	"encoding/binary"
	"errors"
	"sync/atomic"
	"unsafe"
)

// ring is one SPSC ring of datagram records in a socket's shared memory.
// Its indexes are free-running byte counts; records are 8-byte aligned
// and may wrap. The daemon keeps its own side's index in Go memory and
// only publishes it: the client can scribble over the shared copy but
// cannot make the daemon read or write outside the ring.
type ring struct {
	head, tail *uint64       // in the shared memory
	data       []byte        // len is a power of two
	mine       atomic.Uint64 // our index: head when we produce, tail when we consume; atomic for the statistics' reads
}

var errCorrupt = errors.New("ring corrupt")

func newRing(mem []byte, headOff, tailOff int, data []byte, producer bool) *ring {
	r := &ring{
		head: (*uint64)(unsafe.Pointer(&mem[headOff])),
		tail: (*uint64)(unsafe.Pointer(&mem[tailOff])),
		data: data,
	}
	if producer {
		r.mine.Store(atomic.LoadUint64(r.head))
	} else {
		r.mine.Store(atomic.LoadUint64(r.tail))
	}
	return r
}

func align8(n uint64) uint64 { return (n + 7) &^ 7 }

// copyOut copies ring bytes starting at index i into dst, wrapping.
func (r *ring) copyOut(dst []byte, i uint64) {
	size := uint64(len(r.data))
	off := i & (size - 1)
	n := copy(dst, r.data[off:])
	copy(dst[n:], r.data)
}

// copyIn copies src into the ring at index i, wrapping.
func (r *ring) copyIn(i uint64, src []byte) {
	size := uint64(len(r.data))
	off := i & (size - 1)
	n := copy(r.data[off:], src)
	copy(r.data, src[n:])
}

// used is what the ring holds as the producer sees it; an error if the
// consumer's published index makes no sense.
func (r *ring) usedByProducer() (uint64, error) {
	used := r.mine.Load() - atomic.LoadUint64(r.tail)
	if used > uint64(len(r.data)) {
		return 0, errCorrupt
	}
	return used, nil
}

// push appends a record (producer side). ok is false when it does not
// fit (the datagram is dropped, as a full socket buffer would). notify
// says the consumer had caught up before this record, so it may be
// about to sleep and needs a wake-up; a busy consumer gets none, so a
// busy pair costs no syscall per datagram.
func (r *ring) push(addr, payload []byte, flags uint16) (ok, notify bool, err error) {
	used, err := r.usedByProducer()
	if err != nil {
		return false, false, err
	}
	need := align8(recordHdr + uint64(len(payload)))
	if need > uint64(len(r.data))-used {
		return false, false, nil
	}
	var hdr [recordHdr]byte
	binary.NativeEndian.PutUint32(hdr[0:], uint32(len(payload)))
	binary.NativeEndian.PutUint16(hdr[4:], uint16(copy(hdr[8:36], addr)))
	binary.NativeEndian.PutUint16(hdr[6:], flags)
	old := r.mine.Load()
	r.copyIn(old, hdr[:])
	r.copyIn(old+recordHdr, payload)
	r.mine.Store(old + need)
	atomic.StoreUint64(r.head, old+need)
	// Checked after publishing: either the consumer sees the new head, or
	// we see that it had consumed everything and wake it.
	return true, atomic.LoadUint64(r.tail) == old, nil
}

// pop takes the next record (consumer side) into buf, which must hold
// maxDgram bytes. It returns the payload length and the address; n < 0
// when the ring is empty.
func (r *ring) pop(buf []byte, addr *[28]byte) (n int, addrLen int, err error) {
	n, addrLen, _, err = r.popFlags(buf, addr)
	return n, addrLen, err
}

// popFlags is pop that also returns the record's flags.
func (r *ring) popFlags(buf []byte, addr *[28]byte) (n int, addrLen int, flags uint16, err error) {
	mine := r.mine.Load()
	avail := atomic.LoadUint64(r.head) - mine
	if avail == 0 {
		return -1, 0, 0, nil
	}
	if avail > uint64(len(r.data)) || avail < recordHdr {
		return 0, 0, 0, errCorrupt
	}
	var hdr [recordHdr]byte
	r.copyOut(hdr[:], mine)
	plen := uint64(binary.NativeEndian.Uint32(hdr[0:]))
	alen := int(binary.NativeEndian.Uint16(hdr[4:]))
	if plen > maxDgram || plen > uint64(len(buf)) || alen > len(addr) || align8(recordHdr+plen) > avail {
		return 0, 0, 0, errCorrupt
	}
	copy(addr[:], hdr[8:36])
	r.copyOut(buf[:plen], mine+recordHdr)
	mine += align8(recordHdr + plen)
	r.mine.Store(mine)
	atomic.StoreUint64(r.tail, mine)
	return int(plen), alen, binary.NativeEndian.Uint16(hdr[6:]), nil
}

// free is the room the producer has; 0 if the consumer's index makes
// no sense (the next push finds that out).
func (r *ring) free() uint64 {
	used, err := r.usedByProducer()
	if err != nil {
		return 0
	}
	return uint64(len(r.data)) - used
}

// empty says whether the consumer has taken everything (consumer side).
func (r *ring) empty() bool { return atomic.LoadUint64(r.head) == r.mine.Load() }

// queued is the bytes waiting in the ring, for statistics; 0 if the
// other side's index makes no sense.
func (r *ring) queued(producer bool) uint64 {
	var n uint64
	if producer {
		n = r.mine.Load() - atomic.LoadUint64(r.tail)
	} else {
		n = atomic.LoadUint64(r.head) - r.mine.Load()
	}
	if n > uint64(len(r.data)) {
		return 0
	}
	return n
}
