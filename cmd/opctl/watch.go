package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/openperfd/openperfd/api/gen"
)

func watchRun(fs *pflag.FlagSet) runFunc {
	interval := fs.Duration("interval", time.Second, "time between samples")
	samples := fs.Int("count", 0, "stop after this many samples (0: until Ctrl-C)")
	return func(ctx context.Context, a *app, _ []string) error {
		if *interval <= 0 || *samples < 0 {
			return usageErrorf("--interval must be positive and --count not negative")
		}
		w := &watcher{app: a, ifacePort: map[string]string{}, interval: *interval}
		return w.loop(ctx, *samples)
	}
}

// watcher samples counters and prints rates. It runs on one goroutine.
type watcher struct {
	app       *app
	interval  time.Duration
	ifacePort map[string]string // interface id -> port id, filled as generators need it
	lines     int               // lines of the last terminal frame, to redraw over it
}

// maxWatchFlows bounds the rx flows watch reads each interval for an
// analyzer's latency percentiles: beyond it, reading them would load the
// daemon more than watching is worth (65536 flows take a second or more).
const maxWatchFlows = 4096

// sample is the counters at one moment.
type sample struct {
	at         time.Time
	ports      []string         // port ids in API order
	portRx     map[string]int64 // rx frames by port (port stats)
	generators []string         // generator ids in API order
	genTarget  map[string]string
	genPort    map[string]string // port a generator's target sits on ("" if unknown)
	genActive  map[string]bool
	genFrames  map[string]int64 // frames sent, summed over the generator's results
	genOctets  map[string]int64
	analyzers  []string // analyzer ids in API order
	anaSource  map[string]string
	anaActive  map[string]bool
	anaFrames  map[string]int64 // frames received, summed over the analyzer's results
	anaSeq     map[string]bool  // the analyzer's results count sequence errors
	anaDropped map[string]int64
	anaUnique  map[string]int64 // frames received, less duplicates (for the loss share)
	anaLatency map[string]latencySum
	anaBins    map[string]latencyBins // latency digests of the analyzer's flows, when read
}

// latencySum is the latency summary of an analyzer's results together.
type latencySum struct {
	total, frames int64
}

// rates is what one watch step shows; --json prints it as one line.
// Rates (per second) and latency are over the interval between two
// samples; frame counts, dropped frames and loss are totals since each
// result started.
type rates struct {
	Time       time.Time       `json:"time"`
	Seconds    float64         `json:"interval_seconds"`
	Ports      []portRates     `json:"ports"`
	Generators []generatorRate `json:"generators"`
	Analyzers  []analyzerRate  `json:"analyzers"`
}

type portRates struct {
	ID       string  `json:"id"`
	TxFPS    float64 `json:"tx_frames_per_second"` // from the results of generators on the port
	RxFPS    float64 `json:"rx_frames_per_second"` // from the port's stats
	RxFrames int64   `json:"rx_frames"`            // total, the port's stats
}

type generatorRate struct {
	ID       string  `json:"id"`
	Target   string  `json:"target_id"`
	Active   bool    `json:"active"`
	TxFPS    float64 `json:"tx_frames_per_second"`
	TxBPS    float64 `json:"tx_bits_per_second"` // FCS included
	TxFrames int64   `json:"tx_frames"`          // total of its results
}

type analyzerRate struct {
	ID       string  `json:"id"`
	Source   string  `json:"source_id"`
	Active   bool    `json:"active"`
	RxFPS    float64 `json:"rx_frames_per_second"`
	RxFrames int64   `json:"rx_frames"` // total of its results
	// Dropped is the sequence counter (frames of signed streams not
	// received), total of its results; Loss is it in percent of the
	// frames the sequence numbers say were sent. nil when the analyzer
	// does not sequence.
	Dropped *int64   `json:"dropped,omitempty"`
	Loss    *float64 `json:"loss_percent,omitempty"`
	// LatencyAvg and LatencyP99 are of the frames received in the
	// interval, in ns; nil when the analyzer does not measure latency (or,
	// for the p99, keeps no latency digest, has more than maxWatchFlows
	// flows, or received nothing in the interval).
	LatencyAvg *int64 `json:"interval_latency_avg_ns,omitempty"`
	LatencyP99 *int64 `json:"interval_latency_p99_ns,omitempty"`
}

func (w *watcher) loop(ctx context.Context, samples int) error {
	first, err := w.sample(ctx)
	if err != nil {
		return err
	}
	if !w.app.json && !w.app.tty {
		fmt.Fprintln(w.app.out, watchLegend(w.interval))
	}
	prev := first
	tick := time.NewTicker(w.interval)
	defer tick.Stop()
	for n := 0; samples == 0 || n < samples; n++ {
		select {
		case <-ctx.Done():
			return w.summary(ctx, first)
		case <-tick.C:
		}
		cur, err := w.sample(ctx)
		if ctx.Err() != nil {
			return w.summary(ctx, first)
		}
		if err != nil {
			return err
		}
		if err := w.show(computeRates(prev, cur)); err != nil {
			return err
		}
		prev = cur
	}
	return nil
}

