package packetio

import (
	"encoding/binary"
	"sync/atomic"
)

// TestEtherType marks frames made by TestFrames: the IEEE local
// experimental EtherType, which no real protocol uses.
const TestEtherType = 0x88b5

// TestFrames is a Source that transmits Count copies of a fixed Ethernet
// frame as fast as the port takes them. It exists so tests and operators
// can prove the tx path before the packet generator is configured.
type TestFrames struct {
	ID string // set by the owner for reporting

	pool     Pool
	template []byte
	count    int64

	pulled  int64 // touched only by the worker running the source
	sent    atomic.Int64
	dropped atomic.Int64
	done    chan struct{}
	closed  atomic.Bool
}

// NewTestFrames prepares count frames of length bytes (without FCS) from
// src to dst. Each frame's payload starts with its sequence number.
func NewTestFrames(pool Pool, src, dst [6]byte, length int, count int64) *TestFrames {
	t := make([]byte, length)
	copy(t[0:6], dst[:])
	copy(t[6:12], src[:])
	binary.BigEndian.PutUint16(t[12:14], TestEtherType)
	return &TestFrames{pool: pool, template: t, count: count, done: make(chan struct{})}
}

// Pull implements Source.
func (t *TestFrames) Pull(pkts []*Mbuf) int {
	n := int(min(int64(len(pkts)), t.count-t.pulled))
	if n <= 0 || !t.pool.Alloc(pkts[:n]) {
		return 0
	}
	for i, m := range pkts[:n] {
		room := m.Room()
		copy(room, t.template)
		binary.BigEndian.PutUint64(room[14:22], uint64(t.pulled)+uint64(i))
		m.SetLen(len(t.template))
	}
	t.pulled += int64(n)
	return n
}

// Sent implements Source.
func (t *TestFrames) Sent(n, dropped int) {
	s := t.sent.Add(int64(n))
	d := t.dropped.Add(int64(dropped))
	if s+d >= t.count && t.closed.CompareAndSwap(false, true) {
		close(t.done)
	}
}

// Done is closed once every frame was sent or dropped.
func (t *TestFrames) Done() <-chan struct{} { return t.done }

// Counts reports frames sent and dropped so far.
func (t *TestFrames) Counts() (sent, dropped int64) { return t.sent.Load(), t.dropped.Load() }

// Detached implements Source: a job whose port went away ends unfinished.
func (t *TestFrames) Detached() { t.abandon() }

// abandon ends a job that will never finish.
func (t *TestFrames) abandon() {
	if t.closed.CompareAndSwap(false, true) {
		close(t.done)
	}
}
