package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/openperfd/openperfd/api/gen"
)

// demoTick is the time between progress lines (tests shorten it).
var demoTick = time.Second

// demoConfig is what the demo's flags choose.
type demoConfig struct {
	seconds        int
	rate           siValue
	txPort, rxPort string
	length         int32
	flows          int64
}

func demoRun(fs *pflag.FlagSet) runFunc {
	c := demoConfig{rate: 1000000}
	fs.IntVar(&c.seconds, "seconds", 10, "how long to send")
	fs.Var(&c.rate, "rate", "frames per second (1M, 100k)")
	fs.StringVar(&c.txPort, "tx-port", "0", "port the generator sends on")
	fs.StringVar(&c.rxPort, "rx-port", "1", "port the analyzer listens on")
	fs.Int32Var(&c.length, "length", 128, "frame length in bytes, FCS included")
	fs.Int64Var(&c.flows, "flows", 4, "flows (source addresses, one signature stream each)")
	return func(ctx context.Context, a *app, _ []string) error {
		if c.seconds < 1 || c.rate < 1 || c.flows < 1 {
			return usageErrorf("--seconds, --rate and --flows must be positive")
		}
		d := &demo{app: a, cfg: c}
		return d.run(ctx)
	}
}

// demo runs one generator into one analyzer and reports. It runs on one
// goroutine; the ids are those of what it created, for clean-up.
type demo struct {
	app                       *app
	cfg                       demoConfig
	analyzerID, generatorID   string
	analyzerRes, generatorRes string
	analyzerActive, genActive bool
}

// demoSample is the counters at one moment.
type demoSample struct {
	at       time.Time
	gen      gen.PacketGeneratorFlowCounters
	ana      gen.PacketAnalyzerFlowCounters
	flows    []gen.RxFlow
	bins     latencyBins // the flows' latency digests added up
	p50, p99 *int64      // latency percentiles over all flows, since the start
}

// demoProgress is one line of the run; --json prints it as an object.
// Rates and latency are of the second just ended (latency: of the frames
// received in it); the frame counts are totals since the start.
type demoProgress struct {
	Second     int     `json:"second"`
	Seconds    int     `json:"seconds"`
	TxFPS      float64 `json:"tx_frames_per_second"`
	RxFPS      float64 `json:"rx_frames_per_second"`
	LatencyAvg *int64  `json:"interval_latency_avg_ns,omitempty"`
	LatencyP99 *int64  `json:"interval_latency_p99_ns,omitempty"`
	Sent       int64   `json:"frames_sent"`
	Received   int64   `json:"frames_received"`
	// NotReceived is Sent - Received: frames in flight while the
	// generator runs; what is left of it once it has stopped is lost.
	NotReceived int64 `json:"frames_not_received"`
	Dropped     int64 `json:"sequence_dropped"`
}

// demoSummary is the end of the run; --json prints it as {"summary": ...}.
type demoSummary struct {
	Sent       int64   `json:"frames_sent"`
	Received   int64   `json:"frames_received"`
	Lost       int64   `json:"frames_lost"`
	Dropped    int64   `json:"sequence_dropped"`
	Late       int64   `json:"late"`
	Reordered  int64   `json:"reordered"`
	Duplicates int64   `json:"duplicates"`
	LatencyMin *int64  `json:"latency_min_ns,omitempty"`
	LatencyAvg *int64  `json:"latency_avg_ns,omitempty"`
	LatencyMax *int64  `json:"latency_max_ns,omitempty"`
	LatencyP50 *int64  `json:"latency_p50_ns,omitempty"`
	LatencyP99 *int64  `json:"latency_p99_ns,omitempty"`
	TxFPS      float64 `json:"mean_tx_frames_per_second"`
	TxBPS      float64 `json:"mean_tx_bits_per_second"`
	RxFPS      float64 `json:"mean_rx_frames_per_second"`
}

