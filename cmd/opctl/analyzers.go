package main

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/openperfd/openperfd/api/gen"
)

// analyzerColumns head the table of analyzers; analyzerRow is one line of it.
var analyzerColumns = []string{"ID", "SOURCE", "ACTIVE", "FILTER", "FLOW COUNTERS", "DIGESTS"}

func analyzerRow(an gen.PacketAnalyzer) []string {
	c := an.Config
	return []string{str(an.Id), an.SourceId, yesNo(deref(an.Active)), str(c.Filter),
		joinNames(c.FlowCounters), joinNames(deref(c.FlowDigests))}
}

// joinNames lists enum values as "a,b,c" ("-" for none).
func joinNames[T ~string](names []T) string {
	if len(names) == 0 {
		return "-"
	}
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = string(n)
	}
	return strings.Join(s, ",")
}

func analyzerFields(an gen.PacketAnalyzer) []field {
	c := an.Config
	return []field{
		{"id", str(an.Id)}, {"source", an.SourceId}, {"active", yesNo(deref(an.Active))},
		{"filter", str(c.Filter)}, {"protocol counters", joinNames(c.ProtocolCounters)},
		{"flow counters", joinNames(c.FlowCounters)}, {"flow digests", joinNames(deref(c.FlowDigests))},
	}
}

// quickAnalyzer is the flag form of "analyzers create".
type quickAnalyzer struct {
	id, source, filter string
	latency            bool
}

// build makes the analyzer: ethernet, ip and transport protocol counters,
// frame count and length per flow; --latency adds latency, jitter (IPDV),
// sequencing and a latency digest, which need signed traffic.
func (q quickAnalyzer) build() (gen.PacketAnalyzer, error) {
	if q.source == "" {
		return gen.PacketAnalyzer{}, usageErrorf("--port (or --source) is required (or -f FILE)")
	}
	c := gen.PacketAnalyzerConfig{
		Filter: opt(q.filter),
		ProtocolCounters: []gen.PacketAnalyzerConfigProtocolCounters{
			gen.PacketAnalyzerConfigProtocolCountersEthernet,
			gen.PacketAnalyzerConfigProtocolCountersIp,
			gen.PacketAnalyzerConfigProtocolCountersTransport,
		},
		FlowCounters: []gen.PacketAnalyzerConfigFlowCounters{
			gen.PacketAnalyzerConfigFlowCountersFrameCount,
			gen.PacketAnalyzerConfigFlowCountersFrameLength,
		},
	}
	if q.latency {
		c.FlowCounters = append(c.FlowCounters,
			gen.PacketAnalyzerConfigFlowCountersLatency,
			gen.PacketAnalyzerConfigFlowCountersJitterIpdv,
			gen.PacketAnalyzerConfigFlowCountersAdvancedSequencing)
		c.FlowDigests = &[]gen.PacketAnalyzerConfigFlowDigests{gen.PacketAnalyzerConfigFlowDigestsLatency}
	}
	return gen.PacketAnalyzer{Id: opt(q.id), SourceId: q.source, Config: c}, nil
}

// quickAnalyzerFlags is the flag form of "analyzers create".
func quickAnalyzerFlags(fs *pflag.FlagSet) func(id string) (any, error) {
	var q quickAnalyzer
	fs.StringVar(&q.source, "port", "", "port (or interface) whose received frames to analyze")
	fs.StringVar(&q.source, "source", "", "same as --port")
	fs.StringVar(&q.filter, "filter", "", "BPF filter (tcpdump syntax) of the frames to analyze")
	fs.BoolVar(&q.latency, "latency", false, "also latency, jitter, sequencing and latency digests (signed traffic)")
	return func(id string) (any, error) {
		q.id = id
		return q.build()
	}
}

// analyzerResultColumns head the table of analyzer results; analyzerResultRow is one line of it.
var analyzerResultColumns = append([]string{"ID", "ANALYZER", "ACTIVE", "FRAMES", "FLOWS"},
	append(sequenceColumns, "LATENCY MIN", "AVG", "MAX")...)

func analyzerResultRow(r gen.PacketAnalyzerResult) []string {
	c := r.FlowCounters
	lmin, lavg, lmax := latencyMinAvgMax(c)
	out := []string{r.Id, str(r.AnalyzerId), yesNo(r.Active), count(c.FrameCount), count(int64(len(deref(r.Flows))))}
	out = append(out, sequenceCells(c)...)
	return append(out, lmin, lavg, lmax)
}

