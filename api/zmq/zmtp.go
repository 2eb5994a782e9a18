package zmq

// The server side of ZMTP 3.x (https://rfc.zeromq.org/spec/23/ and /37/),
// exactly as much as a REP endpoint with the NULL mechanism needs: the
// greeting, READY in both directions, PING answered with PONG, and
// multi-frame messages. Everything a peer says is checked against a limit
// before anything is allocated for it, and every wait on a peer that has
// begun something (a greeting, a message, a reply it must read) has a
// deadline.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"
)

const (
	greetingLen  = 64
	signatureLen = 10

	flagMore    = 0x01 // more frames of this message follow
	flagLong    = 0x02 // 8-byte size
	flagCommand = 0x04 // a command, not a message frame

	// maxCommand bounds a command frame (READY with its metadata, PING).
	maxCommand = 64 << 10
	// maxFrames is how many frames of one message are kept; the rest
	// are read and dropped (the request is refused anyway: a request is
	// one frame after its envelope).
	maxFrames = 64
	// bodyChunk is how much of a large frame is allocated ahead of the
	// bytes that arrive: a frame costs memory as it is received, never
	// as it is announced.
	bodyChunk = 64 << 10
	// readBufSize is the read buffer of a connection.
	readBufSize = 16 << 10
)

// errProtocol marks a peer that broke ZMTP; the connection is dropped.
var errProtocol = errors.New("zmtp protocol error")

// tooBigError is a message over the size limit; it is answered (413) and
// the connection dropped, since the rest of it is not read.
type tooBigError struct {
	limit    int64
	declared uint64 // the size of the frame that crossed the limit
}

func (e *tooBigError) Error() string {
	return fmt.Sprintf("message larger than %d bytes (a frame of %d bytes)", e.limit, e.declared)
}

// greeting is ours: ZMTP 3.1, NULL mechanism, not as-server.
var greeting = func() [greetingLen]byte {
	var g [greetingLen]byte
	g[0], g[9] = 0xff, 0x7f
	g[10], g[11] = 3, 1
	copy(g[12:32], "NULL")
	return g
}()

// deadlineReader sets the read deadline of c before each Read: the fixed
// time until, if set, else now+idle if idle > 0, else none. A peer so
// cannot stall a greeting or a message it has begun, while a connection
// between messages may stay idle.
type deadlineReader struct {
	c     net.Conn
	until time.Time
	idle  time.Duration
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	var dl time.Time
	switch {
	case !d.until.IsZero():
		dl = d.until
	case d.idle > 0:
		dl = time.Now().Add(d.idle)
	}
	if err := d.c.SetReadDeadline(dl); err != nil {
		return 0, err
	}
	return d.c.Read(p)
}

// wire is one ZMTP connection. It is used by one goroutine at a time.
type wire struct {
	c   net.Conn
	dr  deadlineReader
	r   *bufio.Reader
	lim Limits
	// begin, if set, is called when the header of a message's first frame
	// has arrived.
	begin func()
}

func newWire(c net.Conn, lim Limits) *wire {
	w := &wire{c: c, lim: lim}
	w.dr.c = c
	w.r = bufio.NewReaderSize(&w.dr, readBufSize)
	return w
}

