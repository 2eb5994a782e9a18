// Package rfc2544 runs RFC 2544 benchmarks in the daemon: throughput by a
// binary search on frame loss, latency at the throughput found, frame loss
// from 100% of the line rate down, and back-to-back bursts, for each frame
// size and optionally an IMIX. Loss is counted from signatures: frames the
// generator sent against frames the analyzer received with the trial's
// stream id, never port counters. Trials run through the Traffic interface
// that cmd/openperfd fills in with the generator and analyzer services
// (packet modules do not import each other).
package rfc2544

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/openperfd/openperfd/packetio"
)

// Test names one of RFC 2544's tests, as the API spells it.
type Test string

// The tests this package runs, in the order it runs them.
const (
	Throughput Test = "throughput"
	Latency    Test = "latency"
	FrameLoss  Test = "frame_loss"
	BackToBack Test = "back_to_back"
)

// AllTests are the tests in RFC 2544 order.
var AllTests = []Test{Throughput, Latency, FrameLoss, BackToBack}

// DefaultSizes are RFC 2544's Ethernet frame sizes.
var DefaultSizes = []int{64, 128, 256, 512, 1024, 1280, 1518}

// RFC 2544's trial counts, the defaults of a config: the latency test is
// repeated at least 20 times and reports the average (26.2); the
// back-to-back test is repeated at least 50 times and reports the average
// burst length (26.4).
const (
	DefaultLatencyTrials = 20
	DefaultBackToBack    = 50
)

// Limits of a config.
const (
	MinFrame, MaxFrame = 64, 9216
	// overhead is what a frame costs on the wire beyond its length:
	// preamble and start delimiter (8) and the inter-frame gap (12).
	overhead = 20
)

// Config is what a run measures.
type Config struct {
	ID             string
	TxPort, RxPort string
	Sizes          []int
	IMIX           string // an IMIX profile tested after the sizes; "" none
	Tests          []Test
	LossTolerance  float64 // percent of the frames sent
	Trial          time.Duration
	Resolution     float64 // percent of the line rate
	LineRateMbps   int64   // 0: the tx port's link speed
	BackToBack     int     // repeats of the back-to-back search (RFC 2544 26.4: 50)
	LatencyTrials  int     // latency trials at the throughput (RFC 2544 26.2: 20)
	// Retries repeat a failing throughput or back-to-back trial up to so
	// many times; one pass is a pass. A busy host that stalls the sender
	// makes it send a clump that a buffer of the path may not hold: a
	// retry tells that from a load the path really cannot take.
	Retries int
	// Opaque is the API's form of the config, handed back in views.
	Opaque any
}

// Trial is one offered load: Frames frames at Rate frames per second,
// from TxPort to RxPort.
type Trial struct {
	TxPort, RxPort string
	Length         int    // fixed frame length, FCS included; 0 with IMIX
	IMIX           string // IMIX profile name
	Rate           float64
	Frames         uint64
	Latency        bool // also measure latency
	StreamID       uint32
}

// LatencyStats are a trial's latencies in ns.
type LatencyStats struct {
	Frames                             uint64
	Min, Avg, Max, P50, P90, P99, P999 int64
}

// TrialResult is what a trial counted.
type TrialResult struct {
	Tx, Rx  uint64
	Latency *LatencyStats // when asked for and frames arrived
}

// Traffic is what a run needs of the daemon. Implementations must be
// safe for concurrent use and must delete whatever a trial creates, also
// when ctx ends early.
type Traffic interface {
	// LineRate is a port's link speed in Mbps (0: unknown); an unknown
	// port is an error.
	LineRate(portID string) (int64, error)
	// IMIX returns one cycle of a named IMIX profile's frame lengths.
	IMIX(name string) ([]int, error)
	// Check validates a trial without sending anything.
	Check(t Trial) error
	// Run sends a trial and counts what arrived, waiting for frames in
	// flight after the last was sent.
	Run(ctx context.Context, t Trial) (TrialResult, error)
}

// frame is one size (or mix) under test.
type frame struct {
	label   string
	length  int
	imix    string
	mean    float64 // mean frame length
	lineFPS float64 // frames per second at 100%
}

func invalid(format string, a ...any) error {
	return packetio.New(packetio.ErrInvalid, fmt.Sprintf(format, a...))
}

