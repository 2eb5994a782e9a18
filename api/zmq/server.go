package zmq

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"
)

const (
	// closeWait bounds how long Close waits for the requests in flight.
	closeWait = 2 * time.Second
	// maxUnixPath is the size of sun_path on Linux, less its NUL.
	maxUnixPath = 107
	// lingerTime and lingerBytes bound how long and how much of an
	// oversized message is read and dropped after its 413, so that the
	// reply reaches the peer before the connection is closed (closing
	// with unread input would reset it and lose the reply).
	lingerTime  = time.Second
	lingerBytes = 16 << 20
	// warnEvery rate-limits the warnings a flood of peers could cause.
	warnEvery = 10 * time.Second
	// maxAcceptBackoff bounds the wait after a failed accept (e.g. out
	// of file descriptors).
	maxAcceptBackoff = time.Second
)

// Limits bounds what peers can make the server hold or wait for. A zero
// field takes its value from DefaultLimits.
type Limits struct {
	// MaxMessageSize bounds one request, in bytes of its frames and their
	// headers. A larger request is answered 413 and its connection closed
	// before the rest of it is read.
	MaxMessageSize int64
	// MaxConns bounds the open connections. A connection beyond it takes
	// the place of the one idle the longest (waiting for its next request,
	// or still in its handshake), which is closed; if every connection is
	// in the middle of a request, the new one is closed instead. So idle
	// or half-open connections, a careless or hostile peer's, never lock
	// other clients out.
	MaxConns int
	// Workers is how many requests run at once.
	Workers int
	// Queue is how many more requests may wait for a worker; a request
	// beyond that is answered 503 at once.
	Queue int
	// HandshakeTimeout bounds the ZMTP greeting and READY exchange.
	HandshakeTimeout time.Duration
	// ReadTimeout bounds each wait for more of a request that has begun
	// (a connection between requests may stay idle).
	ReadTimeout time.Duration
	// WriteTimeout bounds sending a reply to a peer that does not read.
	WriteTimeout time.Duration
}

// DefaultLimits are the limits of a zero Limits field. The message size
// is the REST body limit.
var DefaultLimits = Limits{
	MaxMessageSize:   256 << 20,
	MaxConns:         256,
	Workers:          8,
	Queue:            64,
	HandshakeTimeout: 5 * time.Second,
	ReadTimeout:      30 * time.Second,
	WriteTimeout:     10 * time.Second,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	d.MaxMessageSize = positiveOr(l.MaxMessageSize, d.MaxMessageSize)
	d.MaxConns = positiveOr(l.MaxConns, d.MaxConns)
	d.Workers = positiveOr(l.Workers, d.Workers)
	d.Queue = positiveOr(l.Queue, d.Queue)
	d.HandshakeTimeout = positiveOr(l.HandshakeTimeout, d.HandshakeTimeout)
	d.ReadTimeout = positiveOr(l.ReadTimeout, d.ReadTimeout)
	d.WriteTimeout = positiveOr(l.WriteTimeout, d.WriteTimeout)
	return d
}

