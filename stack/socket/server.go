package socket

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/stack"
)

// Dir is where the control socket lives, OpenPerf's directory, so the
// shim finds a daemon the way OpenPerf's shim does.
const Dir = "/tmp/.com.spirent.openperf"

// Limits keep one client from taking the daemon's memory.
const (
	maxSocketsPerClient = 256
	maxSockets          = 1024 // with 256 KiB rings, at most 0.5 GiB of shared memory
	maxOptions          = 64   // options a socket remembers for getsockopt
	defaultRingSize     = 256 << 10
	replyTimeout        = 5 * time.Second
)

// Options configure the server.
type Options struct {
	// Prefix is the instance prefix; the control socket is
	// <Dir>/server.<Prefix>.
	Prefix string
	// Dir overrides Dir (tests).
	Dir string
	// ForceUnlink removes an existing control socket even when another
	// process still answers on it (--modules.socket.force-unlink); a
	// stale one is always removed.
	ForceUnlink bool
	// RingSize is each ring's size in bytes, a power of two; 256 KiB if 0.
	RingSize int
	Log      *zap.Logger
}

// Server accepts shim clients. Its methods are safe for concurrent use.
type Server struct {
	stack *stack.Stack
	opts  Options
	log   *zap.Logger
	path  string
	ln    *net.UnixListener
	sids  atomic.Uint32
	wg    sync.WaitGroup

	mu      sync.Mutex // guards below, and every sock's holders
	socks   map[string]*sock
	ids     map[uint32]*sock // socks by socket id, for opHold
	clients map[*client]bool
	closed  bool
}

// Path is the control socket of an instance prefix in dir.
func Path(dir, prefix string) string {
	name := "server"
	if prefix != "" {
		name += "." + prefix
	}
	return filepath.Join(dir, name)
}

// New listens on the control socket. Serving starts at once.
func New(st *stack.Stack, opts Options) (*Server, error) {
	if opts.Dir == "" {
		opts.Dir = Dir
	}
	if opts.RingSize == 0 {
		opts.RingSize = defaultRingSize
	}
	if opts.RingSize < 4096 || opts.RingSize&(opts.RingSize-1) != 0 {
		return nil, fmt.Errorf("socket ring size %d: a power of two >= 4096", opts.RingSize)
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	s := &Server{stack: st, opts: opts, log: opts.Log, path: Path(opts.Dir, opts.Prefix),
		socks: map[string]*sock{}, ids: map[uint32]*sock{}, clients: map[*client]bool{}}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("socket directory: %w", err)
	}
	if err := s.clearPath(); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: s.path, Net: "unixpacket"})
	if err != nil {
		return nil, fmt.Errorf("socket server on %s: %w", s.path, err)
	}
	ln.SetUnlinkOnClose(true)
	// Any local user's program may use the interfaces, as with OpenPerf.
	_ = os.Chmod(s.path, 0o666)
	s.ln = ln
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// clearPath removes a control socket a dead instance left, or, with
// ForceUnlink, a live one.
func (s *Server) clearPath() error {
	if _, err := os.Lstat(s.path); err != nil {
		return nil
	}
	if !s.opts.ForceUnlink {
		if c, err := net.DialTimeout("unixpacket", s.path, time.Second); err == nil {
			c.Close()
			return fmt.Errorf("socket server %s: another process serves it (--modules.socket.force-unlink takes it over)", s.path)
		}
	}
	if err := os.Remove(s.path); err != nil {
		return fmt.Errorf("remove stale %s: %w", s.path, err)
	}
	s.log.Info("removed a stale socket server file", zap.String("path", s.path))
	return nil
}

// Addr is the control socket's path.
func (s *Server) Addr() string { return s.path }

// Close stops accepting, closes every client and its sockets.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	cs := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	err := s.ln.Close()
	for _, c := range cs {
		c.conn.Close() // its goroutine closes its sockets
	}
	s.wg.Wait()
	return err
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("socket server accept", zap.Error(err))
			time.Sleep(10 * time.Millisecond)
			continue
		}
		c := &client{srv: s, conn: conn, socks: map[uint32]*sock{}, pid: peerPID(conn)}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			return
		}
		s.clients[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go c.serve()
	}
}

func peerPID(conn *net.UnixConn) int32 {
	rc, err := conn.SyscallConn()
	if err != nil {
		return 0
	}
	var pid int32
	_ = rc.Control(func(fd uintptr) {
		if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
			pid = cred.Pid
		}
	})
	return pid
}

// Stats describe one socket, as /sockets shows it.
type Stats struct {
	ID          string
	PID         int32
	SID         int32
	IfIndex     int32
	InterfaceID string
	Protocol    string // ip, tcp, udp, raw (ICMP datagram sockets)
	ProtocolID  int32
	RxqBytes    int64
	TxqBytes    int64
	Local       netip.AddrPort
	Remote      netip.AddrPort
	State       string
	RxDrops     uint64
	TxErrors    uint64
}

// List returns every socket, by process then socket id.
func (s *Server) List() []Stats {
	s.mu.Lock()
	ks := make([]*sock, 0, len(s.socks))
	for _, k := range s.socks {
		ks = append(ks, k)
	}
	s.mu.Unlock()
	sort.Slice(ks, func(i, j int) bool { return ks[i].id < ks[j].id })
	out := make([]Stats, 0, len(ks))
	for _, k := range ks {
		out = append(out, k.stats())
	}
	return out
}

// Get returns one socket.
func (s *Server) Get(id string) (Stats, error) {
	s.mu.Lock()
	k, ok := s.socks[id]
	s.mu.Unlock()
	if !ok {
		return Stats{}, fmt.Errorf("socket %s: %w", id, packetio.ErrNotFound)
	}
	return k.stats(), nil
}

func (k *sock) stats() Stats {
	st := Stats{ID: k.key, PID: k.pid, SID: int32(k.id), Protocol: "udp", State: "open",
		RxDrops: k.rxDrops.Load(), TxErrors: k.txErrors.Load()}
	switch k.proto {
	case unix.IPPROTO_ICMP, unix.IPPROTO_ICMPV6:
		st.Protocol, st.ProtocolID = "raw", int32(k.proto)
	}
	if k.stream() {
		st.Protocol = "tcp"
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		st.State = "closed"
		return st
	}
	st.RxqBytes, st.TxqBytes = int64(k.rx.queued(true)), int64(k.tx.queued(false))
	if k.iface != nil {
		_, nic := k.iface.GVisor()
		st.IfIndex, st.InterfaceID, st.State = int32(nic), k.iface.ID, "bound"
	}
	if k.ep != nil {
		if fa, e := k.ep.GetLocalAddress(); e == nil {
			st.Local = addrPort(fa)
		}
		if fa, e := k.ep.GetRemoteAddress(); e == nil {
			st.Remote, st.State = addrPort(fa), "connected"
		}
	}
	return st
}

func (k *sock) String() string { return k.key }

func sockKey(pid int32, id uint32) string {
	return strconv.Itoa(int(pid)) + "-" + strconv.FormatUint(uint64(id), 10)
}
