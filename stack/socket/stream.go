package socket

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// TCP: the rings carry byte-stream records (no addresses) that the shim
// may consume in part; a record of no bytes with flagEOF is the peer's
// FIN (rx) or the client's shutdown(SHUT_WR) (tx). Connection set-up is
// asynchronous: connect and accept answer at once and a stream's state
// word in shared memory, with a write to the client's eventfd, tells the
// shim when it changes, so a blocked connect or accept never holds the
// process's control connection.

const maxStreamRecord = maxDgram - 7 // a record's payload, 8-aligned under maxDgram

var one = []byte{1, 0, 0, 0, 0, 0, 0, 0}

// startTx starts the tx pump, once the socket's queue is set.
func (k *sock) startTx() {
	k.pumps.Add(1)
	go k.txPump()
}

func (k *sock) stream() bool { return k.transport == tcp.ProtocolNumber }

// queue is the waiter queue of the socket's endpoint: an accepted
// endpoint comes with its own.
func (k *sock) queue() *waiter.Queue {
	if k.q != nil {
		return k.q
	}
	return &k.wq
}

// setState publishes a stream's connection state, then wakes the client.
// The read first: a connecting socket's eventfd is at its maximum count
// (not writable, see the shim's connect), where a write would not go in.
func (k *sock) setState(state uint32, errno unix.Errno) {
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&k.mem[offErr])), uint32(errno))
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&k.mem[offState])), state)
	var v [8]byte
	_, _ = unix.Read(k.rxfd, v[:])
	_, _ = unix.Write(k.rxfd, one)
}

// applyOptions sets on a new endpoint the options the client set before
// it existed (SO_REUSEADDR must precede bind).
func (k *sock) applyOptions(ep tcpip.Endpoint) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for key, v := range k.opts {
		applyOption(ep, key[0], key[1], v)
	}
}

// applyOption passes the options gVisor implements to the endpoint;
// others stay remembered only.
func applyOption(ep tcpip.Endpoint, level, name int32, v []byte) {
	if len(v) < 4 {
		return
	}
	on := binary.NativeEndian.Uint32(v) != 0
	so := ep.SocketOptions()
	switch {
	case level == unix.SOL_SOCKET && name == unix.SO_REUSEADDR:
		so.SetReuseAddress(on)
	case level == unix.SOL_SOCKET && name == unix.SO_REUSEPORT:
		so.SetReusePort(on)
	case level == unix.SOL_SOCKET && name == unix.SO_KEEPALIVE:
		so.SetKeepAlive(on)
	case level == unix.IPPROTO_TCP && name == unix.TCP_NODELAY:
		so.SetDelayOption(!on)
	case level == unix.SOL_SOCKET && name == unix.SO_LINGER && len(v) >= 8:
		so.SetLinger(tcpip.LingerOption{Enabled: on, Timeout: time.Duration(int32(binary.NativeEndian.Uint32(v[4:]))) * time.Second})
	}
}

// streamRxPump moves a connected stream's bytes into the rx ring. A
// stream must not drop, so it reads no more than the ring has room for
// and, with the ring full, waits for the client to make room.
func (k *sock) streamRxPump(ep tcpip.Endpoint) {
	defer k.pumps.Done()
	entry, readable := waiter.NewChannelEntry(waiter.ReadableEvents | waiter.EventHUp | waiter.EventErr)
	k.queue().EventRegister(&entry)
	defer k.queue().EventUnregister(&entry)
	var buf bytes.Buffer
	rxWait := (*uint32)(unsafe.Pointer(&k.mem[offRxWait]))
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		free := k.rx.free()
		if free < recordHdr+512 {
			// The client has not read what we gave it. Say we wait, look
			// again (the client sees the flag or we see its room), then
			// sleep until it writes the tx eventfd, which the tx pump
			// passes on. A tx pump busy in a write to gVisor passes
			// nothing on: look again after a millisecond regardless.
			atomic.StoreUint32(rxWait, 1)
			if k.rx.free() >= recordHdr+512 {
				continue
			}
			timer.Reset(time.Millisecond)
			select {
			case <-k.done:
				return
			case <-k.rxRoom:
			case <-timer.C:
			}
			continue
		}
		buf.Reset()
		n := min(int64(free-recordHdr)&^7, maxStreamRecord)
		res, e := ep.Read(&tcpip.LimitedWriter{W: &buf, N: n}, tcpip.ReadOptions{})
		if e == nil && res.Count > 0 {
			ok, notify, err := k.rx.push(nil, buf.Bytes()[:res.Count], 0)
			if err != nil {
				k.corrupt(err)
				return
			}
			if !ok {
				k.rxDrops.Add(1) // cannot happen: we asked for no more than fits
			}
			if notify {
				_, _ = unix.Write(k.rxfd, one)
			}
			continue
		}
		switch e.(type) {
		case *tcpip.ErrWouldBlock, nil:
			select {
			case <-readable:
				continue
			case <-k.done:
				return
			}
		case *tcpip.ErrClosedForReceive:
			k.pushEOF(0)
		default:
			k.pushEOF(errnoOf(e))
		}
		return
	}
}