func (d *demo) run(ctx context.Context) (err error) {
	var start time.Time
	defer func() {
		if ctx.Err() != nil || errors.Is(err, errInterrupted) {
			err = errInterrupted
			if d.generatorRes != "" && !start.IsZero() {
				// Ctrl-C: what ran so far is still worth its summary.
				d.say(fmt.Sprintf("\ninterrupted after %.1f s: stopping the generator", time.Since(start).Seconds()))
				if serr := d.finish(ctx, start, true); serr != nil {
					d.say(fmt.Sprintf("no summary: %v", serr))
				}
			} else {
				d.say("interrupted")
			}
		}
		cerr := d.cleanup(ctx)
		switch {
		case cerr != nil && err == nil:
			err = fmt.Errorf("demo: clean-up: %w", cerr)
		case cerr == nil:
			d.say("deleted the demo's generator and analyzer")
		}
	}()
	if err := d.setUp(ctx); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	start = time.Now()
	if err := d.runFor(ctx); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return d.finish(ctx, start, false)
}

// finish stops the generator, waits for its last frames and prints the
// summary. After Ctrl-C (interrupted) it runs on a context of its own
// with a time limit, as the one given is cancelled.
func (d *demo) finish(ctx context.Context, start time.Time, interrupted bool) error {
	if interrupted {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
	}
	if err := d.stopAndDrain(ctx); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	final, err := d.sample(ctx)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return d.report(summarize(final, time.Since(start)), interrupted)
}

// setUp creates and starts the analyzer, then the generator.
func (d *demo) setUp(ctx context.Context) error {
	a, c := d.app, d.cfg
	vr, err := a.api.GetVersionWithResponse(ctx)
	if err := a.check(vr, err); err != nil {
		return err
	}
	an, _ := quickAnalyzer{source: c.rxPort, latency: true}.build()
	ar, err := a.api.CreatePacketAnalyzerWithResponse(ctx, an)
	if err := a.check(ar, err); err != nil {
		return fmt.Errorf("create analyzer on port %s: %w", c.rxPort, err)
	}
	created, err := got(ar.JSON201, ar.Body)
	if err != nil {
		return err
	}
	d.analyzerID = deref(created.Id)
	sr, err := a.api.StartPacketAnalyzerWithResponse(ctx, d.analyzerID)
	if err := a.check(sr, err); err != nil {
		return fmt.Errorf("start analyzer %s: %w", d.analyzerID, err)
	}
	d.analyzerActive = true
	res, err := got(sr.JSON201, sr.Body)
	if err != nil {
		return err
	}
	d.analyzerRes = res.Id

	// Stream ids no other generator uses, as the quick form picks them:
	// the demo's flows stay its own in rx-flows.
	lr, err := a.api.ListPacketGeneratorsWithResponse(ctx, &gen.ListPacketGeneratorsParams{})
	if err := a.check(lr, err); err != nil {
		return err
	}
	others, err := got(lr.JSON200, lr.Body)
	if err != nil {
		return err
	}
	g, err := quickGenerator{port: c.txPort, rate: c.rate, length: c.length, burst: 32, flows: c.flows, streamID: nextStreamID(others),
		srcMAC: "02:00:00:00:00:01", dstMAC: "02:00:00:00:00:02", srcIP: "198.18.0.1", dstIP: "198.18.1.1"}.build()
	if err != nil {
		return err
	}
	gr, err := a.api.CreatePacketGeneratorWithResponse(ctx, g)
	if err := a.check(gr, err); err != nil {
		return fmt.Errorf("create generator on port %s: %w", c.txPort, err)
	}
	gc, err := got(gr.JSON201, gr.Body)
	if err != nil {
		return err
	}
	d.generatorID = deref(gc.Id)
	if !a.json {
		d.say(fmt.Sprintf("openperfd %s at %s", deref(vr.JSON200).Version, a.server))
		d.say(fmt.Sprintf("analyzer  %s on port %s: frames, sequence, latency, jitter", d.analyzerID, c.rxPort))
		d.say(fmt.Sprintf("generator %s on port %s: %d flows of ethernet/ipv4/udp, %d-byte frames with signatures, %s frames/s",
			d.generatorID, c.txPort, c.flows, c.length, si(float64(c.rate))))
		d.say(fmt.Sprintf("sending for %d s (Ctrl-C stops early, prints the summary so far and cleans up)", c.seconds))
		d.say(demoLegend + "\n")
	}
	st, err := a.api.StartPacketGeneratorWithResponse(ctx, d.generatorID)
	if err := a.check(st, err); err != nil {
		return fmt.Errorf("start generator %s: %w", d.generatorID, err)
	}
	d.genActive = true
	gres, err := got(st.JSON201, st.Body)
	if err != nil {
		return err
	}
	d.generatorRes = gres.Id
	return nil
}

