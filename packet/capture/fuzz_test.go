package capture

import (
	"bytes"
	"testing"

	"github.com/openperfd/openperfd/packet/bpf"
	"github.com/openperfd/openperfd/packetio"
)

// fuzzFilters are chosen by the fuzzer; nil passes everything.
var fuzzFilters = []string{"", "ether[0] & 1 = 0", "len > 100", "udp"}

// FuzzCapture pushes arbitrary frames, of arbitrary sizes and in arbitrary
// bursts, through arbitrary configurations, and checks that nothing
// panics and the export is consistent: it parses, it matches the results,
// it is in timestamp order, and it is a run of the frames the capture may
// take, in push order, each truncated as configured.
func FuzzCapture(f *testing.F) {
	filters := make([]*bpf.Filter, len(fuzzFilters))
	for i, expr := range fuzzFilters {
		filters[i] = mustCompile(f, expr)
	}
	f.Add(uint32(0), uint16(0), false, uint8(0), uint8(0), uint8(32), []byte{0, 64, 0, 64, 5, 220})
	f.Add(uint32(100), uint16(64), true, uint8(5), uint8(3), uint8(7), []byte{0, 0, 0, 1, 0, 59, 35, 140, 0, 200})
	f.Add(uint32(4096), uint16(1), true, uint8(0), uint8(0x1e), uint8(1), bytes.Repeat([]byte{1, 44}, 300))
	f.Add(uint32(65535), uint16(1999), false, uint8(200), uint8(0x3f), uint8(64), bytes.Repeat([]byte{7, 255, 0, 61}, 50))
	f.Fuzz(func(t *testing.T, bufExtra uint32, packetSize uint16, wrap bool, count, knobs, burstLen uint8, sizes []byte) {
		var clk int64 = t0
		cfg := Config{
			BufferSize:  MinBufferSize + int64(bufExtra%(64<<10)),
			BufferWrap:  wrap,
			PacketSize:  int(packetSize % 2000),
			PacketCount: int64(count),
			Direction:   Direction(knobs%3 + 1),
			Filter:      filters[knobs>>2%4],
			Clock:       func() int64 { clk++; return clk },
		}
		if knobs&0x10 != 0 {
			cfg.StartTrigger = filters[2]
		}
		if knobs&0x20 != 0 {
			cfg.StopTrigger = filters[1]
		}
		c, err := New(cfg)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		mustStart(t, c)

		// frames: two bytes of sizes per frame, bytes that differ per frame
		var frames [][]byte
		var eligible [][]byte // frames in the capture's direction that pass the filter
		for i := 0; i+1 < len(sizes); i += 2 {
			n := (int(sizes[i])<<8 | int(sizes[i+1])) % 9100
			fr := make([]byte, n)
			for j := range fr {
				fr[j] = byte(i*7+j) ^ sizes[i]
			}
			frames = append(frames, fr)
		}
		bl := max(1, int(burstLen)%80)
		for i := 0; i < len(frames); i += bl {
			var pkts []*packetio.Mbuf
			for _, fr := range frames[i:min(i+bl, len(frames))] {
				pkts = append(pkts, mbuf(fr))
			}
			dir := DirRx
			if (i/bl)%2 == 1 {
				dir = DirTx
				c.PushTx(uint16(i), pkts)
			} else {
				c.Push(uint16(i), pkts)
			}
			if cfg.Direction&dir != 0 {
				for _, fr := range frames[i:min(i+bl, len(frames))] {
					if cfg.Filter.Match(fr) {
						eligible = append(eligible, fr)
					}
				}
			}
		}

		r := c.Results()
		if r.Bytes > uint64(cfg.BufferSize) || r.Packets > uint64(len(eligible)) {
			t.Fatalf("results %+v for %d eligible frames in %d bytes", r, len(eligible), cfg.BufferSize)
		}
		if cfg.PacketCount > 0 && r.Packets > uint64(cfg.PacketCount) {
			t.Fatalf("results %+v over the packet count %d", r, cfg.PacketCount)
		}
		ps := readPcapng(t, export(t, All, c))
		if uint64(len(ps)) != r.Packets {
			t.Fatalf("exported %d packets, results say %d", len(ps), r.Packets)
		}
		var sum uint64
		for i, p := range ps {
			sum += uint64(p.capLen)
			if i > 0 && p.ts < ps[i-1].ts {
				t.Fatalf("packet %d: timestamp goes back", i)
			}
		}
		if sum != r.Bytes {
			t.Fatalf("exported %d bytes, results say %d", sum, r.Bytes)
		}
		if len(ps) == 0 {
			return
		}
		snap := c.snap
		matches := func(j int) bool {
			if j+len(ps) > len(eligible) {
				return false
			}
			for k, p := range ps {
				fr := eligible[j+k]
				if p.origLen != len(fr) || !bytes.Equal(p.data, fr[:min(len(fr), snap)]) {
					return false
				}
			}
			return true
		}
		start := -1
		for j := range eligible {
			if matches(j) {
				start = j
				break
			}
		}
		if start < 0 {
			t.Fatalf("the %d exported packets are not a run of the %d eligible frames", len(ps), len(eligible))
		}
		if !wrap && cfg.StartTrigger == nil && start != 0 && !bytes.Equal(eligible[0], eligible[start]) {
			t.Fatalf("without wrap or trigger the export starts at frame %d", start)
		}
	})
}
