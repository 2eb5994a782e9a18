package stack

import (
	"container/heap"
	"sync"
	"sync/atomic"
	"time"
)

// dhcpClient is a DHCPv4 or DHCPv6 client driven by the scheduler. Its
// methods run on the scheduler goroutine only; after each call the
// scheduler re-reads deadline (zero: no timer).
type dhcpClient interface {
	start(now time.Time)
	expire(now time.Time)
	receive(now time.Time, frame []byte)
	stop(now time.Time)
	deadline() time.Time
	// holding reports whether stop would send something (a RELEASE).
	holding() bool
}

// dhcpScheduler runs every DHCP client of a stack on one goroutine: one
// heap of deadlines, one queue of received frames, one queue of start and
// stop commands. Thousands of clients cost a heap entry each, not a
// goroutine or a timer each, and no client state needs a lock.
type dhcpScheduler struct {
	rx      chan dhcpRx // frames from the workers; full means dropped
	rxDrops atomic.Uint64
	wake    chan struct{} // cap 1: commands are waiting
	done    chan struct{} // closed when run returns

	mu   sync.Mutex // guards cmds
	cmds []dhcpCmd

	// Owned by the run goroutine.
	timers    timerHeap
	clients   map[dhcpClient]*timerItem
	releasing []dhcpClient // stopped clients waiting for the pacer to RELEASE
	pace      pacer
	quitting  time.Time // when quit came; zero before
}

// Pacing of the frames clients send on their own (timer-driven DISCOVERs,
// REQUESTs and renewals, RELEASEs): a bulk creation or deletion must not
// reach a server as one burst that overflows its socket (dnsmasq, which
// rewrites its lease file on every change, handled about 400 RELEASEs a
// second here and lost the rest of a burst of 1000). Test equipment paces
// DHCP sessions the same way. Answers to a server's replies are not paced.
const (
	dhcpSendRate  = 250 // frames per second
	dhcpSendBurst = 25
	// dhcpQuitGrace bounds how long shutdown keeps pacing RELEASEs; the
	// rest go at once (some may be lost: their leases just expire).
	dhcpQuitGrace = 2 * time.Second
)

type dhcpRx struct {
	c     dhcpClient
	frame []byte
}

type dhcpCmd struct {
	c          dhcpClient
	stop, quit bool
}

const dhcpRxDepth = 8192

func newDHCPScheduler() *dhcpScheduler {
	d := &dhcpScheduler{rx: make(chan dhcpRx, dhcpRxDepth), wake: make(chan struct{}, 1),
		done: make(chan struct{}), clients: map[dhcpClient]*timerItem{},
		pace: pacer{rate: dhcpSendRate, burst: dhcpSendBurst, tokens: dhcpSendBurst}}
	go d.run()
	return d
}

// deliver queues a frame for a client without ever blocking: it runs on
// the workers.
func (d *dhcpScheduler) deliver(c dhcpClient, frame []byte) {
	select {
	case d.rx <- dhcpRx{c: c, frame: frame}:
	default:
		d.rxDrops.Add(1) // the client retransmits
	}
}