// positiveOr is v when it is set (positive), else def.
func positiveOr[T ~int | ~int64](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// Server answers API requests as a ZeroMQ REP socket (ZMTP 3.x, NULL
// mechanism; REQ and DEALER peers) by running each through the REST
// server's http.Handler in-process, so validation, error bodies and status
// codes are those of REST.
//
// A request is one JSON message
//
//	{"operation": "<operationId>", "params": {...}, "body": <JSON>}
//
// where params holds the path parameters of the operation (required) and
// its query parameters (arrays become repeated keys); body, if present and
// not null, is sent as the JSON request body. The reply is
//
//	{"code": <HTTP status>, "body": <JSON response body, or null>}
//
// with, for a response body that is not JSON, body a string (base64 when
// "encoding" is "base64") and "content_type" set. Errors of the ZeroMQ
// layer itself use the same shape: body {"code", "message"}: 400 for a
// request of more than one frame, 413 for one over the size limit, 503
// when the request queue is full.
//
// Each connection has its own goroutine, which reads a request, runs it
// (at most Limits.Workers at once, Limits.Queue more waiting) and writes
// the reply back on that connection, so a peer that is slow to send, to
// read or to be served holds up only itself.
type Server struct {
	*dispatcher
	lim      Limits
	ln       net.Listener // nil for a server without a socket (tests)
	endpoint string       // as bound (tcp port 0 resolved)
	ipcPath  string       // socket file for ipc endpoints, "" otherwise

	ctx    context.Context // requests in flight; cancelled by Close
	cancel context.CancelFunc

	admit chan struct{} // a token per request running or waiting: Workers+Queue
	run   chan struct{} // a token per request running: Workers

	mu     sync.Mutex
	conns  map[net.Conn]*connState // open connections; guarded by mu
	closed bool                    // no more connections; guarded by mu
	wg     sync.WaitGroup          // one per connection goroutine

	lastWarn  atomic.Int64 // time of the last rate-limited warning (UnixNano)
	serving   atomic.Bool
	served    chan struct{} // closed when Serve returns
	closeOnce sync.Once
	closeErr  error
}

// New builds the operation table from the embedded spec and binds a REP
// socket on endpoint: "ipc:///path/to.sock" (the directory is created if
// missing; a stale socket file nobody listens on is removed first, and the
// file is removed again on Close) or "tcp://host:port" (port 0 picks a
// free port; see Addr; host "*" is every address). Requests are answered
// once Serve runs, within lim (zero fields: DefaultLimits).
func New(handler http.Handler, endpoint string, log *zap.Logger, lim Limits) (*Server, error) {
	s, err := newServer(handler, log, lim)
	if err != nil {
		return nil, err
	}
	network, addr, ok := strings.Cut(endpoint, "://")
	if !ok || addr == "" {
		return nil, fmt.Errorf("zmq: endpoint %q: want ipc:///path or tcp://host:port", endpoint)
	}
	switch network {
	case "ipc":
		if s.ipcPath, err = prepareIPC(addr); err != nil {
			return nil, fmt.Errorf("zmq: endpoint %s: %w", endpoint, err)
		}
		s.ln, err = net.Listen("unix", addr)
	case "tcp":
		host, port, e := net.SplitHostPort(addr)
		if e != nil {
			return nil, fmt.Errorf("zmq: endpoint %s: %w", endpoint, e)
		}
		if host == "*" {
			host = ""
		}
		s.ln, err = net.Listen("tcp", net.JoinHostPort(host, port))
	default:
		return nil, fmt.Errorf("zmq: endpoint %s: transport %q not supported, want ipc or tcp", endpoint, network)
	}
	if err != nil {
		return nil, fmt.Errorf("zmq: bind %s: %w", endpoint, err)
	}
	s.endpoint = endpoint
	if network == "tcp" {
		s.endpoint = "tcp://" + s.ln.Addr().String()
	}
	s.log.Info("zmq API listening", zap.String("endpoint", s.endpoint), zap.Int("operations", len(s.ops)),
		zap.Int64("max_message_size", s.lim.MaxMessageSize), zap.Int("max_conns", s.lim.MaxConns),
		zap.Int("workers", s.lim.Workers), zap.Int("queue", s.lim.Queue))
	return s, nil
}

// newServer is a Server without a socket; connections are handed to it
// with serveConn.
func newServer(handler http.Handler, log *zap.Logger, lim Limits) (*Server, error) {
	if log == nil {
		log = zap.NewNop()
	}
	log = log.With(zap.String("component", "zmq"))
	d, err := newDispatcher(handler, log)
	if err != nil {
		return nil, err
	}
	lim = lim.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{dispatcher: d, lim: lim, ctx: ctx, cancel: cancel,
		admit: make(chan struct{}, lim.Workers+lim.Queue), run: make(chan struct{}, lim.Workers),
		conns: make(map[net.Conn]*connState), served: make(chan struct{})}, nil
}

// prepareIPC makes sure path can be bound: its directory exists and a
// stale socket file is gone. A socket someone still listens on, or a file
// that is not a socket, is left alone and is an error.
func prepareIPC(path string) (string, error) {
	if strings.HasPrefix(path, "@") { // Linux abstract socket: no file
		return "", nil
	}
	if len(path) > maxUnixPath {
		return "", fmt.Errorf("socket path is %d bytes, at most %d fit", len(path), maxUnixPath)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return path, nil
	}
	if err != nil {
		return "", err
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return "", fmt.Errorf("%s exists and is not a socket", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return "", fmt.Errorf("%s is in use by another process", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return "", fmt.Errorf("%s exists and cannot be checked: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("remove stale socket: %w", err)
	}
	return path, nil
}

// Addr is the endpoint the socket is bound to, e.g. "tcp://127.0.0.1:41234"
// for "tcp://127.0.0.1:0".
func (s *Server) Addr() string { return s.endpoint }

// Serve accepts connections until ctx is done or Close is called; either
// way it closes the socket and returns nil. Serve may run only once.
func (s *Server) Serve(ctx context.Context) error {
	if !s.serving.CompareAndSwap(false, true) {
		return errors.New("zmq: Serve called twice")
	}
	defer close(s.served)
	if s.ln == nil {
		return errors.New("zmq: Serve on a server without a socket")
	}
	stop := context.AfterFunc(ctx, func() { _ = s.shutdown() })
	defer stop()
	var backoff time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors, or the like: not this
			// listener's end. Wait, so as not to spin, and go on.
			backoff = min(max(2*backoff, 5*time.Millisecond), maxAcceptBackoff)
			s.warn("zmq: accept failed; retrying", zap.Error(err), zap.Duration("backoff", backoff))
			select {
			case <-time.After(backoff):
			case <-s.ctx.Done():
				return nil
			}
			continue
		}
		backoff = 0
		st, ok := s.track(c)
		if !ok {
			continue
		}
		go s.serveConn(c, st)
	}
}

// connState is what track needs to know of a connection to pick one to
// close when the server is full.
type connState struct {
	// idleSince is when the connection last went idle (arrived, or
	// finished a reply), Unix ns; 0 while a request is being read, run or
	// answered.
	idleSince atomic.Int64
}

// track registers a new connection, making room by closing the connection
// idle the longest when MaxConns are open; it closes c instead if the
// server is closed, or full of connections in the middle of requests.
func (s *Server) track(c net.Conn) (*connState, bool) {
	st := &connState{}
	st.idleSince.Store(time.Now().UnixNano())
	s.mu.Lock()
	closed, full := s.closed, len(s.conns) >= s.lim.MaxConns
	var evicted net.Conn
	if !closed && full {
		if evicted = s.idlest(); evicted != nil {
			delete(s.conns, evicted) // its serveConn's delete is then a no-op
			full = false
		}
	}
	if !closed && !full {
		s.conns[c] = st
		s.wg.Add(1)
	}
	s.mu.Unlock()
	if evicted != nil {
		_ = evicted.Close() // ends its serveConn's read
		s.warn("zmq: connection limit reached; closed the connection idle the longest for a new one",
			zap.Int("max_conns", s.lim.MaxConns), zap.String("closed", peerName(evicted)))
	}
	if closed || full {
		_ = c.Close()
		if full {
			s.warn("zmq: connection limit reached and every connection busy; closing new connections", zap.Int("max_conns", s.lim.MaxConns))
		}
		return nil, false
	}
	return st, true
}

// idlest returns the open connection idle the longest, nil if all are in
// the middle of a request; s.mu is held.
func (s *Server) idlest() net.Conn {
	var best net.Conn
	var since int64
	for c, st := range s.conns {
		if t := st.idleSince.Load(); t != 0 && (best == nil || t < since) {
			best, since = c, t
		}
	}
	return best
}

// serveConn runs one tracked connection: handshake, then request, reply,
// request, ... It closes the connection when done.
func (s *Server) serveConn(c net.Conn, st *connState) {
	defer func() {
		_ = c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.wg.Done()
	}()
	log := s.log.With(zap.String("peer", peerName(c)))
	w := newWire(c, s.lim)
	w.begin = func() { st.idleSince.Store(0) } // a request has begun: not idle
	peer, err := w.handshake()
	if err != nil {
		log.Debug("zmq: handshake failed", zap.Error(err))
		return
	}
	log.Debug("zmq: peer connected", zap.String("socket_type", peer))
	for {
		m, err := w.readMessage()
		var big *tooBigError
		switch {
		case errors.As(err, &big):
			env, _ := m.envelope()
			log.Warn("zmq: request too large; closing the connection", zap.Error(err))
			if err := w.send(env, errorReply(http.StatusRequestEntityTooLarge, "request "+big.Error())); err == nil {
				linger(c)
			}
			return
		case errors.Is(err, io.EOF) || (err != nil && s.ctx.Err() != nil):
			return
		case err != nil:
			log.Debug("zmq: connection dropped", zap.Error(err))
			return
		}
		env, n := m.envelope()
		var out []byte
		if n != 1 || len(env) >= len(m.frames) {
			out = errorReply(http.StatusBadRequest, fmt.Sprintf("malformed request: want one message frame, got %d", n))
		} else {
			out = s.execute(m.frames[len(env)])
		}
		if err := w.send(env, out); err != nil {
			log.Debug("zmq: reply not delivered; closing the connection", zap.Error(err))
			return
		}
		st.idleSince.Store(time.Now().UnixNano())
	}
}

// execute runs one request if a worker is free or the queue has room, and
// answers 503 at once otherwise.
func (s *Server) execute(req []byte) []byte {
	select {
	case s.admit <- struct{}{}:
	default:
		s.warn("zmq: request queue full; answering busy",
			zap.Int("workers", s.lim.Workers), zap.Int("queue", s.lim.Queue))
		return errorReply(http.StatusServiceUnavailable, fmt.Sprintf(
			"busy: %d requests running and %d waiting; try again", s.lim.Workers, s.lim.Queue))
	}
	defer func() { <-s.admit }()
	select {
	case s.run <- struct{}{}:
	case <-s.ctx.Done():
		return errorReply(http.StatusServiceUnavailable, "shutting down")
	}
	defer func() { <-s.run }()
	return s.handle(s.ctx, req)
}

// linger half-closes c after a reply and drops what the peer still sends
// for a while, so the reply is not lost to a reset.
func linger(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.CopyN(io.Discard, c, lingerBytes)
}

// warn logs at most one warning per warnEvery, for events a flood of
// peers can cause.
func (s *Server) warn(msg string, fields ...zap.Field) {
	now := time.Now().UnixNano()
	last := s.lastWarn.Load()
	if now-last < int64(warnEvery) || !s.lastWarn.CompareAndSwap(last, now) {
		s.log.Debug(msg, fields...)
		return
	}
	s.log.Warn(msg, fields...)
}

func peerName(c net.Conn) string {
	if a := c.RemoteAddr(); a != nil && a.String() != "" {
		return a.String()
	}
	return "local"
}

// Close closes the socket and every connection, which ends Serve, and
// waits (up to 2 s) for the requests in flight to finish. The ipc socket
// file is removed.
func (s *Server) Close() error {
	err := s.shutdown()
	done := make(chan struct{})
	go func() {
		if s.serving.Load() {
			<-s.served
		}
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(closeWait):
		return errors.New("zmq: a request is still running after close")
	}
	return err
}

func (s *Server) shutdown() error {
	s.closeOnce.Do(func() {
		s.cancel()
		var err error
		if s.ln != nil {
			if err = s.ln.Close(); errors.Is(err, net.ErrClosed) {
				err = nil
			}
		}
		s.mu.Lock()
		s.closed = true
		for c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
		if s.ipcPath != "" {
			if e := os.Remove(s.ipcPath); e != nil && !errors.Is(e, os.ErrNotExist) && err == nil {
				err = e
			}
		}
		if err != nil {
			err = fmt.Errorf("zmq: close %s: %w", s.endpoint, err)
		}
		s.closeErr = err
		s.log.Info("zmq API closed", zap.String("endpoint", s.endpoint))
	})
	return s.closeErr
}

// openConns is how many connections are open.
func (s *Server) openConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
