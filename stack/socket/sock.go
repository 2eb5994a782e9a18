package socket

import (
	"bytes"
	"crypto/rand"

	"fmt"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"

	"github.com/openperfd/openperfd/stack"
)

// sock is one client socket: its shared memory and eventfds, and the
// gVisor endpoint once the socket is attached to an interface.
//
// The client's control goroutine makes and changes it; the tx pump
// (started with the socket) and the rx pump (started on attach) move
// data; the statistics read it under mu.
type sock struct {
	id     uint32
	key    string // "<pid>-<id>", the REST id
	pid    int32
	domain int
	stype  int
	proto  int // as the client asked (0, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6)

	transport tcpip.TransportProtocolNumber
	netProto  tcpip.NetworkProtocolNumber

	mem      []byte   // the memfd mapping
	memfd    int      // our copy of the memfd
	rxfd     int      // the receive eventfd (the client's socket fd); we write it
	txf      *os.File // the transmit eventfd; the tx pump sleeps reading it
	txfd     int      // txf's descriptor (txf.Fd() would make it blocking)
	spacefd  int      // the space eventfd: we write it when a waiting client gets room
	waiting  *uint32  // in mem: the client waits for room
	rx, tx   *ring
	wq       waiter.Queue
	q        *waiter.Queue // an accepted endpoint's own queue; else nil (wq)
	done     chan struct{} // closed when the socket closes
	pumps    sync.WaitGroup
	log      *zap.Logger
	shutdown func() // the server's, for a corrupt ring

	// holders counts the control connections holding the socket: its
	// creator's, and a forked child's for each fork (opHold). It closes
	// when the last lets go. Guarded by the server's mu.
	holders int
	token   [tokenSize]byte // our copy of the token in mem (which the client may scribble on)

	rxDrops, txErrors atomic.Uint64
	closing           atomic.Bool   // the tx pump drains the ring and ends
	txDone            chan struct{} // closed when the tx pump ends
	rxRoom            chan struct{} // the tx pump woke: a stream's client may have made rx room

	mu        sync.Mutex // guards below
	iface     *stack.Interface
	ep        tcpip.Endpoint
	bindDev   string // SO_BINDTODEVICE: an interface id
	listening bool
	opts      map[[2]int32][]byte // other options, kept for getsockopt
	closed    bool
}

// transportFor maps socket(2) arguments to a gVisor transport: UDP and
// ICMP echo datagram sockets, TCP streams.
func transportFor(domain, stype, proto int) (tcpip.TransportProtocolNumber, tcpip.NetworkProtocolNumber, unix.Errno) {
	var np tcpip.NetworkProtocolNumber
	switch domain {
	case unix.AF_INET:
		np = ipv4.ProtocolNumber
	case unix.AF_INET6:
		np = ipv6.ProtocolNumber
	default:
		return 0, 0, unix.EAFNOSUPPORT
	}
	if stype&0xf == unix.SOCK_STREAM {
		if proto == 0 || proto == unix.IPPROTO_TCP {
			return tcp.ProtocolNumber, np, 0
		}
		return 0, 0, unix.EPROTONOSUPPORT
	}
	if stype&0xf != unix.SOCK_DGRAM {
		return 0, 0, unix.EPROTONOSUPPORT
	}
	switch {
	case proto == 0 || proto == unix.IPPROTO_UDP:
		return udp.ProtocolNumber, np, 0
	case proto == unix.IPPROTO_ICMP && domain == unix.AF_INET:
		return icmp.ProtocolNumber4, np, 0
	case proto == unix.IPPROTO_ICMPV6 && domain == unix.AF_INET6:
		return icmp.ProtocolNumber6, np, 0
	}
	return 0, 0, unix.EPROTONOSUPPORT
}

// newShared makes a socket's memfd, mapping and eventfds.
func (k *sock) newShared(ringSize int) error {
	fd, err := unix.MemfdCreate("openperfd-socket", unix.MFD_CLOEXEC)
	if err != nil {
		return fmt.Errorf("memfd: %w", err)
	}
	k.memfd = fd
	size := offData + 2*ringSize
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		return fmt.Errorf("memfd size: %w", err)
	}
	if k.mem, err = unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err != nil {
		return fmt.Errorf("mmap: %w", err)
	}
	putU32(k.mem[offRingSize:], uint32(ringSize))
	putU32(k.mem[offMagic:], magicValue)
	// The token a forked child shows to hold the socket too: a process
	// that can read it maps this memory, so it holds the socket's fds.
	if _, err := rand.Read(k.token[:]); err != nil {
		return fmt.Errorf("socket token: %w", err)
	}
	copy(k.mem[offToken:], k.token[:])
	if k.rxfd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fmt.Errorf("eventfd: %w", err)
	}
	if k.spacefd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fmt.Errorf("eventfd: %w", err)
	}
	k.waiting = (*uint32)(unsafe.Pointer(&k.mem[offWaiting]))
	txfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return fmt.Errorf("eventfd: %w", err)
	}
	// Non-blocking, so os.File parks the tx pump in the netpoller, not a thread.
	k.txf, k.txfd = os.NewFile(uintptr(txfd), "openperfd-socket-tx"), txfd
	k.rx = newRing(k.mem, offRxHead, offRxTail, k.mem[offData:offData+ringSize], true)
	k.tx = newRing(k.mem, offTxHead, offTxTail, k.mem[offData+ringSize:offData+2*ringSize], false)
	return nil
}