// pushEOF ends the client's stream: the peer's FIN, or an error. It
// waits for room: the EOF must not be lost.
func (k *sock) pushEOF(errno unix.Errno) {
	if errno != 0 {
		k.setState(stateError, errno)
	}
	for {
		ok, _, err := k.rx.push(nil, nil, flagEOF)
		if err != nil {
			k.corrupt(err)
			return
		}
		if ok {
			_, _ = unix.Write(k.rxfd, one)
			return
		}
		select {
		case <-k.done:
			return
		case <-time.After(time.Millisecond):
		}
	}
}

// streamWriter writes tx records to a stream endpoint, waiting for room
// in gVisor's send buffer (and for the handshake to end).
type streamWriter struct {
	k        *sock
	entry    waiter.Entry
	writable chan struct{}
	rd       bytes.Reader
}

func newStreamWriter(k *sock) *streamWriter {
	w := &streamWriter{k: k}
	w.entry, w.writable = waiter.NewChannelEntry(waiter.WritableEvents | waiter.EventHUp | waiter.EventErr)
	k.queue().EventRegister(&w.entry)
	return w
}

func (w *streamWriter) close() { w.k.queue().EventUnregister(&w.entry) }

func (w *streamWriter) write(p []byte, flags uint16) {
	for {
		ep := w.k.endpoint()
		if ep == nil {
			w.k.txErrors.Add(1) // sent before connect: a client bug
			return
		}
		if flags&flagEOF != 0 {
			_ = ep.Shutdown(tcpip.ShutdownWrite)
			return
		}
		w.rd.Reset(p)
		n, e := ep.Write(&w.rd, tcpip.WriteOptions{})
		p = p[n:]
		if len(p) == 0 {
			return
		}
		if e != nil {
			if _, wb := e.(*tcpip.ErrWouldBlock); !wb {
				// Reset or closed: the rx pump tells the client.
				w.k.txErrors.Add(1)
				return
			}
		}
		select {
		case <-w.writable:
		case <-w.k.done:
			return
		}
	}
}

// connectStream starts a connection and answers at once (EINPROGRESS);
// a goroutine publishes the outcome.
func (k *sock) connectStream(ep tcpip.Endpoint, to tcpip.FullAddress) unix.Errno {
	entry, ch := waiter.NewChannelEntry(waiter.WritableEvents | waiter.EventHUp | waiter.EventErr)
	k.queue().EventRegister(&entry)
	e := ep.Connect(to)
	switch e.(type) {
	case nil:
		k.queue().EventUnregister(&entry)
		k.connected(ep)
		return 0
	case *tcpip.ErrConnectStarted:
	default:
		k.queue().EventUnregister(&entry)
		return errnoOf(e)
	}
	k.setState(stateConnecting, 0)
	k.pumps.Add(1)
	go func() {
		defer k.pumps.Done()
		defer k.queue().EventUnregister(&entry)
		select {
		case <-ch:
		case <-k.done:
			return
		}
		if e := ep.LastError(); e != nil {
			k.setState(stateError, errnoOf(e))
			return
		}
		k.connected(ep)
	}()
	return unix.EINPROGRESS
}

