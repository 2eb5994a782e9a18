package main

import (
	"cmp"
	"math"
	"slices"

	"github.com/openperfd/openperfd/api/gen"
)

// latencyBins is a latency distribution read from rx flows' latency
// digests: frames per bin, keyed by the bin's value in ns. The daemon's
// digests are DDSketches whose bins keep their values as frames arrive,
// so two readings of the same flows subtract bin by bin into the
// distribution of the frames received between them: what an interval's
// percentiles are computed from, rather than shown cumulative under a
// per-second heading.
type latencyBins map[float64]int64

// binsOf adds up the latency digests of flows; nil when none has one.
func binsOf(flows []gen.RxFlow) latencyBins {
	var b latencyBins
	for _, f := range flows {
		d := f.Digests.Latency
		if d == nil {
			continue
		}
		if b == nil {
			b = latencyBins{}
		}
		for _, c := range d.Centroids {
			b[c.Mean] += c.Weight
		}
	}
	return b
}

// since is what b holds beyond prev: the frames of the interval between
// the readings. A bin that shrank (a result was deleted or reset) counts
// as empty.
func (b latencyBins) since(prev latencyBins) latencyBins {
	if b == nil {
		return nil
	}
	out := latencyBins{}
	for v, n := range b {
		if d := n - prev[v]; d > 0 {
			out[v] = d
		}
	}
	return out
}

// quantile is the nearest-rank p-quantile (0 < p <= 1): the smallest bin
// value with at least p of the frames at or below it. nil when empty.
func (b latencyBins) quantile(p float64) *int64 {
	var total int64
	values := make([]float64, 0, len(b))
	for v, n := range b {
		total += n
		values = append(values, v)
	}
	if total == 0 {
		return nil
	}
	slices.SortFunc(values, cmp.Compare)
	rank := int64(math.Ceil(p * float64(total)))
	var seen int64
	for _, v := range values {
		if seen += b[v]; seen >= rank {
			return new(int64(math.Round(v)))
		}
	}
	return new(int64(math.Round(values[len(values)-1])))
}

// latencyPercentile is the p-quantile of the latency of all flows: the one
// flow's own percentile (the daemon's, kept within the exact min and max),
// or else read from the flows' merged bins. nil when no flow has a
// latency digest.
func latencyPercentile(flows []gen.RxFlow, p float64) *int64 {
	var only *gen.DigestPercentiles
	digests := 0
	for _, f := range flows {
		if dg := f.Digests.Latency; dg != nil {
			digests++
			only = dg.Percentiles
		}
	}
	if digests == 1 && only != nil {
		switch p {
		case 0.50:
			return &only.P50
		case 0.99:
			return &only.P99
		}
	}
	return binsOf(flows).quantile(p)
}