// summary prints, after Ctrl-C, the rates over the whole watch: the first
// sample against one taken now (on a context of its own with a time
// limit, as ctx is cancelled).
func (w *watcher) summary(ctx context.Context, first sample) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	last, err := w.sample(ctx)
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	r := computeRates(first, last)
	a := w.app
	if a.json {
		b, err := json.Marshal(map[string]rates{"summary": r})
		if err != nil {
			return err
		}
		return a.raw(b)
	}
	fmt.Fprintf(a.out, "\nsummary of the %.1f s watched: /s is the mean rate over it, latency that of the frames received in it;"+
		" frames, dropped and loss are totals since each result started\n\n%s", r.Seconds, watchTables(r))
	return nil
}

// sample reads ports, generators, analyzers and their results (and
// interfaces, when a generator sits on one not seen before).
func (w *watcher) sample(ctx context.Context) (sample, error) {
	a := w.app
	s := sample{portRx: map[string]int64{}, genTarget: map[string]string{}, genPort: map[string]string{},
		genActive: map[string]bool{}, genFrames: map[string]int64{}, genOctets: map[string]int64{},
		anaSource: map[string]string{}, anaActive: map[string]bool{}, anaFrames: map[string]int64{},
		anaSeq: map[string]bool{}, anaDropped: map[string]int64{}, anaUnique: map[string]int64{},
		anaLatency: map[string]latencySum{}, anaBins: map[string]latencyBins{}}
	pr, err := a.api.ListPortsWithResponse(ctx, &gen.ListPortsParams{})
	if err := a.check(pr, err); err != nil {
		return s, err
	}
	gr, err := a.api.ListPacketGeneratorsWithResponse(ctx, &gen.ListPacketGeneratorsParams{})
	if err := a.check(gr, err); err != nil {
		return s, err
	}
	rr, err := a.api.ListPacketGeneratorResultsWithResponse(ctx, &gen.ListPacketGeneratorResultsParams{})
	if err := a.check(rr, err); err != nil {
		return s, err
	}
	ar, err := a.api.ListPacketAnalyzersWithResponse(ctx, &gen.ListPacketAnalyzersParams{})
	if err := a.check(ar, err); err != nil {
		return s, err
	}
	arr, err := a.api.ListPacketAnalyzerResultsWithResponse(ctx, &gen.ListPacketAnalyzerResultsParams{})
	if err := a.check(arr, err); err != nil {
		return s, err
	}
	s.at = time.Now()
	ports, err := got(pr.JSON200, pr.Body)
	if err != nil {
		return s, err
	}
	gens, err := got(gr.JSON200, gr.Body)
	if err != nil {
		return s, err
	}
	results, err := got(rr.JSON200, rr.Body)
	if err != nil {
		return s, err
	}
	isPort := map[string]bool{}
	for _, p := range ports {
		id := deref(p.Id)
		isPort[id] = true
		s.ports = append(s.ports, id)
		s.portRx[id] = deref(p.Stats).RxPackets
	}
	for _, g := range gens {
		id := deref(g.Id)
		s.generators = append(s.generators, id)
		s.genTarget[id] = g.TargetId
		s.genActive[id] = deref(g.Active)
		if isPort[g.TargetId] {
			s.genPort[id] = g.TargetId
			continue
		}
		if _, ok := w.ifacePort[g.TargetId]; !ok {
			if err := w.learnInterfaces(ctx); err != nil {
				return s, err
			}
		}
		s.genPort[id] = w.ifacePort[g.TargetId]
	}
	for _, r := range results {
		id := deref(r.GeneratorId)
		s.genFrames[id] += r.FlowCounters.PacketsActual
		s.genOctets[id] += r.FlowCounters.OctetsActual
	}
	analyzers, err := got(ar.JSON200, ar.Body)
	if err != nil {
		return s, err
	}
	anaResults, err := got(arr.JSON200, arr.Body)
	if err != nil {
		return s, err
	}
	s.addAnalyzers(analyzers, anaResults)
	if err := w.readBins(ctx, &s, analyzers, anaResults); err != nil {
		return s, err
	}
	return s, nil
}

