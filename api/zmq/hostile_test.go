package zmq

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
)

// Tests of what a hostile or broken peer can do, over raw sockets. Each
// checks that the peer cannot crash the server, block other clients or
// leak resources.

// startWith serves h on a loopback TCP port within lim.
func startWith(t *testing.T, h http.Handler, lim Limits) *Server {
	t.Helper()
	s, err := New(h, "tcp://127.0.0.1:0", zap.NewNop(), lim)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(t.Context()) }()
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// peer is a raw ZMTP client.
type peer struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func rawDial(t *testing.T, s *Server) *peer {
	t.Helper()
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(s.Addr(), "tcp://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &peer{t: t, c: c, r: bufio.NewReader(c)}
}

func (p *peer) write(b ...byte) {
	p.t.Helper()
	_ = p.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := p.c.Write(b); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

// greet does the client's half of the handshake as socket type typ.
func (p *peer) greet(typ string) {
	p.t.Helper()
	p.write(greeting[:]...)
	p.write(command("READY", property("Socket-Type", typ))...)
	_ = p.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var g [greetingLen]byte
	if _, err := io.ReadFull(p.r, g[:]); err != nil || g != greeting {
		p.t.Fatalf("server greeting % x: %v", g, err)
	}
	flags, body := p.frame()
	if name, data, err := parseCommand(body); flags != flagCommand || err != nil || name != "READY" {
		p.t.Fatalf("server READY: flags %#x %q %v", flags, body, err)
	} else if props, err := parseMetadata(data); err != nil || props["socket-type"] != "REP" {
		p.t.Fatalf("server READY metadata %q: %v", data, err)
	}
}

// send writes one message of the given frames.
func (p *peer) send(frames ...string) {
	p.t.Helper()
	var b []byte
	for i, f := range frames {
		var flags byte
		if i < len(frames)-1 {
			flags = flagMore
		}
		b = append(append(b, frameHeader(flags, len(f))...), f...)
	}
	p.write(b...)
}

// frame reads one frame within 5 s.
func (p *peer) frame() (byte, []byte) {
	p.t.Helper()
	_ = p.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	flags, err := p.r.ReadByte()
	if err != nil {
		p.t.Fatalf("read frame: %v", err)
	}
	var n uint64
	if flags&flagLong != 0 {
		var b [8]byte
		_, err = io.ReadFull(p.r, b[:])
		n = binary.BigEndian.Uint64(b[:])
	} else {
		var b byte
		b, err = p.r.ReadByte()
		n = uint64(b)
	}
	if err != nil || n > 64<<20 {
		p.t.Fatalf("read frame header: %v (size %d)", err, n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(p.r, body); err != nil {
		p.t.Fatalf("read frame body: %v", err)
	}
	return flags, body
}

// reply reads a REQ reply, [empty, body], and decodes body.
func (p *peer) reply() reply {
	p.t.Helper()
	flags, f := p.frame()
	if flags != flagMore || len(f) != 0 {
		p.t.Fatalf("reply starts with flags %#x %q, want the empty delimiter", flags, f)
	}
	flags, f = p.frame()
	var r reply
	if flags != 0 || json.Unmarshal(f, &r) != nil {
		p.t.Fatalf("reply frame flags %#x %q, want one JSON frame", flags, f)
	}
	return r
}

// closed waits (up to within) for the server to close the connection.
func (p *peer) closed(within time.Duration) bool {
	_ = p.c.SetReadDeadline(time.Now().Add(within))
	_, err := io.Copy(io.Discard, p.r)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// served checks that a well-behaved client gets an answer within 2 s.
func served(t *testing.T, s *Server) {
	t.Helper()
	done := make(chan int, 1)
	go func() {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(s.Addr(), "tcp://"), 2*time.Second)
		if err != nil {
			done <- -1
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		p := &peer{t: t, c: c, r: bufio.NewReader(c)}
		p.write(greeting[:]...)
		p.write(command("READY", property("Socket-Type", "REQ"))...)
		if _, err := io.ReadFull(p.r, make([]byte, greetingLen+2+len("READY")+1+len(property("Socket-Type", "REP")))); err != nil {
			done <- -2
			return
		}
		p.send("", `{"operation":"GetVersion"}`)
		var hdr [2]byte
		if _, err := io.ReadFull(p.r, hdr[:]); err != nil || hdr != [2]byte{flagMore, 0} {
			done <- -3
			return
		}
		if _, err := io.ReadFull(p.r, hdr[:]); err != nil {
			done <- -4
			return
		}
		body := make([]byte, hdr[1])
		if _, err := io.ReadFull(p.r, body); err != nil {
			done <- -5
			return
		}
		var r reply
		_ = json.Unmarshal(body, &r)
		done <- r.Code
	}()
	select {
	case code := <-done:
		if code != 200 {
			t.Fatalf("a well-behaved client got %d", code)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("a well-behaved client was not served within 3 s")
	}
}

// versionHandler answers every request 200 with a small JSON body.
var versionHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"version":"test"}`)
})

func TestHugeFrameLengthIsRefused(t *testing.T) {
	s := startWith(t, versionHandler, Limits{MaxMessageSize: 1 << 20})
	for _, c := range []struct {
		name  string
		bytes []byte
	}{
		{"2^62 after the delimiter", append([]byte{flagMore, 0, flagLong}, binary.BigEndian.AppendUint64(nil, 1<<62)...)},
		{"2^64-1 after the delimiter", append([]byte{flagMore, 0, flagLong}, binary.BigEndian.AppendUint64(nil, 1<<64-1)...)},
		{"2^63 as the first frame", append([]byte{flagLong}, binary.BigEndian.AppendUint64(nil, 1<<63)...)},
		{"limit+1", append([]byte{flagMore, 0, flagLong}, binary.BigEndian.AppendUint64(nil, 1<<20+1)...)},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := rawDial(t, s)
			p.greet("REQ")
			p.write(c.bytes...)
			if strings.HasSuffix(c.name, "first frame") {
				// No envelope to answer with: one frame, then the end.
				if _, f := p.frame(); !strings.Contains(string(f), `"code":413`) {
					t.Errorf("reply %q, want a 413", f)
				}
			} else if r := p.reply(); r.Code != 413 || !strings.Contains(string(r.Body), "larger than 1048576") {
				t.Errorf("reply %d %s, want 413 naming the limit", r.Code, r.Body)
			}
			if !p.closed(3 * time.Second) {
				t.Error("connection left open after a refused message")
			}
			served(t, s)
		})
	}
	// Sizes add up over frames; headers count.
	p := rawDial(t, s)
	p.greet("REQ")
	half := strings.Repeat("x", 1<<19)
	p.send("", half, half)
	if r := p.reply(); r.Code != 413 {
		t.Errorf("two half-limit frames: %d %s, want 413", r.Code, r.Body)
	}
	// Just under the limit is fine (and a multi-part error, not a 413).
	p = rawDial(t, s)
	p.greet("REQ")
	p.send("", `{"operation":"GetVersion"}`+strings.Repeat(" ", 1<<20-100))
	if r := p.reply(); r.Code != 200 {
		t.Errorf("a request under the limit: %d %s", r.Code, r.Body)
	}
}

func TestSilentOrHalfGreetingDoesNotBlockOthers(t *testing.T) {
	s := startWith(t, versionHandler, Limits{HandshakeTimeout: 500 * time.Millisecond})
	silent := rawDial(t, s)
	half := rawDial(t, s)
	half.write(greeting[:32]...)
	sigOnly := rawDial(t, s)
	sigOnly.write(greeting[:signatureLen]...)
	noReady := rawDial(t, s)
	noReady.write(greeting[:]...)
	partReady := rawDial(t, s)
	partReady.write(greeting[:]...)
	partReady.write(command("READY", property("Socket-Type", "REQ"))[:5]...)
	served(t, s)
	for name, p := range map[string]*peer{"silent": silent, "half greeting": half, "signature only": sigOnly,
		"no READY": noReady, "half READY": partReady} {
		if !p.closed(3 * time.Second) {
			t.Errorf("%s: not closed after the handshake timeout", name)
		}
	}
	served(t, s)
}

func TestBadPeersAreDroppedAtOnce(t *testing.T) {
	s := startWith(t, versionHandler, Limits{})
	for _, c := range []struct {
		name string
		send func(p *peer)
	}{
		{"HTTP", func(p *peer) { p.write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")...) }},
		{"ZMTP 2", func(p *peer) { p.write(append(append([]byte{}, greeting[:10]...), 1, 5)...) }},
		{"CURVE", func(p *peer) {
			g := greeting
			copy(g[12:32], "CURVE\x00\x00\x00")
			p.write(g[:]...)
		}},
		{"PUB socket", func(p *peer) {
			p.write(greeting[:]...)
			p.write(command("READY", property("Socket-Type", "PUB"))...)
		}},
		{"message instead of READY", func(p *peer) {
			p.write(greeting[:]...)
			p.send("hello")
		}},
		{"reserved flag bits", func(p *peer) {
			p.greet("REQ")
			p.write(0x80, 0)
		}},
		{"command with MORE", func(p *peer) {
			p.greet("REQ")
			p.write(command("PING", []byte{0, 0})...)
			p.write(flagCommand|flagMore, 0)
		}},
		{"huge command", func(p *peer) {
			p.greet("REQ")
			p.write(append([]byte{flagCommand | flagLong}, binary.BigEndian.AppendUint64(nil, 1<<40)...)...)
		}},
		{"ERROR command", func(p *peer) {
			p.greet("DEALER")
			p.write(command("ERROR", shortString("bye"))...)
		}},
		{"malformed PING", func(p *peer) {
			p.greet("REQ")
			p.write(command("PING", nil)...)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := rawDial(t, s)
			c.send(p)
			if !p.closed(2 * time.Second) {
				t.Error("not closed")
			}
			served(t, s)
		})
	}
}

func TestPingGetsPong(t *testing.T) {
	s := startWith(t, versionHandler, Limits{})
	p := rawDial(t, s)
	p.greet("REQ")
	p.write(command("PING", []byte{0, 10, 'c', 't', 'x'})...)
	flags, body := p.frame()
	if name, data, err := parseCommand(body); flags != flagCommand || err != nil || name != "PONG" || string(data) != "ctx" {
		t.Fatalf("PING answered with flags %#x %q", flags, body)
	}
	p.write(command("UNKNOWN", nil)...) // ignored
	p.send("", `{"operation":"GetVersion"}`)
	if r := p.reply(); r.Code != 200 {
		t.Fatalf("after PING: %d %s", r.Code, r.Body)
	}
}

func TestMultipartRequestGetsOneErrorReply(t *testing.T) {
	calls := 0
	var mu sync.Mutex
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		versionHandler(w, r)
	})
	s := startWith(t, h, Limits{})
	req := `{"operation":"GetVersion"}`
	for _, c := range []struct {
		name   string
		frames []string
		want   int
	}{
		{"three parts", []string{"", req, req, req}, 400},
		{"no body", []string{""}, 400},
		{"100 parts", append([]string{""}, strings.Split(strings.Repeat(req+"\n", 100), "\n")...), 400},
		{"routing ids before the delimiter", []string{"id1", "id2", "", req}, 200},
		{"no delimiter (DEALER without envelope)", []string{req}, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := rawDial(t, s)
			p.greet("DEALER")
			p.send(c.frames...)
			env, _ := (&message{frames: toBytes(c.frames), count: len(c.frames)}).envelope()
			for i, want := range env {
				flags, f := p.frame()
				if flags != flagMore || string(f) != string(want) {
					t.Fatalf("envelope frame %d: %#x %q, want %q", i, flags, f, want)
				}
			}
			flags, f := p.frame()
			var r reply
			if flags != 0 || json.Unmarshal(f, &r) != nil || r.Code != c.want {
				t.Fatalf("reply %#x %q, want one frame with %d", flags, f, c.want)
			}
			// Exactly one reply: the next request gets the next answer.
			p.send("", req)
			if r := p.reply(); r.Code != 200 {
				t.Fatalf("next request: %d %s", r.Code, r.Body)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 2+5 {
		t.Errorf("handler ran %d times, want 7 (multi-part requests must not run)", calls)
	}
}

func toBytes(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func TestNonReadingClientDoesNotBlockOthers(t *testing.T) {
	big := `{"x":"` + strings.Repeat("y", 4<<20) + `"}`
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/ports" {
			fmt.Fprint(w, big)
			return
		}
		fmt.Fprint(w, `{"version":"test"}`)
	})
	s := startWith(t, h, Limits{WriteTimeout: 500 * time.Millisecond})
	p := rawDial(t, s)
	p.greet("DEALER")
	// Pipelined requests for 4 MiB replies, never read: the server's
	// writes fill the socket buffers and block.
	for range 8 {
		p.send("", `{"operation":"ListPorts"}`)
	}
	time.Sleep(200 * time.Millisecond)
	served(t, s)
	// The write deadline ends the stuck connection.
	deadline := time.Now().Add(5 * time.Second)
	for s.openConns() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := s.openConns(); n != 0 {
		t.Errorf("%d connections still open after the write timeout", n)
	}
}

// blocking is a handler that holds /ports/slow until release is closed
// and answers everything else at once.
func blocking() (http.Handler, chan struct{}) {
	release := make(chan struct{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/ports/slow") {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		versionHandler(w, r)
	}), release
}

func TestSlowRequestDoesNotBlockAFastOne(t *testing.T) {
	h, release := blocking()
	s := startWith(t, h, Limits{})
	slow := rawDial(t, s)
	slow.greet("REQ")
	slow.send("", `{"operation":"GetPort","params":{"id":"slow"}}`)
	time.Sleep(100 * time.Millisecond)
	served(t, s)
	close(release)
	if r := slow.reply(); r.Code != 200 {
		t.Fatalf("slow request: %d %s", r.Code, r.Body)
	}
}

func TestFullQueueAnswersBusy(t *testing.T) {
	h, release := blocking()
	s := startWith(t, h, Limits{Workers: 1, Queue: 1})
	running, waiting := rawDial(t, s), rawDial(t, s)
	running.greet("REQ")
	waiting.greet("REQ")
	running.send("", `{"operation":"GetPort","params":{"id":"slow"}}`)
	time.Sleep(100 * time.Millisecond)
	waiting.send("", `{"operation":"GetPort","params":{"id":"slow2"}}`)
	time.Sleep(100 * time.Millisecond)
	busy := rawDial(t, s)
	busy.greet("REQ")
	t0 := time.Now()
	busy.send("", `{"operation":"GetVersion"}`)
	if r := busy.reply(); r.Code != 503 || !strings.Contains(string(r.Body), "busy") {
		t.Fatalf("third request: %d %s, want 503 busy", r.Code, r.Body)
	}
	if took := time.Since(t0); took > time.Second {
		t.Errorf("busy answer took %v", took)
	}
	close(release)
	for _, p := range []*peer{running, waiting, busy} {
		if p == busy {
			p.send("", `{"operation":"GetVersion"}`)
		}
		if r := p.reply(); r.Code != 200 {
			t.Errorf("after release: %d %s", r.Code, r.Body)
		}
	}
}

// At the connection limit a new connection takes the place of the one
// idle the longest (a hostile or careless peer's idle or half-open
// connections lock nobody out), and is only refused when every connection
// is in the middle of a request.
func TestConnectionLimit(t *testing.T) {
	h, release := blocking()
	s := startWith(t, h, Limits{MaxConns: 3})
	var held []*peer
	for i := range 3 {
		p := rawDial(t, s)
		if i < 2 {
			p.greet("REQ") // idle after the handshake
		} else {
			p.write(greeting[:10]...) // half a greeting
		}
		held = append(held, p)
		time.Sleep(20 * time.Millisecond) // distinct idle times
	}
	served(t, s) // in place of the idlest, the first
	if !held[0].closed(2 * time.Second) {
		t.Error("the connection idle the longest was kept")
	}
	for _, p := range held[1:] {
		if p.closed(100 * time.Millisecond) {
			t.Error("a connection idle for less time was closed")
		}
	}

	// Every connection busy: a new one is refused.
	busy := make([]*peer, 0, 3)
	for range 3 {
		p := rawDial(t, s)
		p.greet("REQ")
		p.send("", `{"operation":"GetPort","params":{"id":"slow"}}`) // blocks in the handler
		busy = append(busy, p)
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && s.openConns() > 3 {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the requests reach the handler
	extra := rawDial(t, s)
	if !extra.closed(2 * time.Second) {
		t.Error("a connection over the limit was kept while every connection was busy")
	}
	close(release)
	for _, p := range busy {
		if r := p.reply(); r.Code != 200 {
			t.Errorf("busy request after release: %d %s", r.Code, r.Body)
		}
	}
}

func TestJunkConnectsDoNotLeakFDs(t *testing.T) {
	if testing.Short() {
		t.Skip("thousands of connections")
	}
	s := startWith(t, versionHandler, Limits{HandshakeTimeout: time.Second})
	before := countFDs(t)
	const n = 3000
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	addr := strings.TrimPrefix(s.Addr(), "tcp://")
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			switch i % 3 {
			case 0: // connect and leave
			case 1: // junk instead of a greeting
				_, _ = c.Write([]byte("\x00junk junk junk"))
				_, _ = io.Copy(io.Discard, c)
			case 2: // a greeting, then junk
				_, _ = c.Write(greeting[:])
				_, _ = c.Write([]byte{0xff, 0xff, 0xff})
				_, _ = io.Copy(io.Discard, c)
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	after := countFDs(t)
	for after > before+5 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		after = countFDs(t)
	}
	if after > before+5 {
		t.Errorf("%d fds open after %d junk connections, %d before", after, n, before)
	}
	// A connection's goroutine forgets it just after closing its fd.
	for s.openConns() != 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if c := s.openConns(); c != 0 {
		t.Errorf("%d connections still tracked", c)
	}
	served(t, s)
}

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestStalledMessageIsDropped(t *testing.T) {
	s := startWith(t, versionHandler, Limits{ReadTimeout: 300 * time.Millisecond})
	for name, b := range map[string][]byte{
		"one header byte":  {flagMore},
		"half a long size": {flagLong, 0, 0, 0},
		"delimiter only":   {flagMore, 0},
		"part of a body":   {0, 10, '{'},
	} {
		t.Run(name, func(t *testing.T) {
			p := rawDial(t, s)
			p.greet("REQ")
			p.write(b...)
			if !p.closed(2 * time.Second) {
				t.Error("a stalled message kept its connection open")
			}
		})
	}
	// Idle between requests is fine.
	p := rawDial(t, s)
	p.greet("REQ")
	time.Sleep(600 * time.Millisecond)
	p.send("", `{"operation":"GetVersion"}`)
	if r := p.reply(); r.Code != 200 {
		t.Fatalf("after an idle spell: %d %s", r.Code, r.Body)
	}
}