// sequenceColumns head the sequence counters of flow counters, named as
// their JSON fields, with LOSS, the dropped frames as a share of those the
// sequence numbers say were sent.
var sequenceColumns = []string{"DROPPED", "LOSS", "DUPLICATE", "LATE", "REORDERED"}

// sequenceCells are the cells under sequenceColumns, "-" each when the
// analyzer does not sequence.
func sequenceCells(c gen.PacketAnalyzerFlowCounters) []string {
	s := c.Sequence
	if s == nil {
		return []string{"-", "-", "-", "-", "-"}
	}
	return []string{count(s.Dropped), lossPercent(c), count(s.Duplicate), count(s.Late), count(s.Reordered)}
}

// lossPercent is sequence.dropped as a share of the frames the sequence
// numbers say were sent: each frame received once (frame_count less the
// duplicates) and the dropped ones. A late or reordered frame was
// received, so it is not lost. "-" without sequencing or frames.
func lossPercent(c gen.PacketAnalyzerFlowCounters) string {
	s := c.Sequence
	if s == nil {
		return "-"
	}
	return percent(s.Dropped, c.FrameCount-s.Duplicate+s.Dropped)
}

// latencyMinAvgMax formats the latency summary of flow counters; the
// average is over every counted frame.
func latencyMinAvgMax(c gen.PacketAnalyzerFlowCounters) (lmin, avg, lmax string) {
	l := c.Latency
	if l == nil || c.FrameCount == 0 {
		return "-", "-", "-"
	}
	return nanosPtr(l.Summary.Min), nanos(l.Summary.Total / c.FrameCount), nanosPtr(l.Summary.Max)
}

func nanosPtr(v *int64) string {
	if v == nil {
		return "-"
	}
	return nanos(*v)
}

func analyzerResultFields(r gen.PacketAnalyzerResult) []field {
	c := r.FlowCounters
	f := []field{
		{"id", r.Id}, {"analyzer", str(r.AnalyzerId)}, {"active", yesNo(r.Active)},
		{"frames", count(c.FrameCount)}, {"flows", count(int64(len(deref(r.Flows))))},
		{"first frame", timestamp(c.TimestampFirst)}, {"last frame", timestamp(c.TimestampLast)},
	}
	f = append(f, flowCounterFields(c)...)
	if x := r.XChecksums; x != nil {
		// Who verified the checksums: an error count of 0 means nothing
		// for frames nobody verified.
		v := func(v gen.PacketAnalyzerChecksumsVerified) string {
			return fmt.Sprintf("port %s, software %s, none %s", count(v.Port), count(v.Software), count(v.None))
		}
		f = append(f, field{"checksums verified (" + string(x.Mode) + ")",
			fmt.Sprintf("ipv4: %s; udp: %s; tcp: %s", v(x.Ipv4), v(x.Udp), v(x.Tcp))})
	}
	p := r.ProtocolCounters
	if p.Ethernet != nil {
		f = append(f, field{"ethernet", nonZero(p.Ethernet)})
	}
	if p.Ip != nil {
		f = append(f, field{"ip", nonZero(p.Ip)})
	}
	if p.Transport != nil {
		f = append(f, field{"transport", nonZero(p.Transport)})
	}
	return f
}

// flowCounterFields are the optional parts of flow counters that are set.
func flowCounterFields(c gen.PacketAnalyzerFlowCounters) []field {
	var f []field
	if s := c.Sequence; s != nil {
		f = append(f, field{"sequence", fmt.Sprintf("in order %s, dropped %s (loss %s), duplicate %s, late %s, reordered %s, run length %s",
			count(s.InOrder), count(s.Dropped), lossPercent(c), count(s.Duplicate), count(s.Late), count(s.Reordered), count(s.RunLength))})
	}
	for _, s := range []struct {
		name string
		v    *gen.PacketAnalyzerFlowSummary
	}{{"latency", c.Latency}, {"jitter (ipdv)", c.JitterIpdv}, {"jitter (rfc)", c.JitterRfc},
		{"interarrival", c.Interarrival}, {"frame length", c.FrameLength}} {
		if s.v != nil {
			f = append(f, field{s.name, summaryString(*s.v, c.FrameCount)})
		}
	}
	if p := c.Prbs; p != nil {
		f = append(f, field{"prbs", fmt.Sprintf("%s octets, %s bit errors", count(p.Octets), count(p.BitErrors))})
	}
	e := c.Errors
	f = append(f, field{"errors", fmt.Sprintf("fcs %s, ipv4 checksum %s, tcp checksum %s, udp checksum %s",
		count(e.Fcs), count(e.Ipv4Checksum), count(e.TcpChecksum), count(e.UdpChecksum))})
	return f
}

