// Package memory holds packet-buffer pool contracts that do not depend on
// DPDK: pool statistics and the sizing rules that turn a pool's size into
// the EAL memory it needs.
package memory

import "fmt"

// PoolStats is a snapshot of one packet-buffer pool. Counts are in buffers.
type PoolStats struct {
	Name      string
	Available int64 // free buffers
	Used      int64 // buffers handed out and not yet returned
	Max       int64 // highest Used seen by the sampler (a high-water mark)
	Size      int64 // total buffers in the pool
	Errors    int64 // allocations that failed because the pool was empty
}

// DefaultBufSize is the data room of one buffer: a 2 KiB frame plus the
// 128-byte headroom DPDK reserves in front of it.
const DefaultBufSize = 2048 + 128

// MaxJumboFrame is the longest frame, FCS included, that a jumbo buffer
// holds: 9216 bytes, what jumbo RFC 2544 and MTU tests send.
const MaxJumboFrame = 9216

// JumboBufSize is the data room of a jumbo buffer: a MaxJumboFrame frame
// (its FCS is the port's, so 4 bytes spare) plus the 128-byte headroom.
const JumboBufSize = MaxJumboFrame + 128

// noHugeBytesPerJumbo is what one jumbo buffer costs with EAL's --no-huge:
// the pool packs objects across pages (RTE_MEMPOOL_F_NO_IOVA_CONTIG), so
// the 128-byte mbuf header, the data room and the mempool's own header.
const noHugeBytesPerJumbo = 128 + JumboBufSize + 64

// noHugeBytesPerBuf is what one mbuf costs with EAL's --no-huge: objects
// may not cross a 4 KiB page, so each 2 KiB buffer plus its header takes a
// page and a bit (measured ~4.2 KB per buffer with DPDK 22.11).
const noHugeBytesPerBuf = 4300

// edgeMB is EAL's own overhead (memzones, rings, ethdev state) on top of
// the pools, with room for a few hundred descriptors per queue.
const edgeMB = 48

// NoHugeMegabytes returns the -m value EAL needs to hold pools with
// buffers mbufs in total when it runs without hugepages.
func NoHugeMegabytes(buffers int) int {
	return buffers*noHugeBytesPerBuf/(1<<20) + edgeMB
}

// JumboMegabytes returns what a jumbo pool of buffers mbufs adds to the
// -m value of NoHugeMegabytes (rounded up).
func JumboMegabytes(buffers int) int {
	return (buffers*noHugeBytesPerJumbo + 1<<20 - 1) / (1 << 20)
}

// PoolSize picks the number of buffers for a pool that must fill the
// given rx/tx descriptors, per-lcore caches and a working reserve. DPDK
// pools are most memory-efficient at 2^n - 1 entries.
func PoolSize(descriptors, lcores, cache, reserve int) (int, error) {
	if descriptors < 0 || lcores < 0 || cache < 0 || reserve < 0 {
		return 0, fmt.Errorf("pool size: negative input (descriptors=%d lcores=%d cache=%d reserve=%d)",
			descriptors, lcores, cache, reserve)
	}
	need := descriptors + lcores*cache + reserve
	n := 2
	for n-1 < need {
		n <<= 1
		if n > 1<<24 {
			return 0, fmt.Errorf("pool size: %d buffers is more than the 16M this daemon supports", need)
		}
	}
	return n - 1, nil
}