// runFor prints a progress line per second.
func (d *demo) runFor(ctx context.Context) error {
	prev := demoSample{at: time.Now()}
	tick := time.NewTicker(demoTick)
	defer tick.Stop()
	for s := 1; s <= d.cfg.seconds; s++ {
		select {
		case <-ctx.Done():
			return errInterrupted
		case <-tick.C:
		}
		cur, err := d.sample(ctx)
		if err != nil {
			return err
		}
		if err := d.progress(progressOf(prev, cur, s, d.cfg.seconds)); err != nil {
			return err
		}
		prev = cur
	}
	return nil
}

// stopAndDrain stops the generator and waits until the analyzer has seen
// every frame sent, or its count has stopped moving (at most 2 s), then
// stops the analyzer.
func (d *demo) stopAndDrain(ctx context.Context) error {
	a := d.app
	r, err := a.api.StopPacketGeneratorWithResponse(ctx, d.generatorID)
	if err := a.check(r, err); err != nil {
		return fmt.Errorf("stop generator %s: %w", d.generatorID, err)
	}
	d.genActive = false
	gr, err := a.api.GetPacketGeneratorResultWithResponse(ctx, d.generatorRes)
	if err := a.check(gr, err); err != nil {
		return err
	}
	sent := deref(gr.JSON200).FlowCounters.PacketsActual
	deadline := time.Now().Add(2 * demoTick)
	last, still := int64(-1), 0
	for time.Now().Before(deadline) {
		ar, err := a.api.GetPacketAnalyzerResultWithResponse(ctx, d.analyzerRes)
		if err := a.check(ar, err); err != nil {
			return err
		}
		n := deref(ar.JSON200).FlowCounters.FrameCount
		if n >= sent {
			break
		}
		if n == last {
			if still++; still >= 3 {
				break
			}
		} else {
			last, still = n, 0
		}
		select {
		case <-ctx.Done():
			return errInterrupted
		case <-time.After(demoTick / 10):
		}
	}
	sr, err := a.api.StopPacketAnalyzerWithResponse(ctx, d.analyzerID)
	if err := a.check(sr, err); err != nil {
		return fmt.Errorf("stop analyzer %s: %w", d.analyzerID, err)
	}
	d.analyzerActive = false
	return nil
}

// sample reads the generator's and the analyzer's results and the rx flows.
func (d *demo) sample(ctx context.Context) (demoSample, error) {
	a := d.app
	var s demoSample
	// The analyzer first: read after it, the generator has sent at least
	// what it has received, and tx - rx is what is in flight (or lost).
	ar, err := a.api.GetPacketAnalyzerResultWithResponse(ctx, d.analyzerRes)
	if err := a.check(ar, err); err != nil {
		return s, err
	}
	gr, err := a.api.GetPacketGeneratorResultWithResponse(ctx, d.generatorRes)
	if err := a.check(gr, err); err != nil {
		return s, err
	}
	fr, err := a.api.ListRxFlowsWithResponse(ctx, &gen.ListRxFlowsParams{AnalyzerId: &d.analyzerID})
	if err := a.check(fr, err); err != nil {
		return s, err
	}
	s.at = time.Now()
	g, err := got(gr.JSON200, gr.Body)
	if err != nil {
		return s, err
	}
	an, err := got(ar.JSON200, ar.Body)
	if err != nil {
		return s, err
	}
	flows, err := got(fr.JSON200, fr.Body)
	if err != nil {
		return s, err
	}
	s.gen, s.ana = g.FlowCounters, an.FlowCounters
	for _, f := range flows {
		if f.AnalyzerResultId == d.analyzerRes {
			s.flows = append(s.flows, f)
		}
	}
	s.bins = binsOf(s.flows)
	s.p50, s.p99 = latencyPercentile(s.flows, 0.50), latencyPercentile(s.flows, 0.99)
	return s, nil
}