// summaryString formats a summary as "min 1.20µs, avg 3.40µs, max 56.0µs".
func summaryString(s gen.PacketAnalyzerFlowSummary, frames int64) string {
	unit := func(v int64) string { return count(v) }
	if s.Units == gen.PacketAnalyzerFlowSummaryUnitsNanoseconds {
		unit = nanos
	}
	ptr := func(v *int64) string {
		if v == nil {
			return "-"
		}
		return unit(*v)
	}
	avg := "-"
	if frames > 0 {
		avg = unit(s.Summary.Total / frames)
	}
	out := fmt.Sprintf("min %s, avg %s, max %s", ptr(s.Summary.Min), avg, ptr(s.Summary.Max))
	if s.Summary.StdDev != nil {
		out += ", std dev " + unit(*s.Summary.StdDev)
	}
	return out
}

// rxFlowColumns head the table of rx flows; rxFlowRow is one line of it.
var rxFlowColumns = append([]string{"FLOW", "STREAM", "FRAMES"}, append(sequenceColumns, "LATENCY MIN", "AVG", "MAX", "P99")...)

func rxFlowRow(f gen.RxFlow) []string {
	c := f.Counters
	lmin, lavg, lmax := latencyMinAvgMax(c)
	p99 := "-"
	if d := f.Digests.Latency; d != nil && d.Percentiles != nil {
		p99 = nanos(d.Percentiles.P99)
	}
	stream := "-"
	if id := cmp.Or(f.StreamId, f.XStreamId); id != nil {
		stream = fmt.Sprint(*id)
	}
	out := []string{shortFlowID(f.Id, f.AnalyzerResultId), stream, count(c.FrameCount)}
	out = append(out, sequenceCells(c)...)
	return append(out, lmin, lavg, lmax, p99)
}

// shortFlowID drops the result id a flow id starts with ("<result>-s1-4"
// is "s1-4") and shortens what is left to 20 characters; --json has the
// full ids.
func shortFlowID(id, resultID string) string {
	if s, ok := strings.CutPrefix(id, resultID+"-"); ok && s != "" {
		id = s
	}
	if len(id) > 20 {
		id = id[:12] + "…" + id[len(id)-7:]
	}
	return id
}

// flowErrorColumns head the error counters of flow counters, the JSON's
// errors.ipv4_checksum, tcp_checksum, udp_checksum and fcs, then prbs's
// bit_errors and frame_errors.
var (
	checksumColumns = []string{"IPV4 CKSUM ERR", "TCP CKSUM ERR", "UDP CKSUM ERR", "FCS ERR"}
	prbsColumns     = []string{"PRBS BIT ERR", "PRBS FRAME ERR"}
)

func checksumCells(c gen.PacketAnalyzerFlowCounters) []string {
	e := c.Errors
	return []string{count(e.Ipv4Checksum), count(e.TcpChecksum), count(e.UdpChecksum), count(e.Fcs)}
}

// prbsCells are "-" when the analyzer does not check PRBS payloads.
func prbsCells(c gen.PacketAnalyzerFlowCounters) []string {
	p := c.Prbs
	if p == nil {
		return []string{"-", "-"}
	}
	frames := "-"
	if p.FrameErrors != nil {
		frames = count(*p.FrameErrors)
	}
	return []string{count(p.BitErrors), frames}
}

// errorExtra makes a resource's extra columns from its flow counters:
// the checksum columns when any item has a checksum error, the PRBS ones
// when any has a PRBS error, both when wide.
func errorExtra[T any](counters func(T) gen.PacketAnalyzerFlowCounters) func([]T, bool) ([]string, func(T) []string) {
	return func(items []T, wide bool) ([]string, func(T) []string) {
		cksum, prbs := wide, wide
		for _, it := range items {
			c := counters(it)
			e := c.Errors
			cksum = cksum || e.Ipv4Checksum != 0 || e.TcpChecksum != 0 || e.UdpChecksum != 0 || e.Fcs != 0
			prbs = prbs || (c.Prbs != nil && (c.Prbs.BitErrors != 0 || deref(c.Prbs.FrameErrors) != 0))
		}
		var heads []string
		if cksum {
			heads = append(heads, checksumColumns...)
		}
		if prbs {
			heads = append(heads, prbsColumns...)
		}
		return heads, func(it T) []string {
			var out []string
			c := counters(it)
			if cksum {
				out = append(out, checksumCells(c)...)
			}
			if prbs {
				out = append(out, prbsCells(c)...)
			}
			return out
		}
	}
}