// connected starts a stream's rx pump and tells the client.
func (k *sock) connected(ep tcpip.Endpoint) {
	k.pumps.Add(1)
	go k.streamRxPump(ep)
	k.setState(stateConnected, 0)
}

// listen makes the endpoint a listener; a watcher writes the client's
// eventfd while connections wait, so poll sees the socket readable.
func (k *sock) listen(ep tcpip.Endpoint, backlog int) unix.Errno {
	if backlog <= 0 || backlog > 4096 {
		backlog = 4096
	}
	entry, ch := waiter.NewChannelEntry(waiter.ReadableEvents)
	k.queue().EventRegister(&entry)
	if e := ep.Listen(backlog); e != nil {
		k.queue().EventUnregister(&entry)
		return errnoOf(e)
	}
	k.mu.Lock()
	again := k.listening
	k.listening = true
	k.mu.Unlock()
	if again {
		k.queue().EventUnregister(&entry)
		return 0 // a second listen changes the backlog only
	}
	k.pumps.Add(1)
	go func() {
		defer k.pumps.Done()
		defer k.queue().EventUnregister(&entry)
		for {
			if ep.Readiness(waiter.ReadableEvents) != 0 {
				_, _ = unix.Write(k.rxfd, one)
			}
			select {
			case <-ch:
			case <-k.done:
				return
			}
		}
	}()
	return 0
}

// peerOf is an accepted endpoint's peer as the listener's family shows it.
func peerOf(domain int, fa tcpip.FullAddress) []byte {
	return sockaddr(domain, netip.AddrPortFrom(addrPort(fa).Addr(), fa.Port))
}

// tcpOption answers the TCP options programs read (iperf3 reads TCP_INFO
// and TCP_MAXSEG): from gVisor where it has the figure, else zero.
func tcpOption(k *sock, name int32, size int) (reply, bool) {
	ep := k.endpoint()
	switch name {
	case unix.TCP_MAXSEG:
		b := binary.NativeEndian.AppendUint32(nil, 1460)
		return reply{val: 4, data: b}, true
	case unix.TCP_INFO:
		// struct tcp_info's leading fields (Linux's layout); the rest zero.
		b := make([]byte, min(max(size, 0), 232, dataMax))
		var info tcpip.TCPInfoOption
		if ep != nil && ep.GetSockOpt(&info) == nil {
			put := func(off int, v uint32) {
				if off+4 <= len(b) {
					binary.NativeEndian.PutUint32(b[off:], v)
				}
			}
			if len(b) > 0 {
				b[0] = byte(info.State) // gVisor numbers its TCP states as Linux does
				if tcp.EndpointState(info.State) > tcp.StateClosing {
					b[0] = byte(tcp.StateClose) // its internal ones (initial, bound, ...)
				}
			}
			put(8, uint32(info.RTO.Microseconds()))
			put(16, 1460) // snd_mss
			put(20, 1460) // rcv_mss
			put(60, 1500) // pmtu
			put(68, uint32(info.RTT.Microseconds()))
			put(72, uint32(info.RTTVar.Microseconds()))
			put(76, info.SndSsthresh)
			put(80, info.SndCwnd)
			put(84, 1460) // advmss
		}
		return reply{val: int32(len(b)), data: b}, true
	}
	return reply{}, false
}

// writableAgain undoes the shim's "not writable" on the program's fd (a
// stream's or a datagram socket's) once the tx ring has room: the shim set the eventfd's counter to its
// maximum, where poll reports it readable but not writable. Reading
// resets it (and wakes edge-triggered epoll with EPOLLOUT); a write the
// rx pump lost meanwhile is made good from the ring.
func (k *sock) writableAgain() {
	full := (*uint32)(unsafe.Pointer(&k.mem[offTxFull]))
	if atomic.LoadUint32(full) == 0 || atomic.SwapUint32(full, 0) == 0 {
		return
	}
	var v [8]byte
	_, _ = unix.Read(k.rxfd, v[:])
	// A stream's fd is readable too when it is not (or no longer) connected.
	if k.rx.queued(true) > 0 || (k.stream() && atomic.LoadUint32((*uint32)(unsafe.Pointer(&k.mem[offState]))) != stateConnected) {
		_, _ = unix.Write(k.rxfd, one)
	}
}