// handshake exchanges greetings and READY commands within the handshake
// timeout and returns the peer's socket type (REQ or DEALER).
func (w *wire) handshake() (string, error) {
	until := time.Now().Add(w.lim.HandshakeTimeout)
	w.dr.until = until
	defer func() { w.dr.until = time.Time{} }()
	if err := w.write(until, greeting[:]); err != nil {
		return "", fmt.Errorf("send greeting: %w", err)
	}
	var g [greetingLen]byte
	// The signature first: a peer that is not ZMTP is dropped at once.
	if _, err := io.ReadFull(w.r, g[:signatureLen]); err != nil {
		return "", fmt.Errorf("read greeting: %w", err)
	}
	if g[0] != 0xff || g[9]&1 == 0 {
		return "", fmt.Errorf("greeting signature % x: %w", g[:signatureLen], errProtocol)
	}
	// Then the major version: an older peer is dropped at once too.
	if _, err := io.ReadFull(w.r, g[signatureLen:signatureLen+1]); err != nil {
		return "", fmt.Errorf("read greeting: %w", err)
	}
	if g[10] < 3 {
		return "", fmt.Errorf("ZMTP major version %d, want 3: %w", g[10], errProtocol)
	}
	if _, err := io.ReadFull(w.r, g[signatureLen+1:]); err != nil {
		return "", fmt.Errorf("read greeting: %w", err)
	}
	if mech := g[12:32]; !bytes.Equal(bytes.TrimRight(mech, "\x00"), []byte("NULL")) {
		return "", fmt.Errorf("security mechanism %q, want NULL: %w", bytes.TrimRight(mech, "\x00"), errProtocol)
	}
	if err := w.write(until, command("READY", property("Socket-Type", "REP"))); err != nil {
		return "", fmt.Errorf("send READY: %w", err)
	}
	flags, size, _, err := w.header()
	if err != nil {
		return "", fmt.Errorf("read READY: %w", err)
	}
	if flags&flagCommand == 0 || flags&flagMore != 0 || size > maxCommand {
		return "", fmt.Errorf("want a READY command, got frame flags %#x size %d: %w", flags, size, errProtocol)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(w.r, body); err != nil {
		return "", fmt.Errorf("read READY: %w", err)
	}
	name, data, err := parseCommand(body)
	if err != nil {
		return "", err
	}
	if name == "ERROR" {
		return "", fmt.Errorf("peer sent ERROR %q: %w", reason(data), errProtocol)
	}
	if name != "READY" {
		return "", fmt.Errorf("want READY, got command %q: %w", name, errProtocol)
	}
	props, err := parseMetadata(data)
	if err != nil {
		return "", err
	}
	peer := props["socket-type"]
	if peer != "REQ" && peer != "DEALER" {
		_ = w.write(until, command("ERROR", shortString("socket type "+peer+" cannot talk to REP")))
		return "", fmt.Errorf("peer socket type %q, want REQ or DEALER: %w", peer, errProtocol)
	}
	return peer, nil
}

// write sends b, giving up at until.
func (w *wire) write(until time.Time, bufs ...[]byte) error {
	if err := w.c.SetWriteDeadline(until); err != nil {
		return err
	}
	nb := net.Buffers(bufs)
	_, err := nb.WriteTo(w.c)
	return err
}

// header reads a frame header: flags, size, and the header's length.
func (w *wire) header() (flags byte, size uint64, n int, err error) {
	flags, err = w.r.ReadByte()
	if err != nil {
		return 0, 0, 0, err
	}
	if flags&^(flagMore|flagLong|flagCommand) != 0 {
		return 0, 0, 0, fmt.Errorf("frame flags %#x: %w", flags, errProtocol)
	}
	if flags&flagLong == 0 {
		b, err := w.r.ReadByte()
		return flags, uint64(b), 2, noEOF(err)
	}
	var b [8]byte
	if _, err := io.ReadFull(w.r, b[:]); err != nil {
		return 0, 0, 0, noEOF(err)
	}
	return flags, binary.BigEndian.Uint64(b[:]), 9, nil
}

// noEOF turns io.EOF in the middle of something into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// message is a received message: its first maxFrames frames and how many
// it had in all.
type message struct {
	frames [][]byte
	count  int
}

// envelope is the REP envelope of m: its frames up to and including the
// first empty one (the delimiter a REQ socket puts first; routing ids
// before it when a proxy is between), or nil if m has none; body is the
// number of frames after it.
func (m *message) envelope() (env [][]byte, body int) {
	for i, f := range m.frames {
		if len(f) == 0 {
			return m.frames[:i+1], m.count - i - 1
		}
	}
	return nil, m.count
}

// readMessage reads the next message, answering PING commands on the way.
// Between messages it waits for as long as the peer likes; once a message
// has begun, each read must make progress within the read timeout. On a
// message over the size limit it returns what it read so far with a
// *tooBigError.
func (w *wire) readMessage() (*message, error) {
	m := &message{}
	var total uint64
	limit := uint64(w.lim.MaxMessageSize)
	w.dr.idle = 0
	defer func() { w.dr.idle = 0 }()
	for {
		if m.count == 0 {
			// Wait for the first byte without a deadline; from then on
			// the message, its header included, must keep arriving.
			if _, err := w.r.Peek(1); err != nil {
				return m, err
			}
		}
		w.dr.idle = w.lim.ReadTimeout
		flags, size, n, err := w.header()
		if err != nil {
			return m, noEOF(err)
		}
		if flags&flagCommand != 0 {
			if flags&flagMore != 0 || size > maxCommand || m.count > 0 {
				return m, fmt.Errorf("command frame flags %#x size %d: %w", flags, size, errProtocol)
			}
			if err := w.command(size); err != nil {
				return m, err
			}
			w.dr.idle = 0
			continue
		}
		if m.count == 0 && w.begin != nil {
			w.begin() // a message's first frame, not a command such as PING
		}
		if size > limit || total+size+uint64(n) > limit {
			return m, &tooBigError{limit: w.lim.MaxMessageSize, declared: size}
		}
		total += size + uint64(n)
		if m.count < maxFrames {
			f, err := w.body(size)
			if err != nil {
				return m, noEOF(err)
			}
			m.frames = append(m.frames, f)
		} else if _, err := io.CopyN(io.Discard, w.r, int64(size)); err != nil {
			return m, noEOF(err)
		}
		m.count++
		if flags&flagMore == 0 {
			return m, nil
		}
	}
}

// body reads a frame body of size bytes (size is within the message
// limit), allocating as the bytes arrive.
func (w *wire) body(size uint64) ([]byte, error) {
	if size <= bodyChunk {
		b := make([]byte, size)
		_, err := io.ReadFull(w.r, b)
		return b, err
	}
	b := make([]byte, 0, bodyChunk)
	for uint64(len(b)) < size {
		if len(b) == cap(b) { // double, never past size
			b = slices.Grow(b, int(min(uint64(cap(b)), size-uint64(len(b)))))
		}
		end := min(uint64(cap(b)), size)
		n, err := io.ReadFull(w.r, b[len(b):end])
		b = b[:len(b)+n]
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

// command reads and acts on a command of size bytes after the handshake:
// PING gets a PONG, ERROR ends the connection, others are ignored.
func (w *wire) command(size uint64) error {
	b := make([]byte, size)
	if _, err := io.ReadFull(w.r, b); err != nil {
		return noEOF(err)
	}
	name, data, err := parseCommand(b)
	if err != nil {
		return err
	}
	switch name {
	case "PING": // TTL (2 bytes), then a context of up to 16 bytes
		if len(data) < 2 || len(data) > 18 {
			return fmt.Errorf("PING of %d bytes: %w", len(data), errProtocol)
		}
		return w.write(time.Now().Add(w.lim.WriteTimeout), command("PONG", data[2:]))
	case "ERROR":
		return fmt.Errorf("peer sent ERROR %q: %w", reason(data), errProtocol)
	}
	return nil
}

// send writes a reply: the envelope's frames, then body.
func (w *wire) send(env [][]byte, body []byte) error {
	bufs := make([][]byte, 0, 2*len(env)+2)
	for _, f := range env {
		bufs = append(bufs, frameHeader(flagMore, len(f)), f)
	}
	bufs = append(bufs, frameHeader(0, len(body)), body)
	return w.write(time.Now().Add(w.lim.WriteTimeout), bufs...)
}

// frameHeader is the header of a frame of n bytes.
func frameHeader(flags byte, n int) []byte {
	if n <= 255 {
		return []byte{flags, byte(n)}
	}
	h := make([]byte, 9)
	h[0] = flags | flagLong
	binary.BigEndian.PutUint64(h[1:], uint64(n))
	return h
}

// command is a whole command frame: header, name, data.
func command(name string, data []byte) []byte {
	body := append(append([]byte{byte(len(name))}, name...), data...)
	return append(frameHeader(flagCommand, len(body)), body...)
}

// property is one metadata property of READY.
func property(name, value string) []byte {
	b := append([]byte{byte(len(name))}, name...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(value)))
	return append(b, value...)
}

// shortString is ERROR's reason: a length byte and up to 255 bytes.
func shortString(s string) []byte {
	if len(s) > 255 {
		s = s[:255]
	}
	return append([]byte{byte(len(s))}, s...)
}

// reason is the text of an ERROR command's data, as far as it is sane.
func reason(data []byte) string {
	if len(data) == 0 || int(data[0]) > len(data)-1 {
		return ""
	}
	return string(data[1 : 1+data[0]])
}

// parseCommand splits a command frame's body into its name and data.
func parseCommand(b []byte) (string, []byte, error) {
	if len(b) == 0 || int(b[0]) == 0 || int(b[0]) > len(b)-1 {
		return "", nil, fmt.Errorf("malformed command of %d bytes: %w", len(b), errProtocol)
	}
	return string(b[1 : 1+b[0]]), b[1+b[0]:], nil
}

// parseMetadata reads READY's properties; names are lower-cased (they are
// case-insensitive).
func parseMetadata(b []byte) (map[string]string, error) {
	props := make(map[string]string)
	for len(b) > 0 {
		n := int(b[0])
		if n == 0 || len(b) < 1+n+4 {
			return nil, fmt.Errorf("malformed READY metadata: %w", errProtocol)
		}
		name := strings.ToLower(string(b[1 : 1+n]))
		b = b[1+n:]
		v := binary.BigEndian.Uint32(b)
		b = b[4:]
		if uint64(v) > uint64(len(b)) {
			return nil, fmt.Errorf("READY property %s of %d bytes in %d: %w", name, v, len(b), errProtocol)
		}
		props[name] = string(b[:v])
		b = b[v:]
	}
	return props, nil
}