func (d *dhcpScheduler) command(cmds ...dhcpCmd) {
	d.mu.Lock()
	d.cmds = append(d.cmds, cmds...)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// start and stop queue clients' starts and stops; they never block, so
// the stack may call them under its lock.
func (d *dhcpScheduler) start(cs ...dhcpClient) {
	cmds := make([]dhcpCmd, len(cs))
	for i, c := range cs {
		cmds[i] = dhcpCmd{c: c}
	}
	d.command(cmds...)
}

func (d *dhcpScheduler) stop(cs ...dhcpClient) {
	cmds := make([]dhcpCmd, len(cs))
	for i, c := range cs {
		cmds[i] = dhcpCmd{c: c, stop: true}
	}
	d.command(cmds...)
}

// close stops the goroutine once the commands queued before it are done
// (so RELEASEs of deleted interfaces are sent), and waits for it.
func (d *dhcpScheduler) close() {
	d.command(dhcpCmd{quit: true})
	<-d.done
}

func (d *dhcpScheduler) run() {
	defer close(d.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		if !d.quitting.IsZero() && (len(d.releasing) == 0 || now.Sub(d.quitting) > dhcpQuitGrace) {
			for _, c := range d.releasing {
				c.stop(now)
			}
			return
		}
		next := time.Hour
		if len(d.timers) > 0 {
			next = d.timers[0].at.Sub(now)
		}
		if len(d.releasing) > 0 {
			next = min(next, d.pace.wait(now))
		}
		timer.Reset(next)
		select {
		case <-d.wake:
			d.mu.Lock()
			cmds := d.cmds
			d.cmds = nil
			d.mu.Unlock()
			for _, cmd := range cmds {
				if cmd.quit {
					d.quitting = time.Now()
					break
				}
				if d.quitting.IsZero() {
					d.apply(cmd, time.Now())
				}
			}
			d.release(time.Now())
		case r := <-d.rx:
			if _, ok := d.clients[r.c]; ok {
				r.c.receive(time.Now(), r.frame)
				d.reschedule(r.c)
			}
		case <-timer.C:
			d.release(time.Now())
			d.fire(time.Now())
		}
	}
}

func (d *dhcpScheduler) apply(cmd dhcpCmd, now time.Time) {
	it, known := d.clients[cmd.c]
	switch {
	case cmd.stop && known:
		if it.index >= 0 {
			heap.Remove(&d.timers, it.index)
		}
		delete(d.clients, cmd.c)
		if cmd.c.holding() {
			d.releasing = append(d.releasing, cmd.c)
		} else {
			cmd.c.stop(now)
		}
	case !cmd.stop && !known:
		d.clients[cmd.c] = &timerItem{c: cmd.c, index: -1}
		cmd.c.start(now)
		d.reschedule(cmd.c)
	}
}

// fire runs every client whose deadline has come.
func (d *dhcpScheduler) fire(now time.Time) {
	// Take the due ones out first, so a client that stays due runs once
	// per wake-up, not in a tight loop.
	var due []dhcpClient
	for len(d.timers) > 0 && !d.timers[0].at.After(now) {
		due = append(due, heap.Pop(&d.timers).(*timerItem).c)
	}
	for _, c := range due {
		if !d.pace.take(now) {
			// Out of tokens: try again when the next one comes.
			it := d.clients[c]
			it.at = now.Add(d.pace.wait(now))
			heap.Push(&d.timers, it)
			continue
		}
		c.expire(now)
		d.reschedule(c)
	}
}

// release stops the waiting clients the pacer lets through.
func (d *dhcpScheduler) release(now time.Time) {
	n := 0
	for n < len(d.releasing) && d.pace.take(now) {
		d.releasing[n].stop(now)
		d.releasing[n] = nil
		n++
	}
	d.releasing = d.releasing[n:]
}

// pacer is a token bucket.
type pacer struct {
	rate, burst, tokens float64
	last                time.Time
}

func (p *pacer) refill(now time.Time) {
	if !p.last.IsZero() {
		p.tokens = min(p.burst, p.tokens+now.Sub(p.last).Seconds()*p.rate)
	}
	p.last = now
}

// take spends a token if there is one.
func (p *pacer) take(now time.Time) bool {
	p.refill(now)
	if p.tokens < 1 {
		return false
	}
	p.tokens--
	return true
}

// wait is how long until the next token.
func (p *pacer) wait(now time.Time) time.Duration {
	p.refill(now)
	if p.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - p.tokens) / p.rate * float64(time.Second))
}

// reschedule moves a client's heap entry to its new deadline.
func (d *dhcpScheduler) reschedule(c dhcpClient) {
	it := d.clients[c]
	at := c.deadline()
	switch {
	case at.IsZero() && it.index >= 0:
		heap.Remove(&d.timers, it.index)
	case at.IsZero():
	case it.index >= 0:
		it.at = at
		heap.Fix(&d.timers, it.index)
	default:
		it.at = at
		heap.Push(&d.timers, it)
	}
}

// timerItem is a client's place in the deadline heap (index -1: absent).
type timerItem struct {
	at    time.Time
	c     dhcpClient
	index int
}

// timerHeap orders clients by deadline (container/heap).
type timerHeap []*timerItem

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	it := x.(*timerItem)
	it.index = len(*h)
	*h = append(*h, it)
}
func (h *timerHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	it.index = -1
	*h = old[:len(old)-1]
	return it
}
