package capture

import (
	"testing"

	"github.com/openperfd/openperfd/packetio"
)

// hotConfigs are the configurations the hot-path tests and benchmarks
// run: each wraps, so the buffer never fills.
func hotConfigs(t testing.TB) []struct {
	name string
	cfg  Config
} {
	return []struct {
		name string
		cfg  Config
	}{
		{"plain", Config{BufferWrap: true}},
		{"filter", Config{BufferWrap: true, Filter: mustCompile(t, "udp dst port 9")}},
		{"truncate", Config{BufferWrap: true, PacketSize: 32}},
		{"triggers", Config{BufferWrap: true, Direction: DirRxTx,
			StartTrigger: mustCompile(t, "udp"), StopTrigger: mustCompile(t, "tcp")}},
	}
}

func TestPushDoesNotAllocate(t *testing.T) {
	for _, hc := range hotConfigs(t) {
		t.Run(hc.name, func(t *testing.T) {
			cfg := hc.cfg
			cfg.BufferSize = 64 << 10
			c := mustNew(t, cfg)
			mustStart(t, c)
			pkts := burst(t, packetio.BurstSize, 64, 9, 0)
			// enough bursts to wrap the buffer many times
			allocs := testing.AllocsPerRun(2000, func() {
				c.Push(0, pkts)
				c.PushTx(0, pkts)
			})
			if allocs != 0 {
				t.Fatalf("%v allocations per burst", allocs)
			}
			if r := c.Results(); r.State != StateRunning || r.Packets == 0 {
				t.Fatalf("results %+v", r)
			}
		})
	}
}

// BenchmarkPush stores bursts of 32 64-byte frames; ns/op is per burst,
// ns/pkt per packet.
func BenchmarkPush(b *testing.B) {
	for _, hc := range hotConfigs(b) {
		b.Run(hc.name, func(b *testing.B) {
			c := mustNew(b, hc.cfg)
			mustStart(b, c)
			pkts := burst(b, packetio.BurstSize, 64, 9, 0)
			b.ReportAllocs()
			b.SetBytes(64 * packetio.BurstSize)
			for b.Loop() {
				c.Push(0, pkts)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*packetio.BurstSize), "ns/pkt")
		})
	}
	// two workers pushing to one capture: the cost of sharing its lock
	b.Run("parallel2", func(b *testing.B) {
		c := mustNew(b, Config{BufferWrap: true})
		mustStart(b, c)
		b.ReportAllocs()
		b.SetBytes(64 * packetio.BurstSize)
		b.SetParallelism(1) // GOMAXPROCS goroutines: 2 here
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			pkts := burst(b, packetio.BurstSize, 64, 9, 0)
			for pb.Next() {
				c.Push(0, pkts)
			}
		})
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*packetio.BurstSize), "ns/pkt")
	})
	b.Run("stopped", func(b *testing.B) {
		c := mustNew(b, Config{})
		pkts := burst(b, packetio.BurstSize, 64, 9, 0)
		b.ReportAllocs()
		for b.Loop() {
			c.Push(0, pkts)
		}
	})
}

// BenchmarkExport writes a full 16 MiB capture of 64-byte frames.
func BenchmarkExport(b *testing.B) {
	c := mustNew(b, Config{BufferWrap: true})
	mustStart(b, c)
	pkts := burst(b, packetio.BurstSize, 64, 9, 0)
	for range (16 << 20) / (64 * packetio.BurstSize) {
		c.Push(0, pkts)
	}
	r := c.Results()
	b.ReportAllocs()
	b.SetBytes(int64(r.Bytes))
	for b.Loop() {
		if _, err := c.WriteTo(discard{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(uint64(b.N)*r.Packets), "ns/pkt")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