// readBins reads the latency digests of the flows of each active analyzer
// that keeps them and has at most maxWatchFlows flows.
func (w *watcher) readBins(ctx context.Context, s *sample, analyzers []gen.PacketAnalyzer, results []gen.PacketAnalyzerResult) error {
	flows := map[string]int{}
	for _, r := range results {
		flows[deref(r.AnalyzerId)] += len(deref(r.Flows))
	}
	for _, an := range analyzers {
		id := deref(an.Id)
		if !deref(an.Active) || flows[id] > maxWatchFlows ||
			!slices.Contains(deref(an.Config.FlowDigests), gen.PacketAnalyzerConfigFlowDigestsLatency) {
			continue
		}
		r, err := w.app.api.ListRxFlowsWithResponse(ctx, &gen.ListRxFlowsParams{AnalyzerId: &id})
		if err := w.app.check(r, err); err != nil {
			return err
		}
		fl, err := got(r.JSON200, r.Body)
		if err != nil {
			return err
		}
		if b := binsOf(fl); b != nil {
			s.anaBins[id] = b
		}
	}
	return nil
}

// addAnalyzers sums the results of each analyzer.
func (s *sample) addAnalyzers(analyzers []gen.PacketAnalyzer, results []gen.PacketAnalyzerResult) {
	for _, an := range analyzers {
		id := deref(an.Id)
		s.analyzers = append(s.analyzers, id)
		s.anaSource[id] = an.SourceId
		s.anaActive[id] = deref(an.Active)
	}
	for _, r := range results {
		id := deref(r.AnalyzerId)
		c := r.FlowCounters
		s.anaFrames[id] += c.FrameCount
		if c.Sequence != nil {
			s.anaSeq[id] = true
			s.anaDropped[id] += c.Sequence.Dropped
			s.anaUnique[id] += c.FrameCount - c.Sequence.Duplicate
		}
		if l := c.Latency; l != nil {
			sum := s.anaLatency[id]
			sum.total += l.Summary.Total
			sum.frames += c.FrameCount
			s.anaLatency[id] = sum
		}
	}
}

// learnInterfaces maps interface ids to their ports.
func (w *watcher) learnInterfaces(ctx context.Context) error {
	r, err := w.app.api.ListInterfacesWithResponse(ctx, &gen.ListInterfacesParams{})
	if err := w.app.check(r, err); err != nil {
		return err
	}
	ifs, err := got(r.JSON200, r.Body)
	if err != nil {
		return err
	}
	for _, it := range ifs {
		w.ifacePort[deref(it.Id)] = it.PortId
	}
	return nil
}

// computeRates turns two samples into per-second rates. Counters that went
// down (a result was deleted) count as zero.
func computeRates(prev, cur sample) rates {
	secs := cur.at.Sub(prev.at).Seconds()
	per := func(now, before int64) float64 {
		if secs <= 0 || now <= before {
			return 0
		}
		return float64(now-before) / secs
	}
	out := rates{Time: cur.at, Seconds: secs, Ports: []portRates{}, Generators: []generatorRate{}, Analyzers: []analyzerRate{}}
	portTx := map[string]float64{}
	for _, id := range cur.generators {
		g := generatorRate{ID: id, Target: cur.genTarget[id], Active: cur.genActive[id], TxFrames: cur.genFrames[id],
			TxFPS: per(cur.genFrames[id], prev.genFrames[id]),
			TxBPS: 8 * per(cur.genOctets[id], prev.genOctets[id])}
		out.Generators = append(out.Generators, g)
		portTx[cur.genPort[id]] += g.TxFPS
	}
	for _, id := range cur.ports {
		out.Ports = append(out.Ports, portRates{ID: id, TxFPS: portTx[id], RxFrames: cur.portRx[id],
			RxFPS: per(cur.portRx[id], prev.portRx[id])})
	}
	for _, id := range cur.analyzers {
		an := analyzerRate{ID: id, Source: cur.anaSource[id], Active: cur.anaActive[id], RxFrames: cur.anaFrames[id],
			RxFPS: per(cur.anaFrames[id], prev.anaFrames[id])}
		if cur.anaSeq[id] {
			an.Dropped = new(cur.anaDropped[id])
			if sent := cur.anaUnique[id] + cur.anaDropped[id]; sent > 0 {
				an.Loss = new(100 * float64(cur.anaDropped[id]) / float64(sent))
			}
		}
		// Of the interval's frames: the differences of the totals (and
		// of the digests' bins) between the samples.
		if l, ok := cur.anaLatency[id]; ok {
			before := prev.anaLatency[id]
			if n := l.frames - before.frames; n > 0 {
				an.LatencyAvg = new((l.total - before.total) / n)
			}
		}
		if b, ok := cur.anaBins[id]; ok {
			an.LatencyP99 = b.since(prev.anaBins[id]).quantile(0.99)
		}
		out.Analyzers = append(out.Analyzers, an)
	}
	return out
}

