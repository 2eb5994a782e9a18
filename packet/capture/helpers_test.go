package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"sync/atomic"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/openperfd/openperfd/packet/bpf"
	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packetio"
)

var (
	macA = [6]byte{0x02, 0, 0, 0, 0, 0x01}
	macB = [6]byte{0x02, 0, 0, 0, 0, 0x02}
	ip4A = [4]byte{10, 0, 0, 1}
	ip4B = [4]byte{10, 0, 1, 1}
)

// seqOff is where udpFrame writes its sequence number: the UDP payload.
const seqOff = protocol.EthernetLen + protocol.IPv4Len + protocol.UDPLen

// udpFrame builds an Ethernet/IPv4/UDP frame of n bytes (at least 64) to
// dstPort, carrying seq in the first payload bytes.
func udpFrame(t testing.TB, n int, dstPort uint16, seq uint32) []byte {
	t.Helper()
	frame := make([]byte, n)
	stack := protocol.Stack{
		protocol.Ethernet{Dst: macB, Src: macA},
		protocol.IPv4{TTL: 64, Src: ip4A, Dst: ip4B},
		protocol.UDP{SrcPort: 1000, DstPort: dstPort},
	}
	binary.BigEndian.PutUint32(frame[seqOff:], seq) // before Build, which checksums the payload
	if _, err := stack.BuildHeaders(frame); err != nil {
		t.Fatalf("build %d-byte frame: %v", n, err)
	}
	return frame
}

// seqOf reads back udpFrame's sequence number.
func seqOf(frame []byte) uint32 { return binary.BigEndian.Uint32(frame[seqOff:]) }

// mbuf wraps a copy of frame in a heap Mbuf.
func mbuf(frame []byte) *packetio.Mbuf {
	m := packetio.NewHeapMbuf(make([]byte, packetio.MbufHeadroom+max(len(frame), 1)))
	copy(m.Room(), frame)
	m.SetLen(len(frame))
	return m
}

// burst builds count frames of n bytes to dstPort numbered from seq.
func burst(t testing.TB, count, n int, dstPort uint16, seq uint32) []*packetio.Mbuf {
	t.Helper()
	out := make([]*packetio.Mbuf, count)
	for i := range out {
		out[i] = mbuf(udpFrame(t, n, dstPort, seq+uint32(i)))
	}
	return out
}

// clock is a settable test clock, safe for concurrent use.
type testClock struct{ ns atomic.Int64 }

func newClock(ns int64) *testClock { c := &testClock{}; c.ns.Store(ns); return c }
func (c *testClock) Now() int64    { return c.ns.Load() }
func (c *testClock) Add(d int64)   { c.ns.Add(d) }

// t0 is a timestamp with every nanosecond digit set, so that a reader
// that rounds to microseconds shows.
const t0 = 1_700_000_000_123_456_789

func mustNew(t testing.TB, cfg Config) *Capture {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func mustStart(t testing.TB, c *Capture) {
	t.Helper()
	if err := c.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
}

func mustCompile(t testing.TB, expr string) *bpf.Filter {
	t.Helper()
	f, err := bpf.Compile(expr)
	if err != nil {
		t.Fatalf("compile %q: %v", expr, err)
	}
	return f
}

// pkt is one packet read back from a pcapng export.
type pkt struct {
	ts      int64
	iface   int
	capLen  int
	origLen int
	data    []byte
}

// readPcapng parses an export with gopacket's pcapng reader.
func readPcapng(t testing.TB, b []byte) []pkt {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.NgReaderOptions{})
	if err != nil {
		t.Fatalf("pcapng reader: %v", err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Fatalf("link type %v", r.LinkType())
	}
	for i := 0; i < r.NInterfaces(); i++ {
		intf, err := r.Interface(i)
		if err != nil {
			t.Fatalf("interface %d: %v", i, err)
		}
		if intf.TimestampResolution != 9 {
			t.Fatalf("interface %d: timestamp resolution %v, want 9 (ns)", i, intf.TimestampResolution)
		}
	}
	var out []pkt
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("packet %d: %v", len(out), err)
		}
		out = append(out, pkt{ts: ci.Timestamp.UnixNano(), iface: ci.InterfaceIndex,
			capLen: ci.CaptureLength, origLen: ci.Length, data: data})
	}
}

// export writes c (or a merge) to memory.
func export(t testing.TB, r Range, caps ...*Capture) []byte {
	t.Helper()
	var b bytes.Buffer
	n, err := WritePcapng(&b, r, caps...)
	if err != nil {
		t.Fatalf("WritePcapng: %v", err)
	}
	if n != int64(b.Len()) {
		t.Fatalf("WritePcapng returned %d, wrote %d", n, b.Len())
	}
	return b.Bytes()
}

// seqs returns the sequence numbers of exported packets.
func seqs(ps []pkt) []uint32 {
	out := make([]uint32, len(ps))
	for i, p := range ps {
		out[i] = seqOf(p.data)
	}
	return out
}

// run returns n consecutive numbers from first.
func run(first, n uint32) []uint32 {
	out := make([]uint32, n)
	for i := range out {
		out[i] = first + uint32(i)
	}
	return out
}