// progressOf is the progress of second s from two samples.
func progressOf(prev, cur demoSample, s, seconds int) demoProgress {
	secs := cur.at.Sub(prev.at).Seconds()
	per := func(now, before int64) float64 {
		if secs <= 0 || now <= before {
			return 0
		}
		return float64(now-before) / secs
	}
	p := demoProgress{Second: s, Seconds: seconds, Sent: cur.gen.PacketsActual, Received: cur.ana.FrameCount,
		NotReceived: cur.gen.PacketsActual - cur.ana.FrameCount,
		TxFPS:       per(cur.gen.PacketsActual, prev.gen.PacketsActual), RxFPS: per(cur.ana.FrameCount, prev.ana.FrameCount),
		LatencyP99: cur.bins.since(prev.bins).quantile(0.99)}
	if q := cur.ana.Sequence; q != nil {
		p.Dropped = q.Dropped
	}
	if l := cur.ana.Latency; l != nil {
		var before int64
		if prev.ana.Latency != nil {
			before = prev.ana.Latency.Summary.Total
		}
		if n := cur.ana.FrameCount - prev.ana.FrameCount; n > 0 {
			p.LatencyAvg = new((l.Summary.Total - before) / n)
		}
	}
	return p
}

// progressHead heads the progress lines: the second's rates and latency
// on the left, totals since the start on the right. Its widths are
// progressLine's.
func progressHead(seconds int) string {
	w := 2*len(fmt.Sprint(seconds)) + 5 // "%*d/%d s" of progressLine
	return fmt.Sprintf("%*s  %-35s  |  %s\n%*s  %8s %8s %8s %8s  | %13s %13s %13s %9s\n",
		w, "", "this second", "since the start",
		w, "time", "tx/s", "rx/s", "lat avg", "lat p99", "sent", "received", "not received", "dropped")
}

// progressLine is the text of one progress step.
func progressLine(p demoProgress) string {
	w := len(fmt.Sprint(p.Seconds))
	return fmt.Sprintf("%*d/%d s  %s %s %s %s  | %13s %13s %13s %9s",
		w+2, p.Second, p.Seconds, right(si(p.TxFPS), 8), right(si(p.RxFPS), 8),
		right(nanosPtr(p.LatencyAvg), 8), right(nanosPtr(p.LatencyP99), 8),
		count(p.Sent), count(p.Received), count(p.NotReceived), count(p.Dropped))
}

// demoLegend says what the progress columns are.
const demoLegend = `tx/s, rx/s: frames per second sent and received in the second; lat avg, lat p99: latency of the frames
received in that second; not received: sent - received, in flight while sending (what is left once the
generator has stopped is lost); dropped: frames missing from the signatures' sequence numbers`

// progress prints a step as a line; --json as an object.
func (d *demo) progress(p demoProgress) error {
	a := d.app
	if a.json {
		b, err := json.Marshal(p)
		if err != nil {
			return err
		}
		return a.raw(b)
	}
	if p.Second == 1 {
		fmt.Fprint(a.out, progressHead(p.Seconds))
	}
	_, err := fmt.Fprintln(a.out, progressLine(p))
	return err
}

func (d *demo) say(line string) {
	if !d.app.json {
		fmt.Fprintln(d.app.out, line)
	}
}