func putU32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// release closes what newShared made, once the pumps are gone.
func (k *sock) release() {
	if k.txf != nil {
		k.txf.Close()
	}
	k.pumps.Wait()
	if k.mem != nil {
		_ = unix.Munmap(k.mem)
		k.mem = nil
	}
	for _, fd := range []*int{&k.rxfd, &k.memfd, &k.spacefd} {
		if *fd > 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
}

// close ends the socket: its endpoint, its pumps, its memory.
func (k *sock) close() {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return
	}
	k.closed = true
	ep := k.ep
	k.mu.Unlock()
	// What the client sent before it closed still goes out, as with a
	// kernel socket; a client that keeps the ring full gets a second.
	k.closing.Store(true)
	_, _ = unix.Write(k.txfd, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	select {
	case <-k.txDone:
	case <-time.After(time.Second):
	}
	close(k.done)
	if ep != nil {
		ep.Close()
	}
	// A client blocked in a call on it (the daemon is stopping, or the
	// ring was corrupt) wakes and finds it gone.
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&k.mem[offClosed])), 1)
	wake := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	var drain [8]byte
	_, _ = unix.Read(k.rxfd, drain[:]) // a counter the shim set to the maximum takes no write
	_, _ = unix.Write(k.rxfd, wake)
	_, _ = unix.Write(k.spacefd, wake)
	k.release()
}

// endpoint is the gVisor endpoint, nil before attach.
func (k *sock) endpoint() tcpip.Endpoint {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.ep
}

// attach opens the endpoint on an interface's NIC: every route it takes
// leaves through that NIC, so traffic between two interfaces of one
// gVisor stack crosses the ports instead of looping inside the stack.
func (k *sock) attach(it *stack.Interface, local netip.AddrPort) unix.Errno {
	gv, nic := it.GVisor()
	if gv == nil {
		return unix.ENODEV
	}
	ep, e := gv.NewEndpoint(k.transport, k.netProto, &k.wq)
	if e != nil {
		return errnoOf(e)
	}
	_ = ep.SocketOptions().SetBindToDevice(int32(nic))
	// Always: the shim makes control messages of them only for programs
	// that asked (ping shows the TTL).
	ep.SocketOptions().SetReceiveTTL(true)
	ep.SocketOptions().SetReceiveHopLimit(true)
	k.applyOptions(ep)
	fa := tcpip.FullAddress{NIC: nic, Port: local.Port()}
	if a := local.Addr(); a.IsValid() && !a.IsUnspecified() {
		fa.Addr = tcpip.AddrFromSlice(a.Unmap().AsSlice())
	}
	if e := ep.Bind(fa); e != nil {
		ep.Close()
		return errnoOf(e)
	}
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		ep.Close()
		return unix.EBADF
	}
	k.iface, k.ep = it, ep
	k.mu.Unlock()
	if k.stream() {
		return 0 // its rx pump starts once it is connected
	}
	k.pumps.Add(1)
	go k.rxPump(ep)
	return 0
}

// fullAddress converts a client address for the endpoint.
func (k *sock) fullAddress(ap netip.AddrPort) tcpip.FullAddress {
	a := ap.Addr()
	if k.netProto == ipv4.ProtocolNumber {
		a = a.Unmap()
	}
	return tcpip.FullAddress{Addr: tcpip.AddrFromSlice(a.AsSlice()), Port: ap.Port()}
}

// addrPort converts an endpoint address for the client.
func addrPort(fa tcpip.FullAddress) netip.AddrPort {
	a, _ := netip.AddrFromSlice(fa.Addr.AsSlice())
	return netip.AddrPortFrom(a, fa.Port)
}

