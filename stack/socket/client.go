package socket

import (
	"bytes"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/waiter"

	"github.com/openperfd/openperfd/stack"
)

// client is one shim process: its control connection and its sockets,
// all closed when the connection drops (exit, crash, kill -9).
type client struct {
	srv   *Server
	conn  *net.UnixConn
	pid   int32
	socks map[uint32]*sock // only the serve goroutine touches it
}

func (c *client) serve() {
	defer c.srv.wg.Done()
	log := c.srv.log.With(zap.Int32("pid", c.pid))
	defer func() {
		c.conn.Close()
		for _, k := range c.socks {
			c.drop(k)
		}
		c.srv.mu.Lock()
		delete(c.srv.clients, c)
		c.srv.mu.Unlock()
		log.Debug("socket client gone")
	}()
	buf := make([]byte, requestSize+1) // one more: a longer message is refused, not cut
	for {
		n, _, flags, _, err := c.conn.ReadMsgUnix(buf, nil)
		if err != nil || n == 0 {
			return
		}
		if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
			log.Warn("socket client sent an oversized message; dropping it")
			return
		}
		req, err := parseRequest(buf[:n])
		if err != nil {
			log.Warn("socket client sent a bad request; dropping it", zap.Error(err))
			return
		}
		rep, fds := c.handle(req)
		rep.sid = req.sid
		if rep.sid == 0 && fds != nil {
			rep.sid = uint32(rep.val)
		}
		var oob []byte
		if fds != nil {
			oob = unix.UnixRights(fds...)
		}
		_ = c.conn.SetWriteDeadline(time.Now().Add(replyTimeout))
		if _, _, err := c.conn.WriteMsgUnix(rep.encode(), oob, nil); err != nil {
			log.Debug("socket client reply", zap.Error(err))
			return
		}
	}
}

// drop lets go of a socket, closing it if this was its last holder.
func (c *client) drop(k *sock) {
	if c.letGo(k) {
		k.close()
	}
}

// letGo takes a socket out of the client's map and, when no other
// client holds it (a forked process), out of the server's: true if the
// caller must close it.
func (c *client) letGo(k *sock) bool {
	delete(c.socks, k.id)
	s := c.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	k.holders--
	if k.holders > 0 {
		return false
	}
	delete(s.socks, k.key)
	delete(s.ids, k.id)
	return true
}

// hold makes this client one more holder of another client's socket: a
// forked child's connection (its parent opened it before fork and holds
// the socket's fds, which the child inherits). The token, which only a
// process that maps the socket's memory can read, is the proof.
func (c *client) hold(sid uint32, token []byte) (reply, []int) {
	if _, ok := c.socks[sid]; ok {
		return reply{}, nil
	}
	if len(c.socks) >= maxSocketsPerClient {
		return fail(unix.EMFILE)
	}
	s := c.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.ids[sid]
	if k == nil || k.holders == 0 || subtle.ConstantTimeCompare(k.token[:], token) != 1 {
		return fail(unix.EBADF)
	}
	k.holders++
	c.socks[sid] = k
	return reply{}, nil
}

// hello makes the connection's pid (the one /sockets shows for the
// sockets it makes from now on) that of the forked child now using it,
// its parent having opened it. Only a child of the connection's process
// is taken: the claim is checked against /proc, so a process cannot pass
// its sockets off as another's.
func (c *client) hello(pid int32) unix.Errno {
	if pid <= 0 {
		return unix.EINVAL
	}
	if pid == c.pid {
		return 0
	}
	ppid, err := parentPID(pid)
	if err != nil || ppid != c.pid {
		return unix.EPERM
	}
	c.pid = pid
	return 0
}

// parentPID reads a process's parent from /proc/<pid>/status.
func parentPID(pid int32) (int32, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/status")
	if err != nil {
		return 0, fmt.Errorf("process %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "PPid:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return 0, fmt.Errorf("process %d: PPid %q: %w", pid, v, err)
			}
			return int32(n), nil
		}
	}
	return 0, fmt.Errorf("process %d: no PPid", pid)
}

func fail(e unix.Errno) (reply, []int) { return reply{err: e}, nil }