// summarize makes the summary from the last sample; elapsed is the
// fallback for rates when results carry no timestamps.
func summarize(s demoSample, elapsed time.Duration) demoSummary {
	g, an := s.gen, s.ana
	sum := demoSummary{Sent: g.PacketsActual, Received: an.FrameCount, Lost: max(0, g.PacketsActual-an.FrameCount),
		LatencyP50: s.p50, LatencyP99: s.p99}
	if q := an.Sequence; q != nil {
		sum.Dropped, sum.Late, sum.Reordered, sum.Duplicates = q.Dropped, q.Late, q.Reordered, q.Duplicate
	}
	if l := an.Latency; l != nil && an.FrameCount > 0 {
		sum.LatencyMin, sum.LatencyMax = l.Summary.Min, l.Summary.Max
		sum.LatencyAvg = new(l.Summary.Total / an.FrameCount)
	}
	span := func(first, last *time.Time) float64 {
		if first != nil && last != nil && last.After(*first) {
			return last.Sub(*first).Seconds()
		}
		return elapsed.Seconds()
	}
	if t := span(g.TimestampFirst, g.TimestampLast); t > 0 {
		sum.TxFPS, sum.TxBPS = float64(g.PacketsActual)/t, 8*float64(g.OctetsActual)/t
	}
	if t := span(an.TimestampFirst, an.TimestampLast); t > 0 {
		sum.RxFPS = float64(an.FrameCount) / t
	}
	return sum
}

// report prints the summary; interrupted says it is of a run cut short.
func (d *demo) report(s demoSummary, interrupted bool) error {
	a := d.app
	if a.json {
		b, err := json.Marshal(map[string]any{"summary": s, "interrupted": interrupted})
		if err != nil {
			return err
		}
		return a.raw(b)
	}
	what := "summary"
	if interrupted {
		what = "summary so far"
	}
	fmt.Fprintf(a.out, "\n%s (port %s -> port %s, %d flows, %d-byte frames)\n", what, d.cfg.txPort, d.cfg.rxPort, d.cfg.flows, d.cfg.length)
	return writeFields(a.out, []field{
		{"  frames sent", count(s.Sent)},
		{"  frames received", count(s.Received)},
		{"  frames lost", fmt.Sprintf("%s (%s of those sent; the analyzer's sequence: %s dropped, %s late)",
			count(s.Lost), percent(s.Lost, s.Sent), count(s.Dropped), count(s.Late))},
		{"  reordered", count(s.Reordered)},
		{"  duplicates", count(s.Duplicates)},
		{"  latency", fmt.Sprintf("min %s  avg %s  max %s  p50 %s  p99 %s", nanosPtr(s.LatencyMin), nanosPtr(s.LatencyAvg),
			nanosPtr(s.LatencyMax), nanosPtr(s.LatencyP50), nanosPtr(s.LatencyP99))},
		{"  mean tx rate", fmt.Sprintf("%s frames/s (%sbit/s)", si(s.TxFPS), si(s.TxBPS))},
		{"  mean rx rate", si(s.RxFPS) + " frames/s"},
	})
}

// cleanup stops and deletes what the demo created, even after Ctrl-C (on
// a context of its own with a time limit).
func (d *demo) cleanup(parent context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), 5*time.Second)
	defer cancel()
	a := d.app
	var errs []error
	try := func(what string, r response, err error) {
		if err := a.check(r, err); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
		}
	}
	if d.generatorID != "" {
		if d.genActive {
			r, err := a.api.StopPacketGeneratorWithResponse(ctx, d.generatorID)
			try("stop generator "+d.generatorID, r, err)
		}
		r, err := a.api.DeletePacketGeneratorWithResponse(ctx, d.generatorID)
		try("delete generator "+d.generatorID, r, err)
	}
	if d.analyzerID != "" {
		if d.analyzerActive {
			r, err := a.api.StopPacketAnalyzerWithResponse(ctx, d.analyzerID)
			try("stop analyzer "+d.analyzerID, r, err)
		}
		r, err := a.api.DeletePacketAnalyzerWithResponse(ctx, d.analyzerID)
		try("delete analyzer "+d.analyzerID, r, err)
	}
	return errors.Join(errs...)
}