// withDefaults fills a config's defaults and checks it; t gives the port
// speed and checks each frame's trial.
func withDefaults(c Config, t Traffic) (Config, []frame, error) {
	if c.TxPort == "" {
		return c, nil, invalid("tx_port: required")
	}
	if c.RxPort == "" {
		return c, nil, invalid("rx_port: required")
	}
	if c.Sizes == nil && c.IMIX == "" {
		c.Sizes = slices.Clone(DefaultSizes)
	}
	for i, s := range c.Sizes {
		if s < MinFrame || s > MaxFrame {
			return c, nil, invalid("sizes[%d]: %d is outside %d..%d", i, s, MinFrame, MaxFrame)
		}
	}
	if len(c.Sizes) == 0 && c.IMIX == "" {
		return c, nil, invalid("sizes: at least one size (or an imix) is required")
	}
	if len(c.Tests) == 0 {
		c.Tests = slices.Clone(AllTests)
	}
	for i, x := range c.Tests {
		if !slices.Contains(AllTests, x) {
			return c, nil, invalid("tests[%d]: %q is not one of throughput, latency, frame_loss, back_to_back", i, x)
		}
	}
	if c.Trial == 0 {
		c.Trial = 60 * time.Second
	}
	if c.Trial < 100*time.Millisecond || c.Trial > time.Hour {
		return c, nil, invalid("trial_duration: %v is outside 0.1 s..1 h", c.Trial.Seconds())
	}
	if c.Resolution == 0 {
		c.Resolution = 0.5
	}
	if !(c.Resolution >= 0.01 && c.Resolution <= 50) {
		return c, nil, invalid("resolution: %v is outside 0.01..50 percent", c.Resolution)
	}
	if !(c.LossTolerance >= 0 && c.LossTolerance <= 100) {
		return c, nil, invalid("loss_tolerance: %v is outside 0..100 percent", c.LossTolerance)
	}
	if c.BackToBack == 0 {
		c.BackToBack = DefaultBackToBack
	}
	if c.BackToBack < 1 || c.BackToBack > 50 {
		return c, nil, invalid("back_to_back_trials: %d is outside 1..50", c.BackToBack)
	}
	if c.LatencyTrials == 0 {
		c.LatencyTrials = DefaultLatencyTrials
	}
	if c.LatencyTrials < 1 || c.LatencyTrials > 100 {
		return c, nil, invalid("latency_trials: %d is outside 1..100", c.LatencyTrials)
	}
	if c.Retries < 0 || c.Retries > 10 {
		return c, nil, invalid("retries: %d is outside 0..10", c.Retries)
	}
	if c.LineRateMbps < 0 {
		return c, nil, invalid("line_rate_mbps: %d is negative", c.LineRateMbps)
	}
	speed, err := t.LineRate(c.TxPort)
	if err != nil {
		return c, nil, invalid("tx_port: %v", err)
	}
	if _, err := t.LineRate(c.RxPort); err != nil {
		return c, nil, invalid("rx_port: %v", err)
	}
	if c.LineRateMbps == 0 {
		c.LineRateMbps = speed
	}
	if c.LineRateMbps == 0 {
		return c, nil, invalid("line_rate_mbps: port %s does not know its link speed; set line_rate_mbps", c.TxPort)
	}
	var frames []frame
	for _, s := range c.Sizes {
		frames = append(frames, frame{label: strconv.Itoa(s), length: s, mean: float64(s)})
	}
	if c.IMIX != "" {
		ls, err := t.IMIX(c.IMIX)
		if err != nil {
			return c, nil, invalid("imix: %v", err)
		}
		sum := 0
		for _, l := range ls {
			sum += l
		}
		frames = append(frames, frame{label: "imix:" + c.IMIX, imix: c.IMIX, mean: float64(sum) / float64(len(ls))})
	}
	bps := float64(c.LineRateMbps) * 1e6
	for i := range frames {
		f := &frames[i]
		f.lineFPS = bps / ((f.mean + overhead) * 8)
		tr := Trial{TxPort: c.TxPort, RxPort: c.RxPort, Length: f.length, IMIX: f.imix, Rate: f.lineFPS, Frames: 1}
		if err := t.Check(tr); err != nil {
			return c, nil, fmt.Errorf("frame %s: %w", f.label, err)
		}
	}
	return c, frames, nil
}

func (c *Config) has(t Test) bool { return slices.Contains(c.Tests, t) }