func (c *client) handle(r request) (reply, []int) {
	switch r.op {
	case opSocket:
		return c.socket(int(r.a), int(r.b), int(r.c))
	case opHold:
		return c.hold(r.sid, r.data)
	case opHello:
		return fail(c.hello(r.a))
	}
	k := c.socks[r.sid]
	if k == nil {
		return fail(unix.EBADF)
	}
	switch r.op {
	case opClose:
		if !c.letGo(k) {
			return reply{}, nil // another process holds it still
		}
		if k.stream() {
			// Its queued bytes may take a while to reach gVisor (a peer
			// that stops reading): the process's other calls need not wait.
			c.srv.wg.Add(1) // under serve's own count: Close waits for it
			go func() {
				defer c.srv.wg.Done()
				k.close()
			}()
			return reply{}, nil
		}
		k.close()
		return reply{}, nil
	case opBind:
		_, ap, err := parseSockaddr(r.data)
		if err != nil {
			return fail(err.(unix.Errno))
		}
		return c.bind(k, ap)
	case opConnect, opAttach:
		fam, ap, err := parseSockaddr(r.data)
		if err != nil {
			return fail(err.(unix.Errno))
		}
		return c.connect(k, fam, ap, r.op == opAttach)
	case opGetsockname, opGetpeername:
		return c.name(k, r.op == opGetpeername)
	case opSetsockopt:
		return fail(c.setsockopt(k, r.a, r.b, r.data))
	case opGetsockopt:
		return c.getsockopt(k, r.a, r.b, int(r.c))
	case opListen:
		return c.listen(k, int(r.a))
	case opAccept:
		return c.accept(k)
	case opShutdown:
		ep := k.endpoint()
		if ep == nil {
			return fail(unix.ENOTCONN)
		}
		var f tcpip.ShutdownFlags
		switch r.a {
		case unix.SHUT_RD:
			f = tcpip.ShutdownRead
		case unix.SHUT_WR:
			f = tcpip.ShutdownWrite
		case unix.SHUT_RDWR:
			f = tcpip.ShutdownRead | tcpip.ShutdownWrite
		default:
			return fail(unix.EINVAL)
		}
		if e := ep.Shutdown(f); e != nil {
			return fail(errnoOf(e))
		}
		return reply{}, nil
	}
	return fail(unix.EINVAL)
}

func (c *client) socket(domain, stype, proto int) (reply, []int) {
	trans, np, errno := transportFor(domain, stype, proto)
	if errno != 0 {
		return fail(errno)
	}
	k, errno := c.newSock(domain, stype, proto, trans, np)
	if errno != 0 {
		return fail(errno)
	}
	k.startTx()
	return reply{val: int32(k.id)}, []int{k.memfd, k.rxfd, k.txfd, k.spacefd}
}

// newSock makes a socket's shared memory; the caller starts its tx pump.
func (c *client) newSock(domain, stype, proto int, trans tcpip.TransportProtocolNumber, np tcpip.NetworkProtocolNumber) (*sock, unix.Errno) {
	fail := func(e unix.Errno) (*sock, unix.Errno) { return nil, e }
	if len(c.socks) >= maxSocketsPerClient {
		return fail(unix.EMFILE)
	}
	s := c.srv
	s.mu.Lock()
	full := len(s.socks) >= maxSockets
	s.mu.Unlock()
	if full {
		return fail(unix.ENOBUFS)
	}
	id := s.sids.Add(1)
	k := &sock{id: id, key: sockKey(c.pid, id), pid: c.pid, domain: domain, stype: stype & 0xf, proto: proto,
		transport: trans, netProto: np, done: make(chan struct{}), txDone: make(chan struct{}), rxRoom: make(chan struct{}, 1), log: s.log, opts: map[[2]int32][]byte{},
		memfd: -1, rxfd: -1, spacefd: -1}
	k.shutdown = func() {
		// A ring the client broke ends the socket; the client then gets
		// errors from its control calls (EBADF) and no more data.
		k.close()
	}
	if err := k.newShared(s.opts.RingSize); err != nil {
		s.log.Warn("socket shared memory", zap.Error(err))
		k.release()
		return fail(unix.ENOMEM)
	}
	c.socks[id] = k
	s.mu.Lock()
	k.holders = 1
	s.socks[k.key] = k
	s.ids[id] = k
	s.mu.Unlock()
	return k, 0
}