// rxPump moves received datagrams into the rx ring. A full ring drops
// the datagram, as a full socket buffer does.
func (k *sock) rxPump(ep tcpip.Endpoint) {
	defer k.pumps.Done()
	entry, readable := waiter.NewChannelEntry(waiter.ReadableEvents)
	k.wq.EventRegister(&entry)
	defer k.wq.EventUnregister(&entry)
	var buf bytes.Buffer
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	for {
		buf.Reset()
		res, e := ep.Read(&buf, tcpip.ReadOptions{NeedRemoteAddr: true})
		if e != nil {
			if _, soft := e.(*tcpip.ErrConnectionRefused); soft {
				continue // an ICMP error on a connected socket: the next datagram still counts
			}
			// Nothing to read (or no more): wait for an event, never spin.
			select {
			case <-readable:
				continue
			case <-k.done:
				return
			}
		}
		var flags uint16
		switch cm := res.ControlMessages; {
		case cm.HasTTL:
			flags = flagTTL | uint16(cm.TTL)
		case cm.HasHopLimit:
			flags = flagTTL | uint16(cm.HopLimit)
		}
		ok, notify, err := k.rx.push(sockaddr(k.domain, addrPort(res.RemoteAddr)), buf.Bytes()[:res.Count], flags)
		if err != nil {
			k.corrupt(err)
			return
		}
		if !ok {
			k.rxDrops.Add(1)
		}
		if notify {
			_, _ = unix.Write(k.rxfd, one)
		}
	}
}

// txPump sends what the client put in the tx ring. It sleeps on the tx
// eventfd, which the client writes only when it finds this pump caught up.
func (k *sock) txPump() {
	defer k.pumps.Done()
	defer close(k.txDone)
	buf := make([]byte, maxDgram)
	var addr [28]byte
	var tick [8]byte
	var sw *streamWriter
	if k.stream() {
		sw = newStreamWriter(k)
		defer sw.close()
	}
	for {
		for {
			n, alen, flags, err := k.tx.popFlags(buf, &addr)
			if err != nil {
				k.corrupt(err)
				return
			}
			if n < 0 {
				break
			}
			if sw != nil {
				sw.write(buf[:n], flags)
			} else {
				k.send(buf[:n], addr[:alen])
			}
			// A client that found the ring full said so before it
			// looked again: it sees this room, or we see its flag.
			if atomic.LoadUint32(k.waiting) != 0 && atomic.SwapUint32(k.waiting, 0) != 0 {
				_, _ = unix.Write(k.spacefd, []byte{1, 0, 0, 0, 0, 0, 0, 0})
			}
			k.writableAgain()
		}
		if k.closing.Load() {
			return
		}
		if _, err := k.txf.Read(tick[:]); err != nil {
			return // closed
		}
		// The client writes this eventfd for rx room too (streams): pass
		// it on to the rx pump.
		select {
		case k.rxRoom <- struct{}{}:
		default:
		}
	}
}

func (k *sock) send(p, addr []byte) {
	ep := k.endpoint()
	if ep == nil {
		k.txErrors.Add(1) // the shim attaches before it sends: a client bug
		return
	}
	var opts tcpip.WriteOptions
	if len(addr) > 0 {
		_, ap, err := parseSockaddr(addr)
		if err != nil {
			k.txErrors.Add(1)
			return
		}
		to := k.fullAddress(ap)
		opts.To = &to
	}
	if _, e := ep.Write(bytes.NewReader(p), opts); e != nil {
		if _, wb := e.(*tcpip.ErrWouldBlock); !wb { // queued until the neighbour resolves
			k.txErrors.Add(1)
		}
	}
}

// corrupt closes a socket whose ring the client broke.
func (k *sock) corrupt(err error) {
	k.log.Warn("closing a socket with a corrupt ring", zap.String("socket", k.key), zap.Error(err))
	go k.shutdown()
}

// errnoOf maps a gVisor error to the errno a program expects, for
// datagram and stream sockets alike (as Linux's: a refused connected UDP
// socket is ECONNREFUSED too).
func errnoOf(e tcpip.Error) unix.Errno {
	switch e.(type) {
	case *tcpip.ErrPortInUse:
		return unix.EADDRINUSE
	case *tcpip.ErrBadLocalAddress:
		return unix.EADDRNOTAVAIL
	case *tcpip.ErrHostUnreachable:
		return unix.EHOSTUNREACH
	case *tcpip.ErrNetworkUnreachable, *tcpip.ErrNoNet:
		return unix.ENETUNREACH
	case *tcpip.ErrNotConnected:
		return unix.ENOTCONN
	case *tcpip.ErrAlreadyBound, *tcpip.ErrInvalidEndpointState:
		return unix.EINVAL
	case *tcpip.ErrAddressFamilyNotSupported:
		return unix.EAFNOSUPPORT
	case *tcpip.ErrUnknownDevice:
		return unix.ENODEV
	case *tcpip.ErrBroadcastDisabled:
		return unix.EACCES
	case *tcpip.ErrNoBufferSpace:
		return unix.ENOBUFS
	case *tcpip.ErrMessageTooLong:
		return unix.EMSGSIZE
	case *tcpip.ErrConnectionReset:
		return unix.ECONNRESET
	case *tcpip.ErrConnectionRefused:
		return unix.ECONNREFUSED
	case *tcpip.ErrConnectionAborted:
		return unix.ECONNABORTED
	case *tcpip.ErrTimeout:
		return unix.ETIMEDOUT
	case *tcpip.ErrClosedForSend:
		return unix.EPIPE
	}
	return unix.EINVAL
}
