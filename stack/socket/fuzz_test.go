package socket

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzControlMessage feeds the control-channel parser what a hostile
// client could send: it must refuse or decode, never panic.
func FuzzControlMessage(f *testing.F) {
	f.Add(encodeRequest(opSocket, 0, unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_ICMP, nil))
	f.Add(encodeRequest(opBind, 1, 0, 0, 0, sockaddr(unix.AF_INET, mustAddrPort("10.0.0.1:53"))))
	f.Add(encodeRequest(opConnect, 1, 0, 0, 0, sockaddr(unix.AF_INET6, mustAddrPort("[fd00::2]:7"))))
	f.Add(encodeRequest(opSetsockopt, 1, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, 0, []byte("a\x00")))
	f.Add(encodeRequest(opConnect, 1, 0, 0, 0, []byte{0, 0}))
	f.Add(encodeRequest(opSocket, 0, unix.AF_INET6, unix.SOCK_STREAM, unix.IPPROTO_TCP, nil))
	f.Add(encodeRequest(opListen, 1, 128, 0, 0, nil))
	f.Add(encodeRequest(opAccept, 1, 0, 0, 0, nil))
	f.Add(encodeRequest(opSetsockopt, 1, unix.SOL_SOCKET, unix.SO_LINGER, 0, []byte{1, 0, 0, 0, 5, 0, 0, 0}))
	f.Add(encodeRequest(opHold, 1, 0, 0, 0, []byte{1, 2, 3, 4, 5, 6, 7, 8}))
	f.Add(encodeRequest(opHold, 1, 0, 0, 0, []byte{1, 2, 3}))
	f.Add(encodeRequest(opHello, 0, 4242, 0, 0, nil))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, msg []byte) {
		r, err := parseRequest(msg)
		if err != nil {
			return
		}
		if len(r.data) > dataMax {
			t.Fatalf("data of %d bytes", len(r.data))
		}
		if r.op == opHold && len(r.data) != tokenSize {
			t.Fatalf("hold with a token of %d bytes", len(r.data))
		}
		fam, ap, err := parseSockaddr(r.data)
		if err == nil && fam != unix.AF_UNSPEC {
			// What parses encodes back to the same address.
			_, again, err := parseSockaddr(sockaddr(fam, ap))
			if err != nil || again != ap {
				t.Fatalf("%v -> %v, %v", ap, again, err)
			}
		}
	})
}

// FuzzRingPop reads a ring whose shared memory a hostile client wrote:
// pop must refuse or return a record inside the ring, never panic.
func FuzzRingPop(f *testing.F) {
	f.Add(uint64(48), uint32(8), uint16(16), []byte("datagram"))
	f.Add(uint64(1<<40), uint32(0), uint16(0), []byte{})
	f.Add(uint64(4096), uint32(4056), uint16(28), []byte{1})
	f.Add(uint64(40), uint32(0), uint16(0), []byte{})
	f.Fuzz(func(t *testing.T, head uint64, plen uint32, alen uint16, body []byte) {
		_, cons, mem := ringPair(4096)
		binary.NativeEndian.PutUint64(mem[offRxHead:], head)
		binary.NativeEndian.PutUint32(mem[offData:], plen)
		binary.NativeEndian.PutUint16(mem[offData+4:], alen)
		copy(mem[offData+recordHdr:], body)
		buf := make([]byte, maxDgram)
		var addr [28]byte
		for range 4 {
			n, a, err := cons.pop(buf, &addr)
			if err != nil || n < 0 {
				return
			}
			if n > maxDgram || a > len(addr) {
				t.Fatalf("record of %d bytes, address %d", n, a)
			}
		}
	})
}