// pick chooses the interface a socket goes out of: the device it is
// bound to, else the one holding its local address, else one with a
// route to the destination (preferring one that does not hold the
// destination itself, so the traffic crosses a port), else the first
// interface of the socket's family.
func (c *client) pick(k *sock, local, dst netip.Addr) (*stack.Interface, unix.Errno) {
	st := c.srv.stack
	k.mu.Lock()
	dev := k.bindDev
	k.mu.Unlock()
	if dev != "" {
		it, err := st.Get(dev)
		if err != nil {
			return nil, unix.ENODEV
		}
		return it, 0
	}
	v4 := k.domain == unix.AF_INET
	has := func(it *stack.Interface) bool {
		if v4 {
			return it.Config.IPv4 != nil
		}
		return it.Config.IPv6 != nil
	}
	if local.IsValid() && !local.IsUnspecified() {
		f := stack.Filter{IPv6: local}
		if local.Unmap().Is4() {
			f = stack.Filter{IPv4: local.Unmap()}
		}
		if its := st.List(f); len(its) > 0 {
			return its[0], 0
		}
		return nil, unix.EADDRNOTAVAIL
	}
	all := st.List(stack.Filter{})
	if dst.IsValid() {
		d := dst
		if v4 {
			d = d.Unmap()
		}
		var owner *stack.Interface
		for _, it := range all {
			if !has(it) {
				continue
			}
			gv, nic := it.GVisor()
			r, e := gv.FindRoute(nic, tcpip.Address{}, tcpip.AddrFromSlice(d.AsSlice()), k.netProto, false)
			if e != nil {
				continue
			}
			r.Release()
			f := stack.Filter{IPv6: d}
			if d.Is4() {
				f = stack.Filter{IPv4: d}
			}
			if owns := st.List(f); len(owns) > 0 && owns[0] == it {
				owner = it
				continue
			}
			return it, 0
		}
		if owner != nil {
			return owner, 0
		}
		return nil, unix.ENETUNREACH
	}
	for _, it := range all {
		if has(it) {
			return it, 0
		}
	}
	return nil, unix.EADDRNOTAVAIL
}

func (c *client) bind(k *sock, ap netip.AddrPort) (reply, []int) {
	if ep := k.endpoint(); ep != nil {
		// Attached already (by SO_BINDTODEVICE only attaching lazily, this
		// is a second bind): gVisor says what is allowed.
		if e := ep.Bind(k.fullAddress(ap)); e != nil {
			return fail(errnoOf(e))
		}
		return reply{}, nil
	}
	it, errno := c.pick(k, ap.Addr(), netip.Addr{})
	if errno != 0 {
		return fail(errno)
	}
	return fail(k.attach(it, ap))
}

func (c *client) connect(k *sock, family int, ap netip.AddrPort, attachOnly bool) (reply, []int) {
	ep := k.endpoint()
	if family == unix.AF_UNSPEC {
		if ep != nil && !attachOnly {
			_ = ep.Disconnect()
		}
		return reply{}, nil
	}
	if ep == nil {
		it, errno := c.pick(k, netip.Addr{}, ap.Addr())
		if errno != 0 {
			return fail(errno)
		}
		if errno := k.attach(it, netip.AddrPort{}); errno != 0 {
			return fail(errno)
		}
		ep = k.endpoint()
	}
	if attachOnly {
		return reply{}, nil
	}
	if k.stream() {
		return fail(k.connectStream(ep, k.fullAddress(ap)))
	}
	if e := ep.Connect(k.fullAddress(ap)); e != nil {
		return fail(errnoOf(e))
	}
	return reply{}, nil
}

func (c *client) name(k *sock, peer bool) (reply, []int) {
	ep := k.endpoint()
	if ep == nil {
		if peer {
			return fail(unix.ENOTCONN)
		}
		return reply{data: sockaddr(k.domain, netip.AddrPort{})}, nil
	}
	get := ep.GetLocalAddress
	if peer {
		get = ep.GetRemoteAddress
	}
	fa, e := get()
	if e != nil {
		return fail(errnoOf(e))
	}
	return reply{data: sockaddr(k.domain, addrPort(fa))}, nil
}