// show prints one step: a JSON line with --json, a redrawn table on a
// terminal, else one text line.
func (w *watcher) show(r rates) error {
	a := w.app
	switch {
	case a.json:
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		return a.raw(b)
	case a.tty:
		var buf bytes.Buffer
		if w.lines > 0 {
			terminal(&buf).ClearLines(w.lines) // the last frame, from below it up to its top
		}
		frame := watchTable(r, a.server, w.interval)
		w.lines = strings.Count(frame, "\n")
		buf.WriteString(frame)
		_, err := a.out.Write(buf.Bytes())
		return err
	default:
		_, err := fmt.Fprintln(a.out, watchLine(r))
		return err
	}
}

// watchLegend says what watch's figures are.
func watchLegend(interval time.Duration) string {
	return fmt.Sprintf("# /s: per second over the last %s; latency: of the frames received in it;"+
		" frames, dropped, loss: totals since each result started", interval)
}

// watchTable is the terminal view of one step.
func watchTable(r rates, server string, interval time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "openperfd at %s  %s  (Ctrl-C stops and prints a summary)\n%s\n\n", server, r.Time.Format("15:04:05"),
		strings.TrimPrefix(watchLegend(interval), "# "))
	b.WriteString(watchTables(r))
	return b.String()
}

// watchTables are the tables of ports, generators and analyzers of a step.
func watchTables(r rates) string {
	var b strings.Builder
	tw := newTable(&b)
	row(tw, "PORT", "TX FRAMES/S", "RX FRAMES/S", "RX FRAMES")
	for _, p := range r.Ports {
		row(tw, p.ID, si(p.TxFPS), si(p.RxFPS), count(p.RxFrames))
	}
	tw.Flush()
	if len(r.Generators) > 0 {
		b.WriteString("\n")
		tw = newTable(&b)
		row(tw, "GENERATOR", "TARGET", "ACTIVE", "TX FRAMES/S", "TX BITS/S", "TX FRAMES")
		for _, g := range r.Generators {
			row(tw, g.ID, g.Target, yesNo(g.Active), si(g.TxFPS), si(g.TxBPS), count(g.TxFrames))
		}
		tw.Flush()
	}
	if len(r.Analyzers) > 0 {
		b.WriteString("\n")
		tw = newTable(&b)
		row(tw, "ANALYZER", "SOURCE", "ACTIVE", "RX FRAMES/S", "RX FRAMES", "DROPPED", "LOSS", "LATENCY AVG", "LATENCY P99")
		for _, an := range r.Analyzers {
			row(tw, an.ID, an.Source, yesNo(an.Active), si(an.RxFPS), count(an.RxFrames),
				countPtr(an.Dropped), percentPtr(an.Loss), nanosPtr(an.LatencyAvg), nanosPtr(an.LatencyP99))
		}
		tw.Flush()
	}
	return b.String()
}

func countPtr(v *int64) string {
	if v == nil {
		return "-"
	}
	return count(*v)
}

// percentPtr formats a share in percent ("-" for nil).
func percentPtr(v *float64) string {
	if v == nil {
		return "-"
	}
	return percentOf(*v)
}

// watchLine is the one-line view of one step, for logs and pipes (the
// legend line before the first says what the figures are):
// "15:04:05 port 0 tx 1.00M/s rx 0/s | port 1 tx 0/s rx 1.00M/s | generator g1 tx 1.00M/s, 5,000,000 frames |
// analyzer a1 rx 1.00M/s, 5,000,000 frames, dropped 0 (loss 0%), latency avg 3.40µs p99 9.10µs".
func watchLine(r rates) string {
	parts := []string{}
	for _, p := range r.Ports {
		parts = append(parts, fmt.Sprintf("port %s tx %s/s rx %s/s", p.ID, si(p.TxFPS), si(p.RxFPS)))
	}
	for _, g := range r.Generators {
		parts = append(parts, fmt.Sprintf("generator %s tx %s/s, %s frames", g.ID, si(g.TxFPS), count(g.TxFrames)))
	}
	for _, an := range r.Analyzers {
		p := fmt.Sprintf("analyzer %s rx %s/s, %s frames", an.ID, si(an.RxFPS), count(an.RxFrames))
		if an.Dropped != nil {
			p += fmt.Sprintf(", dropped %s (loss %s)", count(*an.Dropped), percentPtr(an.Loss))
		}
		if an.LatencyAvg != nil || an.LatencyP99 != nil {
			p += fmt.Sprintf(", latency avg %s p99 %s", nanosPtr(an.LatencyAvg), nanosPtr(an.LatencyP99))
		}
		parts = append(parts, p)
	}
	return r.Time.Format("15:04:05") + " " + strings.Join(parts, " | ")
}
