package socket

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func encodeRequest(op, sid uint32, a, b, c int32, data []byte) []byte {
	m := make([]byte, requestSize)
	le := binary.NativeEndian
	le.PutUint32(m[0:], op)
	le.PutUint32(m[4:], sid)
	le.PutUint32(m[8:], uint32(a))
	le.PutUint32(m[12:], uint32(b))
	le.PutUint32(m[16:], uint32(c))
	le.PutUint32(m[20:], uint32(len(data)))
	copy(m[24:], data)
	return m
}

func TestParseRequestTakesOnlyWellFormedMessages(t *testing.T) {
	good := encodeRequest(opBind, 7, 1, 2, 3, sockaddr(unix.AF_INET, mustAddrPort("10.0.0.1:53")))
	r, err := parseRequest(good)
	if err != nil || r.op != opBind || r.sid != 7 || r.a != 1 || r.b != 2 || r.c != 3 || len(r.data) != 16 {
		t.Fatalf("%+v %v", r, err)
	}
	for _, c := range []struct {
		name string
		msg  []byte
	}{
		{"short", good[:requestSize-1]},
		{"long", append(append([]byte{}, good...), 0)},
		{"empty", nil},
		{"data length beyond the buffer", func() []byte {
			m := append([]byte{}, good...)
			binary.NativeEndian.PutUint32(m[20:], dataMax+1)
			return m
		}()},
		{"unknown operation", encodeRequest(99, 1, 0, 0, 0, nil)},
		{"operation zero", encodeRequest(0, 1, 0, 0, 0, nil)},
		{"hold without a token", encodeRequest(opHold, 1, 0, 0, 0, nil)},
		{"hold with a long token", encodeRequest(opHold, 1, 0, 0, 0, make([]byte, tokenSize+1))},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := parseRequest(c.msg); !errors.Is(err, errBadRequest) {
				t.Fatalf("got %v, want errBadRequest", err)
			}
		})
	}
}

func TestSockaddrRoundTrips(t *testing.T) {
	for _, c := range []struct {
		family int
		ap     string
	}{
		{unix.AF_INET, "10.1.2.3:4000"},
		{unix.AF_INET6, "[fd00::1]:53"},
		{unix.AF_INET6, "[::ffff:10.0.0.1]:7"},
	} {
		ap := mustAddrPort(c.ap)
		fam, got, err := parseSockaddr(sockaddr(c.family, ap))
		if err != nil || fam != c.family || got != ap {
			t.Errorf("%s: family %d, %v, %v", c.ap, fam, got, err)
		}
	}
	for _, bad := range [][]byte{nil, {2}, {2, 0, 1, 2}, {10, 0, 0, 0, 0, 0, 0, 0}, {1, 0}} {
		if _, _, err := parseSockaddr(bad); err == nil {
			t.Errorf("% x: accepted", bad)
		}
	}
	if fam, _, err := parseSockaddr([]byte{0, 0}); err != nil || fam != unix.AF_UNSPEC {
		t.Errorf("AF_UNSPEC: %d %v", fam, err)
	}
}

func TestTransportForServesDatagramAndTCPSockets(t *testing.T) {
	for _, c := range []struct {
		domain, stype, proto int
		want                 unix.Errno
	}{
		{unix.AF_INET, unix.SOCK_DGRAM, 0, 0},
		{unix.AF_INET, unix.SOCK_DGRAM | unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC, unix.IPPROTO_UDP, 0},
		{unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_ICMP, 0},
		{unix.AF_INET6, unix.SOCK_DGRAM, unix.IPPROTO_ICMPV6, 0},
		{unix.AF_INET6, unix.SOCK_DGRAM, unix.IPPROTO_ICMP, unix.EPROTONOSUPPORT},
		{unix.AF_INET, unix.SOCK_STREAM, 0, 0},
		{unix.AF_INET6, unix.SOCK_STREAM | unix.SOCK_NONBLOCK, unix.IPPROTO_TCP, 0},
		{unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_UDP, unix.EPROTONOSUPPORT},
		{unix.AF_INET, unix.SOCK_SEQPACKET, 0, unix.EPROTONOSUPPORT},
		{unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP, unix.EPROTONOSUPPORT},
		{unix.AF_UNIX, unix.SOCK_DGRAM, 0, unix.EAFNOSUPPORT},
	} {
		if _, _, got := transportFor(c.domain, c.stype, c.proto); got != c.want {
			t.Errorf("socket(%d, %#x, %d): %v, want %v", c.domain, c.stype, c.proto, got, c.want)
		}
	}
}
