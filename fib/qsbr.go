package fib

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// QSBR is quiescent-state-based reclamation: it tells a writer when no data
// plane worker can still hold a value the writer has unpublished, so the
// writer may release what that value owns (a stack NIC, a ring, a pool).
// Go's garbage collector keeps the memory itself valid; QSBR protects the
// resources behind it.
//
// Each worker goroutine registers a Reader and calls Checkpoint once per
// loop iteration, at a point where it holds nothing it read from shared
// snapshots. A writer publishes a new snapshot, calls Synchronize, and once
// that returns frees what the old snapshot alone referred to.
//
// # Why this is correct
//
// All loads and stores below are sync/atomic operations, which the Go
// memory model makes sequentially consistent: there is one total order of
// them that every goroutine agrees with and that respects each goroutine's
// program order.
//
// Writer: (W1) store the new snapshot pointer; (W2) epoch.Add -> target;
// (W3) for each reader, load its seen slot until it is 0 or >= target.
// Reader: (R1) Checkpoint or Online: load epoch, store it to seen;
// (R2) load snapshot pointers and use what they point to, until (R3) the
// next Checkpoint or Offline.
//
//   - If W3 reads seen = e >= target, that value was stored by an R1 whose
//     epoch load came after W2, hence after W1. Every R2 after that R1 loads
//     the new pointer (or a later one). Values the reader read before that
//     R1 it had released by contract. So no value unpublished at W1 is held.
//   - If W3 reads 0, the reader had gone Offline (holding nothing) and its
//     next Online store of seen comes after W3 in the total order. Online
//     stores before the reader's first R2, so that R2 also comes after W3,
//     hence after W1, and sees the new pointer. This holds even when the
//     epoch Online loaded was older than target (it raced W2): the epoch
//     value only decides how long later Synchronize calls wait, never what
//     the reader can see. That is why Online must store seen before the
//     reader reads any shared pointer, and why Register returns an online
//     reader.
//
// Readers registered after W3 loaded the reader list only read pointers
// after Register returned, which is after they were added to the list, so
// after W3's list load, after W1: they see the new pointer too.
type QSBR struct {
	_     [64]byte      // keep epoch off mu's and readers' cache line:
	epoch atomic.Uint64 // every worker loads it per loop; only Synchronize writes it
	_     [56]byte

	mu      sync.Mutex                // serialises Register and Unregister
	readers atomic.Pointer[[]*Reader] // copy-on-write; replaced under mu
}

// NewQSBR returns a QSBR with no readers.
func NewQSBR() *QSBR {
	q := &QSBR{}
	q.epoch.Store(1) // 0 in a reader's slot means offline
	q.readers.Store(new([]*Reader))
	return q
}

// Reader is one worker's registration. Its methods (other than through
// QSBR.Synchronize, which only loads seen) must be called by the goroutine
// that owns it; a worker that locks its OS thread should own exactly one.
//
// seen, q and local share one cache line that no other Reader touches, so
// a Checkpoint never contends with another worker's.
type Reader struct {
	seen  atomic.Uint64 // last epoch the owner announced; 0 = offline. Read by Synchronize.
	q     *QSBR         // nil after Unregister
	local uint64        // the owner's copy of seen, so Checkpoint stores only on change
	nudge func()        // set before the reader is published, then read-only
	_     [128 - 32]byte
}

// Register adds a reader and returns it online, as if Online had been
// called: the caller may read snapshots straight away. A reader that will
// not run soon should go Offline, or Synchronize waits for it. Safe to call
// from any goroutine, concurrently with everything else.
func (q *QSBR) Register() *Reader { return q.RegisterNudged(nil) }

// RegisterNudged is Register for a reader that may block while online:
// Synchronize calls nudge (from its own goroutine, at most once per
// call) when the reader has not passed a checkpoint soon after the call
// began, and nudge must make the owner checkpoint soon. A worker asleep
// in an rx interrupt wait stays online so that the wait may receive from
// its queues the moment it wakes; nudge ends the wait.
func (q *QSBR) RegisterNudged(nudge func()) *Reader {
	r := &Reader{q: q, nudge: nudge}
	q.mu.Lock()
	defer q.mu.Unlock()
	r.Online()
	rs := append(slices.Clone(*q.readers.Load()), r)
	q.readers.Store(&rs)
	return r
}

// Checkpoint announces a quiescent state: the caller holds nothing it read
// from a snapshot before this call. Call it once per worker loop iteration.
// It costs a load of the shared epoch, which stays in cache until a writer
// synchronises, and a store to the reader's own cache line only when the
// epoch moved. On an offline reader it is the same as Online.
func (r *Reader) Checkpoint() {
	if e := r.q.epoch.Load(); e != r.local {
		r.local = e
		r.seen.Store(e)
	}
}

// Offline announces that the caller holds nothing and will read no
// snapshot until it calls Online (or Checkpoint). Synchronize does not wait
// for offline readers. Call it before a worker sleeps or blocks.
func (r *Reader) Offline() {
	r.local = 0
	r.seen.Store(0)
}

// Online ends Offline. It stores the current epoch before returning, so
// every snapshot the caller loads afterwards is at least as new as any
// published before a Synchronize that skipped this reader while offline.
func (r *Reader) Online() {
	e := r.q.epoch.Load()
	r.local = e
	r.seen.Store(e)
}

// Unregister takes the reader offline and removes it. The reader must not
// be used afterwards.
func (r *Reader) Unregister() {
	r.Offline()
	q := r.q
	r.q = nil
	q.mu.Lock()
	defer q.mu.Unlock()
	rs := slices.DeleteFunc(slices.Clone(*q.readers.Load()), func(x *Reader) bool { return x == r })
	q.readers.Store(&rs)
}

// Synchronize waits for a grace period: it returns once every reader that
// was online when it started has passed a Checkpoint or gone Offline, so no
// reader still holds a value that was unpublished before the call. It
// returns at once when no reader is online. It polls, yielding and then
// sleeping for up to a millisecond between polls, so it belongs on the
// control path, never on a worker (a worker calling it would wait for
// itself). A reader still behind after the first yield is nudged (see
// RegisterNudged). Safe to call concurrently from several goroutines.
func (q *QSBR) Synchronize() {
	target := q.epoch.Add(1)
	for _, r := range *q.readers.Load() {
		for try := 0; ; try++ {
			if s := r.seen.Load(); s == 0 || s >= target {
				break
			}
			if try == 1 && r.nudge != nil {
				r.nudge()
			}
			pause(try)
		}
	}
}

// pause backs off a poll: a few yields first (a busy worker checkpoints
// within microseconds), then sleeps doubling from 20 us to 1 ms.
func pause(try int) {
	const yields = 16
	if try < yields {
		runtime.Gosched()
		return
	}
	d := 20 * time.Microsecond << min(try-yields, 6)
	time.Sleep(min(d, time.Millisecond))
}
