package socket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// The wire format of stack/socket/shim/proto.h; change both together.

// Control operations a client sends.
const (
	opSocket      = 1
	opClose       = 2
	opBind        = 3
	opConnect     = 4
	opAttach      = 5
	opGetsockname = 6
	opGetpeername = 7
	opSetsockopt  = 8
	opGetsockopt  = 9
	opShutdown    = 10
	opListen      = 11 // a=backlog
	opAccept      = 12 // reply: a new socket's fds, data=the peer's address
	// opHold makes the sending connection one more holder of socket sid
	// (a forked child's connection, opened by its parent before fork):
	// data is the socket's 8-byte token from its shared memory, which
	// only a process that maps that memory can know.
	opHold = 13
	// opHello tells the daemon the connection now serves another process
	// (a=its pid): a forked child's, whose connection its parent opened.
	opHello = 14
)

const (
	dataMax     = 256
	requestSize = 24 + dataMax // struct opd_request
	replySize   = 16 + dataMax // struct opd_reply

	// Shared memory layout (offsets in bytes).
	offRxHead   = 0
	offRxTail   = 64
	offTxHead   = 128
	offTxTail   = 192
	offRingSize = 256
	offMagic    = 260
	offWaiting  = 264 // uint32: the client waits for room in the tx ring
	offClosed   = 268 // uint32: we closed the socket
	offState    = 272 // uint32: a stream's connection state (stateXxx)
	offErr      = 276 // uint32: the errno of stateError
	offRxWait   = 280 // uint32: we wait for room in a stream's rx ring
	offTxFull   = 284 // uint32: the client made its fd unwritable (its full tx ring)
	offToken    = 288 // uint64: the socket's secret, for opHold
	magicValue  = 0x6f706431
	offData     = 4096

	tokenSize = 8

	recordHdr = 40
	// A record's flags: flagTTL says its low byte is the datagram's IPv4
	// TTL or IPv6 hop limit (the shim makes it an IP_TTL/IPV6_HOPLIMIT
	// control message for programs that asked for one).
	flagTTL = 0x100
	// flagEOF on a stream record of no bytes: in rx the peer's FIN (or,
	// with stateError, the connection's end), in tx the client's
	// shutdown(SHUT_WR), in band so it cannot overtake queued bytes.
	flagEOF  = 0x200
	maxDgram = 65535
)

// request is one decoded control request.
type request struct {
	op, sid uint32
	a, b, c int32
	data    []byte // at most dataMax bytes
}

// A stream socket's connection state, in shared memory for the shim.
const (
	stateIdle       = 0
	stateConnecting = 1
	stateConnected  = 2
	stateError      = 3 // offErr holds the errno
)

var errBadRequest = errors.New("malformed request")

// parseRequest decodes a control message. Anything but an exact
// struct opd_request with a length that fits is refused: the peer is
// another process, not trusted.
func parseRequest(b []byte) (request, error) {
	if len(b) != requestSize {
		return request{}, fmt.Errorf("%w: %d bytes, want %d", errBadRequest, len(b), requestSize)
	}
	le := binary.NativeEndian
	r := request{op: le.Uint32(b[0:]), sid: le.Uint32(b[4:]),
		a: int32(le.Uint32(b[8:])), b: int32(le.Uint32(b[12:])), c: int32(le.Uint32(b[16:]))}
	n := le.Uint32(b[20:])
	if n > dataMax {
		return request{}, fmt.Errorf("%w: data length %d", errBadRequest, n)
	}
	r.data = b[24 : 24+n]
	if r.op < opSocket || r.op > opHello {
		return request{}, fmt.Errorf("%w: operation %d", errBadRequest, r.op)
	}
	if r.op == opHold && n != tokenSize {
		return request{}, fmt.Errorf("%w: hold token of %d bytes, want %d", errBadRequest, n, tokenSize)
	}
	return r, nil
}

// reply is one control reply.
type reply struct {
	err  unix.Errno
	sid  uint32
	val  int32
	data []byte
}

func (r reply) encode() []byte {
	b := make([]byte, replySize)
	le := binary.NativeEndian
	le.PutUint32(b[0:], uint32(r.err))
	le.PutUint32(b[4:], r.sid)
	le.PutUint32(b[8:], uint32(r.val))
	n := copy(b[16:], r.data)
	le.PutUint32(b[12:], uint32(n))
	return b
}

// parseSockaddr decodes a Linux sockaddr_in or sockaddr_in6. family is
// AF_UNSPEC for an AF_UNSPEC address (connect's disconnect).
func parseSockaddr(b []byte) (family int, ap netip.AddrPort, err error) {
	if len(b) < 2 {
		return 0, ap, unix.EINVAL
	}
	switch f := int(binary.NativeEndian.Uint16(b)); f {
	case unix.AF_UNSPEC:
		return f, ap, nil
	case unix.AF_INET:
		if len(b) < unix.SizeofSockaddrInet4 {
			return 0, ap, unix.EINVAL
		}
		a := netip.AddrFrom4([4]byte(b[4:8]))
		return f, netip.AddrPortFrom(a, binary.BigEndian.Uint16(b[2:])), nil
	case unix.AF_INET6:
		if len(b) < unix.SizeofSockaddrInet6 {
			return 0, ap, unix.EINVAL
		}
		a := netip.AddrFrom16([16]byte(b[8:24]))
		return f, netip.AddrPortFrom(a, binary.BigEndian.Uint16(b[2:])), nil
	default:
		return 0, ap, unix.EAFNOSUPPORT
	}
}

// sockaddr encodes an address as the socket's family expects (an IPv4
// address on an AF_INET6 socket is v4-mapped).
func sockaddr(family int, ap netip.AddrPort) []byte {
	if family == unix.AF_INET && ap.Addr().Is4() {
		b := make([]byte, unix.SizeofSockaddrInet4)
		binary.NativeEndian.PutUint16(b, unix.AF_INET)
		binary.BigEndian.PutUint16(b[2:], ap.Port())
		a := ap.Addr().As4()
		copy(b[4:], a[:])
		return b
	}
	b := make([]byte, unix.SizeofSockaddrInet6)
	binary.NativeEndian.PutUint16(b, unix.AF_INET6)
	binary.BigEndian.PutUint16(b[2:], ap.Port())
	a := ap.Addr().As16()
	if !ap.Addr().IsValid() {
		a = [16]byte{}
	}
	copy(b[8:], a[:])
	return b
}
