package capture

import (
	"bytes"
	"testing"

	"github.com/openperfd/openperfd/packetio"
)

// A 9212-byte frame (9216 with FCS, the longest the generator sends) is
// stored and exported whole, in a capture smaller than a few of them and
// across pcapng chunks; only the capture's own packet_size truncates it,
// and then the record keeps the original length.
func TestJumboFramesAreCapturedWhole(t *testing.T) {
	const n = 9212
	for _, tt := range []struct {
		name       string
		packetSize int
		capLen     int
	}{
		{"whole", 0, n},
		{"packet_size", 200, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(t0)
			c := mustNew(t, Config{Name: "jumbo", BufferSize: 64 << 10, PacketSize: tt.packetSize, Clock: clk.Now})
			mustStart(t, c)
			var frames [][]byte
			for i := range 5 {
				f := udpFrame(t, n, 9, uint32(i))
				frames = append(frames, f)
				c.Push(0, []*packetio.Mbuf{mbuf(f)})
				clk.Add(1000)
			}
			ps := readPcapng(t, export(t, All, c))
			if len(ps) != len(frames) {
				t.Fatalf("read %d packets, want %d", len(ps), len(frames))
			}
			for i, p := range ps {
				if p.capLen != tt.capLen || p.origLen != n || !bytes.Equal(p.data, frames[i][:tt.capLen]) {
					t.Errorf("packet %d: caplen %d len %d, want caplen %d len %d and the frame's bytes", i, p.capLen, p.origLen, tt.capLen, n)
				}
			}
		})
	}
}
