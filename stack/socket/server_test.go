package socket

import (
	"bytes"
	"encoding/binary"
	"net"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// testServer runs a server without a stack: enough for everything
// before a socket attaches to an interface.
func testServer(t *testing.T) *Server {
	t.Helper()
	srv, err := New(nil, Options{Dir: t.TempDir(), Prefix: "unit", RingSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func dial(t *testing.T, srv *Server) *net.UnixConn {
	t.Helper()
	c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: srv.Addr(), Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// call sends a request and returns the reply's error, value, data and fds.
func call(t *testing.T, c *net.UnixConn, msg []byte) (unix.Errno, int32, []byte, []int) {
	t.Helper()
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	buf, oob := make([]byte, replySize+1), make([]byte, unix.CmsgSpace(4*4))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil || n != replySize {
		t.Fatalf("reply: %d bytes, %v", n, err)
	}
	var fds []int
	if msgs, _ := unix.ParseSocketControlMessage(oob[:oobn]); len(msgs) > 0 {
		fds, _ = unix.ParseUnixRights(&msgs[0])
	}
	le := binary.NativeEndian
	return unix.Errno(le.Uint32(buf)), int32(le.Uint32(buf[8:])), buf[16 : 16+le.Uint32(buf[12:])], fds
}

func TestSocketGetsSharedMemoryAndEventfds(t *testing.T) {
	srv := testServer(t)
	c := dial(t, srv)
	errno, sid, _, fds := call(t, c, encodeRequest(opSocket, 0, unix.AF_INET, unix.SOCK_DGRAM, 0, nil))
	if errno != 0 || sid <= 0 || len(fds) != 4 {
		t.Fatalf("socket: errno %v sid %d fds %v", errno, sid, fds)
	}
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	mem, err := unix.Mmap(fds[0], 0, offData+2*4096, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	if binary.NativeEndian.Uint32(mem[offMagic:]) != magicValue || binary.NativeEndian.Uint32(mem[offRingSize:]) != 4096 {
		t.Fatal("shared memory header")
	}
	if l := srv.List(); len(l) != 1 || l[0].State != "open" || !strings.HasSuffix(l[0].ID, "-1") {
		t.Fatalf("list: %+v", l)
	}
	// Options are remembered; the socket's own facts are answered.
	if errno, _, _, _ := call(t, c, encodeRequest(opSetsockopt, uint32(sid), unix.SOL_IP, unix.IP_TTL, 0, []byte{64, 0, 0, 0})); errno != 0 {
		t.Fatalf("setsockopt: %v", errno)
	}
	if errno, n, data, _ := call(t, c, encodeRequest(opGetsockopt, uint32(sid), unix.SOL_IP, unix.IP_TTL, 4, nil)); errno != 0 || n != 4 || data[0] != 64 {
		t.Fatalf("getsockopt IP_TTL: %v %d % x", errno, n, data)
	}
	if errno, _, data, _ := call(t, c, encodeRequest(opGetsockopt, uint32(sid), unix.SOL_SOCKET, unix.SO_TYPE, 4, nil)); errno != 0 || data[0] != unix.SOCK_DGRAM {
		t.Fatalf("getsockopt SO_TYPE: %v % x", errno, data)
	}
	if errno, _, _, _ := call(t, c, encodeRequest(opGetpeername, uint32(sid), 0, 0, 0, nil)); errno != unix.ENOTCONN {
		t.Fatalf("getpeername before connect: %v", errno)
	}
	if errno, _, _, _ := call(t, c, encodeRequest(opBind, 999, 0, 0, 0, nil)); errno != unix.EBADF {
		t.Fatalf("bind on an unknown socket: %v", errno)
	}
	if errno, _, _, _ := call(t, c, encodeRequest(opSocket, 0, unix.AF_INET, unix.SOCK_SEQPACKET, 0, nil)); errno != unix.EPROTONOSUPPORT {
		t.Fatalf("seqpacket socket: %v", errno)
	}
	if errno, _, _, _ := call(t, c, encodeRequest(opSocket, 0, unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_UDP, nil)); errno != unix.EPROTONOSUPPORT {
		t.Fatalf("stream socket of UDP: %v", errno)
	}
	// A TCP socket: its facts, and the calls that need an interface or a
	// listener refused (this server has no stack), not crashed on.
	errno, tsid, _, tfds := call(t, c, encodeRequest(opSocket, 0, unix.AF_INET6, unix.SOCK_STREAM, 0, nil))
	if errno != 0 || len(tfds) != 4 {
		t.Fatalf("stream socket: %v %v", errno, tfds)
	}
	for _, fd := range tfds {
		unix.Close(fd)
	}
	if errno, _, data, _ := call(t, c, encodeRequest(opGetsockopt, uint32(tsid), unix.SOL_SOCKET, unix.SO_PROTOCOL, 4, nil)); errno != 0 || data[0] != unix.IPPROTO_TCP {
		t.Fatalf("getsockopt SO_PROTOCOL: %v % x", errno, data)
	}
	if errno, _, _, _ := call(t, c, encodeRequest(opAccept, uint32(tsid), 0, 0, 0, nil)); errno != unix.EINVAL {
		t.Fatalf("accept on a socket that does not listen: %v", errno)
	}
	if errno, _, _, _ := call(t, c, encodeRequest(opListen, uint32(sid), 5, 0, 0, nil)); errno != unix.EOPNOTSUPP {
		t.Fatalf("listen on a datagram socket: %v", errno)
	}
	if errno, _, _, _ := call(t, c, encodeRequest(opClose, uint32(tsid), 0, 0, 0, nil)); errno != 0 {
		t.Fatalf("close: %v", errno)
	}
	if errno, _, _, _ := call(t, c, encodeRequest(opClose, uint32(sid), 0, 0, 0, nil)); errno != 0 {
		t.Fatalf("close: %v", errno)
	}
	if l := srv.List(); len(l) != 0 {
		t.Fatalf("after close: %+v", l)
	}
}

func TestClientGoneClosesItsSockets(t *testing.T) {
	for _, c := range []struct {
		name string
		end  func(c *net.UnixConn)
	}{
		{"disconnect", func(c *net.UnixConn) { c.Close() }},
		{"malformed request", func(c *net.UnixConn) { _, _ = c.Write([]byte("not a request")) }},
		{"oversized request", func(c *net.UnixConn) { _, _ = c.Write(make([]byte, requestSize+100)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			srv := testServer(t)
			conn := dial(t, srv)
			for range 3 {
				_, _, _, fds := call(t, conn, encodeRequest(opSocket, 0, unix.AF_INET6, unix.SOCK_DGRAM, unix.IPPROTO_ICMPV6, nil))
				for _, fd := range fds {
					unix.Close(fd)
				}
			}
			if n := len(srv.List()); n != 3 {
				t.Fatalf("%d sockets", n)
			}
			c.end(conn)
			deadline := time.Now().Add(5 * time.Second)
			for len(srv.List()) != 0 {
				if time.Now().After(deadline) {
					t.Fatalf("sockets left: %+v", srv.List())
				}
				time.Sleep(10 * time.Millisecond)
			}
			srv.Close()
			for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if n := runtime.NumGoroutine(); n > before {
				t.Fatalf("%d goroutines, %d before", n, before)
			}
		})
	}
}

// A forked child's connection holds its parent's socket with the token
// from the shared memory; the socket lasts until both let go, and a
// wrong token or an unknown socket is refused.
func TestHeldSocketClosesWithItsLastHolder(t *testing.T) {
	srv := testServer(t)
	parent, child := dial(t, srv), dial(t, srv)
	errno, sid, _, fds := call(t, parent, encodeRequest(opSocket, 0, unix.AF_INET, unix.SOCK_STREAM, 0, nil))
	if errno != 0 || len(fds) != 4 {
		t.Fatalf("socket: %v %v", errno, fds)
	}
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	mem, err := unix.Mmap(fds[0], 0, offData, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	token := append([]byte{}, mem[offToken:offToken+tokenSize]...)
	if bytes.Equal(token, make([]byte, tokenSize)) {
		t.Fatal("no token in the shared memory")
	}
	wrong := append([]byte{}, token...)
	wrong[0] ^= 1
	if e, _, _, _ := call(t, child, encodeRequest(opHold, uint32(sid), 0, 0, 0, wrong)); e != unix.EBADF {
		t.Fatalf("hold with a wrong token: %v, want EBADF", e)
	}
	if e, _, _, _ := call(t, child, encodeRequest(opHold, uint32(sid)+100, 0, 0, 0, token)); e != unix.EBADF {
		t.Fatalf("hold of an unknown socket: %v, want EBADF", e)
	}
	if e, _, _, _ := call(t, child, encodeRequest(opGetsockname, uint32(sid), 0, 0, 0, nil)); e != unix.EBADF {
		t.Fatalf("getsockname before hold: %v, want EBADF", e)
	}
	for range 2 { // a second hold changes nothing
		if e, _, _, _ := call(t, child, encodeRequest(opHold, uint32(sid), 0, 0, 0, token)); e != 0 {
			t.Fatalf("hold: %v", e)
		}
	}
	if e, _, _, _ := call(t, child, encodeRequest(opGetsockname, uint32(sid), 0, 0, 0, nil)); e != 0 {
		t.Fatalf("getsockname after hold: %v", e)
	}
	if e, _, _, _ := call(t, parent, encodeRequest(opClose, uint32(sid), 0, 0, 0, nil)); e != 0 {
		t.Fatalf("parent's close: %v", e)
	}
	if l := srv.List(); len(l) != 1 || l[0].State == "closed" {
		t.Fatalf("after the parent's close: %+v", l)
	}
	if e, _, _, _ := call(t, parent, encodeRequest(opGetsockname, uint32(sid), 0, 0, 0, nil)); e != unix.EBADF {
		t.Fatalf("parent's getsockname after its close: %v, want EBADF", e)
	}
	child.Close() // the child dies
	deadline := time.Now().Add(5 * time.Second)
	for len(srv.List()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("sockets left: %+v", srv.List())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if closed := binary.NativeEndian.Uint32(mem[offClosed:]); closed != 1 {
		t.Fatal("the socket's memory does not say closed")
	}
}

// A connection passes to a forked child of its process (opHello): the
// sockets it makes then carry the child's pid; another process's pid is
// refused.
func TestHelloTakesOnlyAChildOfTheConnectionsProcess(t *testing.T) {
	srv := testServer(t)
	c := dial(t, srv)
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	for _, pid := range []int32{1, 0, -5} {
		if e, _, _, _ := call(t, c, encodeRequest(opHello, 0, pid, 0, 0, nil)); e == 0 {
			t.Fatalf("hello as pid %d taken", pid)
		}
	}
	if e, _, _, _ := call(t, c, encodeRequest(opHello, 0, int32(child.Process.Pid), 0, 0, nil)); e != 0 {
		t.Fatalf("hello as our child %d: %v", child.Process.Pid, e)
	}
	_, _, _, fds := call(t, c, encodeRequest(opSocket, 0, unix.AF_INET, unix.SOCK_DGRAM, 0, nil))
	for _, fd := range fds {
		unix.Close(fd)
	}
	if l := srv.List(); len(l) != 1 || l[0].PID != int32(child.Process.Pid) || !strings.HasPrefix(l[0].ID, strconv.Itoa(child.Process.Pid)+"-") {
		t.Fatalf("list: %+v, want pid %d", l, child.Process.Pid)
	}
}

func TestStaleControlSocketIsReplacedLiveOneIsNot(t *testing.T) {
	dir := t.TempDir()
	// A file where the socket goes (an instance killed with -9 leaves one).
	path := filepath.Join(dir, "server.p")
	l, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	srv, err := New(nil, Options{Dir: dir, Prefix: "p"})
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	defer srv.Close()
	if _, err := New(nil, Options{Dir: dir, Prefix: "p"}); err == nil || !strings.Contains(err.Error(), "force-unlink") {
		t.Fatalf("second server on a live socket: %v", err)
	}
	other, err := New(nil, Options{Dir: dir, Prefix: "p", ForceUnlink: true})
	if err != nil {
		t.Fatalf("force-unlink: %v", err)
	}
	other.Close()
}