func (c *client) setsockopt(k *sock, level, name int32, val []byte) unix.Errno {
	if level == unix.SOL_SOCKET && name == unix.SO_BINDTODEVICE {
		dev := string(bytes.TrimRight(val, "\x00"))
		if i := bytes.IndexByte([]byte(dev), 0); i >= 0 {
			dev = dev[:i]
		}
		k.mu.Lock()
		it := k.iface
		k.mu.Unlock()
		if dev == "" {
			k.mu.Lock()
			k.bindDev = ""
			k.mu.Unlock()
			return 0
		}
		if _, err := c.srv.stack.Get(dev); err != nil {
			return unix.ENODEV
		}
		if it != nil && it.ID != dev {
			return unix.EINVAL // moving an attached socket to another interface: not yet
		}
		k.mu.Lock()
		k.bindDev = dev
		k.mu.Unlock()
		return 0
	}
	// Everything else (buffer sizes, timeouts, TTL, IP_RECVERR, ...) is
	// accepted and remembered for getsockopt; the few gVisor implements
	// (SO_REUSEADDR, SO_KEEPALIVE, TCP_NODELAY, SO_LINGER) reach the
	// endpoint too, now or when it is made.
	if ep := k.endpoint(); ep != nil {
		applyOption(ep, level, name, val)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	key := [2]int32{level, name}
	if _, ok := k.opts[key]; !ok && len(k.opts) >= maxOptions {
		return unix.ENOMEM
	}
	k.opts[key] = bytes.Clone(val)
	return 0
}

func (c *client) getsockopt(k *sock, level, name int32, size int) (reply, []int) {
	i32 := func(v int32) (reply, []int) {
		b := binary.NativeEndian.AppendUint32(nil, uint32(v))
		return reply{val: 4, data: b}, nil
	}
	k.mu.Lock()
	stored, ok := k.opts[[2]int32{level, name}]
	dev := k.bindDev
	k.mu.Unlock()
	if level == unix.SOL_SOCKET {
		switch name {
		case unix.SO_TYPE:
			return i32(int32(k.stype))
		case unix.SO_DOMAIN:
			return i32(int32(k.domain))
		case unix.SO_PROTOCOL:
			p := k.proto
			if p == 0 && k.stream() {
				p = unix.IPPROTO_TCP
			} else if p == 0 {
				p = unix.IPPROTO_UDP
			}
			return i32(int32(p))
		case unix.SO_ERROR:
			return i32(0) // a stream's is in shared memory: the shim answers
		case unix.SO_ACCEPTCONN:
			k.mu.Lock()
			l := k.listening
			k.mu.Unlock()
			if l {
				return i32(1)
			}
			return i32(0)
		case unix.SO_BINDTODEVICE:
			return reply{val: int32(len(dev) + 1), data: append([]byte(dev), 0)}, nil
		case unix.SO_RCVBUF, unix.SO_SNDBUF:
			if !ok {
				return i32(int32(c.srv.opts.RingSize))
			}
		}
	}
	if level == unix.IPPROTO_TCP && k.stream() && !ok {
		if r, ok := tcpOption(k, name, size); ok {
			return r, nil
		}
	}
	if !ok {
		return fail(unix.ENOPROTOOPT)
	}
	return reply{val: int32(len(stored)), data: stored}, nil
}

func (c *client) listen(k *sock, backlog int) (reply, []int) {
	if !k.stream() {
		return fail(unix.EOPNOTSUPP)
	}
	ep := k.endpoint()
	if ep == nil {
		// Not bound: the first interface of the family, any port.
		it, errno := c.pick(k, netip.Addr{}, netip.Addr{})
		if errno != 0 {
			return fail(errno)
		}
		if errno := k.attach(it, netip.AddrPort{}); errno != 0 {
			return fail(errno)
		}
		ep = k.endpoint()
	}
	return fail(k.listen(ep, backlog))
}

// accept answers at once: a new socket, or EAGAIN (the shim waits on the
// listener's eventfd, which the listener's watcher writes).
func (c *client) accept(k *sock) (reply, []int) {
	k.mu.Lock()
	ep, it, l := k.ep, k.iface, k.listening
	k.mu.Unlock()
	if ep == nil || !l {
		return fail(unix.EINVAL)
	}
	var peer tcpip.FullAddress
	nep, nq, e := ep.Accept(&peer)
	if e != nil {
		if _, wb := e.(*tcpip.ErrWouldBlock); wb {
			return fail(unix.EAGAIN)
		}
		return fail(errnoOf(e))
	}
	if ep.Readiness(waiter.ReadableEvents) != 0 {
		_, _ = unix.Write(k.rxfd, one) // more wait: the shim cleared the eventfd before it asked
	}
	n, errno := c.newSock(k.domain, k.stype, k.proto, k.transport, k.netProto)
	if errno != 0 {
		nep.Close()
		return fail(errno)
	}
	n.mu.Lock()
	n.q, n.ep, n.iface = nq, nep, it
	n.mu.Unlock()
	n.startTx()
	n.connected(nep)
	return reply{val: int32(n.id), data: peerOf(k.domain, peer)}, []int{n.memfd, n.rxfd, n.txfd, n.spacefd}
}
