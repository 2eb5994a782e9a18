package metrics

import (
	"cmp"
	"math"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openperfd/openperfd/packet/analyzer"
)

// Analyzers: one series per result, as for generators.
var anLabels = []string{"analyzer", "result", "source"}

var (
	anActive   = desc("analyzer_active", "1 while the result is its analyzer's running run.", anLabels...)
	anFlows    = desc("analyzer_flows", "Flows the analyzer tracks.", anLabels...)
	anRxFrames = desc("analyzer_rx_frames_total", "Frames the analyzer counted.", anLabels...)
	anFiltered = desc("analyzer_filtered_frames_total", "Frames the analyzer's filter did not match.", anLabels...)
	anOverflow = desc("analyzer_overflow_frames_total", "Frames of flows beyond the analyzer's flow limit.", anLabels...)
	anErrors   = desc("analyzer_frame_errors_total", "Frames with a bad checksum, by checksum.",
		append(anLabels, "error")...)
	anSequence = desc("analyzer_sequence_frames_total",
		"Frames by sequence status (from signatures): status=\"dropped\" counts lost frames.",
		append(anLabels, "status")...)
	anPRBSBitErrors = desc("analyzer_prbs_bit_errors_total", "PRBS payload bit errors.", anLabels...)

	// Distributions as summaries: count and sum from the summary
	// counters, quantiles from the flows' digests where the analyzer keeps
	// them; quantile 0 and 1 are the exact minimum and maximum.
	anLatency      = desc("analyzer_latency_seconds", "Latency of signed frames.", anLabels...)
	anJitterRFC    = desc("analyzer_jitter_rfc4689_seconds", "RFC 4689 jitter of signed frames.", anLabels...)
	anJitterIPDV   = desc("analyzer_jitter_ipdv_seconds", "RFC 3393 IP delay variation of signed frames.", anLabels...)
	anInterarrival = desc("analyzer_interarrival_seconds", "Time between consecutive frames.", anLabels...)
	anFrameLength  = desc("analyzer_frame_length_bytes", "Frame length, FCS included.", anLabels...)
)

func analyzerMetrics(e emitter, r analyzer.ResultView) {
	l := []string{r.AnalyzerID, r.ID, r.SourceID}
	res := &r.Results
	t := &res.Totals
	e.gauge(anActive, boolGauge(res.Active), l...)
	e.gauge(anFlows, float64(len(res.Flows)), l...)
	e.counter(anRxFrames, t.FrameCount, l...)
	e.counter(anFiltered, res.FilteredFrames, l...)
	e.counter(anOverflow, res.OverflowFrames, l...)
	with := func(v string) []string { return append(l[:len(l):len(l)], v) }
	e.counter(anErrors, t.Errors.IPv4Checksum, with("ipv4_checksum")...)
	e.counter(anErrors, t.Errors.TCPChecksum, with("tcp_checksum")...)
	e.counter(anErrors, t.Errors.UDPChecksum, with("udp_checksum")...)
	if s := t.Sequence; s != nil {
		e.counter(anSequence, s.Dropped, with("dropped")...)
		e.counter(anSequence, s.Duplicate, with("duplicate")...)
		e.counter(anSequence, s.Late, with("late")...)
		e.counter(anSequence, s.Reordered, with("reordered")...)
		e.counter(anSequence, s.InOrder, with("in_order")...)
	}
	if t.PRBS != nil {
		e.counter(anPRBSBitErrors, t.PRBS.BitErrors, l...)
	}
	const ns = 1e9 // per second
	dist := func(d *analyzerDist) {
		if d.sum == nil {
			return
		}
		var digests []*analyzer.Digest
		for i := range res.Flows {
			if g := d.digest(&res.Flows[i].Digests); g != nil {
				digests = append(digests, g)
			}
		}
		e.summary(d.desc, d.sum.Count, float64(d.sum.Total)/d.per, quantiles(d.sum, digests, d.per), l...)
	}
	for _, d := range []analyzerDist{
		{anLatency, t.Latency, ns, func(g *analyzer.Digests) *analyzer.Digest { return g.Latency }},
		{anJitterRFC, t.JitterRFC, ns, func(g *analyzer.Digests) *analyzer.Digest { return g.JitterRFC }},
		{anJitterIPDV, t.JitterIPDV, ns, func(g *analyzer.Digests) *analyzer.Digest { return g.JitterIPDV }},
		{anInterarrival, t.Interarrival, ns, func(g *analyzer.Digests) *analyzer.Digest { return g.Interarrival }},
		{anFrameLength, t.FrameLength, 1, func(g *analyzer.Digests) *analyzer.Digest { return g.FrameLength }},
	} {
		dist(&d)
	}
}

// analyzerDist is one distribution of a result: its summary counters,
// how many of their units make the metric's unit, and which of a flow's
// digests holds it.
type analyzerDist struct {
	desc   *prometheus.Desc
	sum    *analyzer.Summary
	per    float64
	digest func(*analyzer.Digests) *analyzer.Digest
}

// digestQuantiles are the quantiles a digest answers, as the REST
// results name them (p50, p90, p99, p99.9).
var digestQuantiles = []float64{0.5, 0.9, 0.99, 0.999}

// quantiles returns a summary's quantiles: the exact minimum and maximum
// (quantile 0 and 1) while it has values, and with digests the
// percentiles over all flows. One flow's come from its digest as the REST
// results show them; several flows' bins are merged, which keeps the
// digests' relative accuracy since all flows share one bin mapping.
func quantiles(s *analyzer.Summary, digests []*analyzer.Digest, per float64) map[float64]float64 {
	if s.Count == 0 {
		return nil
	}
	q := map[float64]float64{0: float64(s.Min) / per, 1: float64(s.Max) / per}
	switch len(digests) {
	case 0:
	case 1:
		d := digests[0]
		for i, v := range []int64{d.P50, d.P90, d.P99, d.P999} {
			q[digestQuantiles[i]] = float64(v) / per
		}
	default:
		var bins []analyzer.Centroid
		var n uint64
		for _, d := range digests {
			bins = append(bins, d.Centroids...)
			n += d.Count
		}
		if n == 0 {
			break
		}
		slices.SortFunc(bins, func(a, b analyzer.Centroid) int { return cmp.Compare(a.Mean, b.Mean) })
		for _, p := range digestQuantiles {
			v := nearestRank(bins, n, p)
			// Within the exact bounds: a bin's mean may lie outside them.
			v = math.Min(math.Max(v, float64(s.Min)), float64(s.Max))
			q[p] = v / per
		}
	}
	return q
}

// nearestRank is the smallest bin value with at least p of the n values
// at or below it, as the analyzer's own percentiles are defined.
func nearestRank(bins []analyzer.Centroid, n uint64, p float64) float64 {
	rank := uint64(max(math.Ceil(p*float64(n)), 1))
	var seen uint64
	for _, b := range bins {
		seen += b.Weight
		if seen >= rank {
			return b.Mean
		}
	}
	return bins[len(bins)-1].Mean
}
