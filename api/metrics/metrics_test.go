package metrics

import (
	"math"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/packet/analyzer"
	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/stack"
	"github.com/openperfd/openperfd/workers"
)

type fakePorts []packetio.PortView

func (f fakePorts) Ports(packetio.Kind) ([]packetio.PortView, error) { return f, nil }

type fakeWorkers []workers.Stats

func (f fakeWorkers) Stats() []workers.Stats { return f }

type fakeStack struct{}

func (fakeStack) Count() int { return 3 }
func (fakeStack) ProtocolCounters() map[string]stack.ProtocolStats {
	return map[string]stack.ProtocolStats{"arp": {RxPackets: 4, TxPackets: 5}}
}

type fakePools []memory.PoolStats

func (f fakePools) Pools() []memory.PoolStats { return f }

type fakeGens []generator.ResultView

func (f fakeGens) Results(string, string) []generator.ResultView { return f }

type fakeAns []analyzer.ResultView

func (f fakeAns) Results(string, string) []analyzer.ResultView { return f }

func fullSources() Sources {
	lat := func(p50 int64) *analyzer.Digest {
		return &analyzer.Digest{Count: 2, Min: 1000, Max: 3000, P50: p50, P90: 3000, P99: 3000, P999: 3000,
			Centroids: []analyzer.Centroid{{Mean: float64(p50), Weight: 1}, {Mean: 3000, Weight: 1}}}
	}
	return Sources{
		Ports: fakePorts{{Info: packetio.PortInfo{ID: "port0", Driver: "net_ring"},
			Link:  packetio.LinkStatus{Known: true, Up: true, SpeedMbps: 10000},
			Stats: packetio.PortStats{RxPackets: 1, TxPackets: 2, RxBytes: 64, TxBytes: 128}}},
		Workers: fakeWorkers{{ID: 0, CPU: 1, BusyLoops: 7, IdleLoops: 9}},
		Stack:   fakeStack{},
		Pools:   fakePools{{Name: "pool0", Available: 10, Used: 5, Max: 6, Size: 15}},
		Generators: fakeGens{{ID: "r1", GeneratorID: "g1", TargetID: "port0", Active: true, Flows: 1,
			Counters: generator.FlowCounters{PacketsActual: 100, OctetsActual: 6400}}},
		Analyzers: fakeAns{{ID: "r2", AnalyzerID: "a1", SourceID: "port1", Results: analyzer.Results{
			Active: true,
			Totals: analyzer.Counters{FrameCount: 4, Sequence: &analyzer.Sequence{Dropped: 1, InOrder: 3},
				Latency: &analyzer.Summary{Count: 4, Min: 1000, Max: 3000, Total: 8000}},
			Flows: []analyzer.FlowResult{{Digests: analyzer.Digests{Latency: lat(1000)}},
				{Digests: analyzer.Digests{Latency: lat(2000)}}},
		}}},
	}
}

func TestMetricsFollowPrometheusConventions(t *testing.T) {
	c := NewCollector(fullSources(), zap.NewNop())
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	n, err := testutil.GatherAndCount(registry(t, c))
	if err != nil || n == 0 {
		t.Fatalf("gathered %d metrics: %v", n, err)
	}
}

