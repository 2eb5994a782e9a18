//go:build 386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm

package packetio

import (
	"sync/atomic"
	"unsafe"
)

// The reference count is read and set through the 32-bit word it shares
// with data_off, whose high half it is on a little-endian machine: this
// file builds for little-endian machines only.

// Refcnt returns the buffer's reference count (see RefPool), read
// atomically (with data_off: refcnt is the high half of the aligned 32-bit
// word at offset 16), so the owner of shared buffers may poll it while
// ports free their references.
func (m *Mbuf) Refcnt() int { return int(atomic.LoadUint32(m.rearmWord()) >> 16) }

// SetRefcnt sets the reference count atomically; for fakes, which keep
// reference counts themselves.
func (m *Mbuf) SetRefcnt(n int) {
	w := m.rearmWord()
	for {
		old := atomic.LoadUint32(w)
		if atomic.CompareAndSwapUint32(w, old, old&0xffff|uint32(uint16(n))<<16) {
			return
		}
	}
}

// Lend sets the reference count of a RecyclePool buffer that nobody but
// its owner holds (count 0) to 1, for handing it to a port: a plain
// store, since nobody else can be writing it.
func (m *Mbuf) Lend() { m.refcnt = 1 }

// rearmWord is the 32-bit word of data_off and refcnt (little-endian).
func (m *Mbuf) rearmWord() *uint32 { return (*uint32)(unsafe.Pointer(&m.dataOff)) }
