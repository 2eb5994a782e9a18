package zmq

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-zeromq/zmq4"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

const (
	// sendTimeout bounds how long a reply may wait for a peer that does
	// not read.
	sendTimeout = 10 * time.Second
	// closeWait bounds how long Close waits for the request in flight.
	closeWait = 2 * time.Second
	// maxUnixPath is the size of sun_path on Linux, less its NUL.
	maxUnixPath = 107
)

// Server answers API requests on a ZeroMQ REP socket by running each
// through the REST server's http.Handler in-process, so validation, error
// bodies and status codes are those of REST.
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
// layer itself use the same shape: body {"code", "message"}.
type Server struct {
	*dispatcher
	sock     zmq4.Socket
	endpoint string // as bound (tcp port 0 resolved)
	ipcPath  string // socket file for ipc endpoints, "" otherwise

	ctx    context.Context // requests in flight; cancelled by Close
	cancel context.CancelFunc

	serving   atomic.Bool
	served    chan struct{} // closed when Serve returns
	closeOnce sync.Once
	closeErr  error
}

// New builds the operation table from the embedded spec and binds a REP
// socket on endpoint: "ipc:///path/to.sock" (the directory is created if
// missing; a stale socket file nobody listens on is removed first, and the
// file is removed again on Close) or "tcp://host:port" (port 0 picks a
// free port; see Addr). Requests are answered once Serve runs.
func New(handler http.Handler, endpoint string, log *zap.Logger) (*Server, error) {
	if log == nil {
		log = zap.NewNop()
	}
	log = log.With(zap.String("component", "zmq"))
	d, err := newDispatcher(handler, log)
	if err != nil {
		return nil, err
	}
	network, addr, ok := strings.Cut(endpoint, "://")
	if !ok || addr == "" {
		return nil, fmt.Errorf("zmq: endpoint %q: want ipc:///path or tcp://host:port", endpoint)
	}
	var ipcPath string
	switch network {
	case "ipc":
		if ipcPath, err = prepareIPC(addr); err != nil {
			return nil, fmt.Errorf("zmq: endpoint %s: %w", endpoint, err)
		}
	case "tcp":
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("zmq: endpoint %s: %w", endpoint, err)
		}
	default:
		return nil, fmt.Errorf("zmq: endpoint %s: transport %q not supported, want ipc or tcp", endpoint, network)
	}

	stdlog, err := zap.NewStdLogAt(log, zapcore.WarnLevel)
	if err != nil {
		return nil, err
	}
	sock := zmq4.NewRep(context.Background(), zmq4.WithTimeout(sendTimeout), zmq4.WithLogger(stdlog))
	if err := sock.Listen(endpoint); err != nil {
		_ = sock.Close()
		return nil, fmt.Errorf("zmq: bind %s: %w", endpoint, err)
	}
	bound := endpoint
	if a := sock.Addr(); a != nil && network == "tcp" {
		bound = "tcp://" + a.String()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{dispatcher: d, sock: sock, endpoint: bound, ipcPath: ipcPath,
		ctx: ctx, cancel: cancel, served: make(chan struct{})}
	log.Info("zmq API listening", zap.String("endpoint", bound), zap.Int("operations", len(d.ops)))
	return s, nil
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

// Serve answers requests until ctx is done or Close is called; either way
// it closes the socket and returns nil. Serve may run only once.
func (s *Server) Serve(ctx context.Context) error {
	if !s.serving.CompareAndSwap(false, true) {
		return errors.New("zmq: Serve called twice")
	}
	defer close(s.served)
	stop := context.AfterFunc(ctx, func() { _ = s.shutdown() })
	defer stop()
	for {
		msg, err := s.sock.Recv()
		if s.ctx.Err() != nil {
			return nil
		}
		if err != nil {
			// Recv fails for good only once the socket is closed (seen
			// above); anything else concerns one message that has no
			// peer to answer.
			s.log.Debug("zmq: receive", zap.Error(err))
			time.Sleep(10 * time.Millisecond)
			continue
		}
		var out []byte
		if len(msg.Frames) == 1 {
			out = s.handle(s.ctx, msg.Frames[0])
		} else {
			out = errorReply(http.StatusBadRequest, fmt.Sprintf("malformed request: want one message frame, got %d", len(msg.Frames)))
		}
		// A REP socket must answer every request it received, or it
		// would take no other.
		if err := s.sock.Send(zmq4.NewMsg(out)); err != nil {
			if s.ctx.Err() != nil {
				return nil
			}
			s.log.Warn("zmq: send reply", zap.Error(err))
		}
	}
}

// Close closes the socket, which ends Serve, and waits (up to 2 s) for the
// request in flight, if any, to finish. The ipc socket file is removed.
func (s *Server) Close() error {
	err := s.shutdown()
	if s.serving.Load() {
		select {
		case <-s.served:
		case <-time.After(closeWait):
			return errors.New("zmq: a request is still running after close")
		}
	}
	return err
}

func (s *Server) shutdown() error {
	s.closeOnce.Do(func() {
		s.cancel()
		err := s.sock.Close()
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
		if s.ipcPath != "" {
			if e := os.Remove(s.ipcPath); e != nil && !errors.Is(e, os.ErrNotExist) && err == nil {
				err = e
			}
		}
		s.closeErr = err
		s.log.Info("zmq API closed", zap.String("endpoint", s.endpoint))
	})
	return s.closeErr
}