func TestMetricsCarryTheServicesNumbers(t *testing.T) {
	c := NewCollector(fullSources(), zap.NewNop())
	want := `
# HELP openperfd_port_tx_packets_total Packets the port transmitted.
# TYPE openperfd_port_tx_packets_total counter
openperfd_port_tx_packets_total{port="port0"} 2
# HELP openperfd_generator_tx_frames_total Frames the generator transmitted.
# TYPE openperfd_generator_tx_frames_total counter
openperfd_generator_tx_frames_total{generator="g1",result="r1",target="port0"} 100
# HELP openperfd_analyzer_sequence_frames_total Frames by sequence status (from signatures): status="dropped" counts lost frames.
# TYPE openperfd_analyzer_sequence_frames_total counter
openperfd_analyzer_sequence_frames_total{analyzer="a1",result="r2",source="port1",status="dropped"} 1
openperfd_analyzer_sequence_frames_total{analyzer="a1",result="r2",source="port1",status="duplicate"} 0
openperfd_analyzer_sequence_frames_total{analyzer="a1",result="r2",source="port1",status="in_order"} 3
openperfd_analyzer_sequence_frames_total{analyzer="a1",result="r2",source="port1",status="late"} 0
openperfd_analyzer_sequence_frames_total{analyzer="a1",result="r2",source="port1",status="reordered"} 0
# HELP openperfd_analyzer_latency_seconds Latency of signed frames.
# TYPE openperfd_analyzer_latency_seconds summary
openperfd_analyzer_latency_seconds{analyzer="a1",result="r2",source="port1",quantile="0"} 1e-06
openperfd_analyzer_latency_seconds{analyzer="a1",result="r2",source="port1",quantile="0.5"} 2e-06
openperfd_analyzer_latency_seconds{analyzer="a1",result="r2",source="port1",quantile="0.9"} 3e-06
openperfd_analyzer_latency_seconds{analyzer="a1",result="r2",source="port1",quantile="0.99"} 3e-06
openperfd_analyzer_latency_seconds{analyzer="a1",result="r2",source="port1",quantile="0.999"} 3e-06
openperfd_analyzer_latency_seconds{analyzer="a1",result="r2",source="port1",quantile="1"} 3e-06
openperfd_analyzer_latency_seconds_sum{analyzer="a1",result="r2",source="port1"} 8e-06
openperfd_analyzer_latency_seconds_count{analyzer="a1",result="r2",source="port1"} 4
# HELP openperfd_mempool_used_buffers Buffers handed out and not yet returned.
# TYPE openperfd_mempool_used_buffers gauge
openperfd_mempool_used_buffers{pool="pool0"} 5
`
	err := testutil.CollectAndCompare(c, strings.NewReader(want), "openperfd_port_tx_packets_total",
		"openperfd_generator_tx_frames_total", "openperfd_analyzer_sequence_frames_total",
		"openperfd_analyzer_latency_seconds", "openperfd_mempool_used_buffers")
	if err != nil {
		t.Error(err)
	}
}

func TestModulesNotLoadedAreLeftOut(t *testing.T) {
	c := NewCollector(Sources{Ports: fullSources().Ports}, zap.NewNop())
	n := testutil.CollectAndCount(c)
	if n != 8 { // the port's families, one series each
		t.Errorf("collected %d series from one port alone, want 8", n)
	}
}

func TestQuantiles(t *testing.T) {
	s := &analyzer.Summary{Count: 10, Min: 1, Max: 100, Total: 500}
	for _, tc := range []struct {
		name    string
		digests []*analyzer.Digest
		want    map[float64]float64
	}{
		{"no digest: the exact bounds only", nil, map[float64]float64{0: 1, 1: 100}},
		{"one digest: its own percentiles", []*analyzer.Digest{{Count: 10, P50: 5, P90: 9, P99: 10, P999: 10}},
			map[float64]float64{0: 1, 0.5: 5, 0.9: 9, 0.99: 10, 0.999: 10, 1: 100}},
		{"several: bins merged by nearest rank", []*analyzer.Digest{
			{Count: 5, Centroids: []analyzer.Centroid{{Mean: 10, Weight: 5}}},
			{Count: 5, Centroids: []analyzer.Centroid{{Mean: 20, Weight: 4}, {Mean: 200, Weight: 1}}},
		}, map[float64]float64{0: 1, 0.5: 10, 0.9: 20, 0.99: 100, 0.999: 100, 1: 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := quantiles(s, tc.digests, 1)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for q, v := range tc.want {
				if math.Abs(got[q]-v) > 1e-9 {
					t.Errorf("quantile %v = %v, want %v", q, got[q], v)
				}
			}
		})
	}
	if q := quantiles(&analyzer.Summary{}, nil, 1); q != nil {
		t.Errorf("an empty summary has quantiles %v", q)
	}
}

func registry(t *testing.T, c *Collector) *prometheus.Registry {
	t.Helper()
	r := prometheus.NewRegistry()
	if err := r.Register(c); err != nil {
		t.Fatal(err)
	}
	return r
}
