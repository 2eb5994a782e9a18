package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/openperfd/openperfd/api/gen"
)

func (s *session) analyzersCmd() *cobra.Command {
	r := resource[gen.PacketAnalyzer]{s: s, item: "analyzer", table: writeAnalyzers, fields: analyzerFields}
	results := s.analyzerResults()
	return noun("analyzers", "packet analyzers",
		r.list("list analyzers", listAnalyzers, filter{"source", "only analyzers on this port or interface"}),
		r.get("show one analyzer", gen.ClientInterface.GetPacketAnalyzer),
		r.create("create an analyzer from -f FILE or the quick flags (--port ...)",
			gen.ClientInterface.CreatePacketAnalyzerWithBody, quickAnalyzerFlags),
		r.each("delete", "delete analyzers (and their results)", "deleted", gen.ClientInterface.DeletePacketAnalyzer),
		results.madeBy("start", "start analyzers (prints the new results)", gen.ClientInterface.StartPacketAnalyzer),
		r.each("stop", "stop analyzers", "stopped", gen.ClientInterface.StopPacketAnalyzer),
		results.madeBy("reset", "start a new result of running analyzers (prints it)", gen.ClientInterface.ResetPacketAnalyzer),
	)
}

func (s *session) analyzerResults() resource[gen.PacketAnalyzerResult] {
	return resource[gen.PacketAnalyzerResult]{s: s, item: "analyzer result", table: writeAnalyzerResults, fields: analyzerResultFields}
}

func (s *session) analyzerResultsCmd() *cobra.Command {
	r := s.analyzerResults()
	return noun("analyzer-results", "counters of analyzer runs",
		r.list("list analyzer results", listAnalyzerResults,
			filter{"analyzer", "only results of this analyzer"}, filter{"source", "only results on this port or interface"}),
		r.get("show one result with its counters", gen.ClientInterface.GetPacketAnalyzerResult),
	)
}

func (s *session) rxFlowsCmd() *cobra.Command {
	r := resource[gen.RxFlow]{s: s, item: "rx flow", table: writeRxFlows}
	return noun("rx-flows", "received flows of analyzer results",
		r.list("list rx flows with loss and latency", listRxFlows,
			filter{"analyzer", "only flows of this analyzer"}, filter{"source", "only flows on this port or interface"}),
	)
}

func listAnalyzers(ctx context.Context, c gen.ClientInterface, f filters) (*http.Response, error) {
	return c.ListPacketAnalyzers(ctx, &gen.ListPacketAnalyzersParams{SourceId: f["source"]})
}

func listAnalyzerResults(ctx context.Context, c gen.ClientInterface, f filters) (*http.Response, error) {
	return c.ListPacketAnalyzerResults(ctx, &gen.ListPacketAnalyzerResultsParams{AnalyzerId: f["analyzer"], SourceId: f["source"]})
}

func listRxFlows(ctx context.Context, c gen.ClientInterface, f filters) (*http.Response, error) {
	return c.ListRxFlows(ctx, &gen.ListRxFlowsParams{AnalyzerId: f["analyzer"], SourceId: f["source"]})
}

func writeAnalyzers(w io.Writer, list []gen.PacketAnalyzer) error {
	tw := newTable(w)
	row(tw, "ID", "SOURCE", "ACTIVE", "FILTER", "FLOW COUNTERS", "DIGESTS")
	for _, an := range list {
		c := an.Config
		row(tw, str(an.Id), an.SourceId, yesNo(deref(an.Active)), str(c.Filter),
			joinNames(c.FlowCounters), joinNames(deref(c.FlowDigests)))
	}
	return tw.Flush()
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
func quickAnalyzerFlags(fs *pflag.FlagSet) func() (any, error) {
	var q quickAnalyzer
	fs.StringVar(&q.id, "id", "", "analyzer id (the server picks one when empty)")
	fs.StringVar(&q.source, "port", "", "port (or interface) whose received frames to analyze")
	fs.StringVar(&q.source, "source", "", "same as --port")
	fs.StringVar(&q.filter, "filter", "", "BPF filter (tcpdump syntax) of the frames to analyze")
	fs.BoolVar(&q.latency, "latency", false, "also latency, jitter, sequencing and latency digests (signed traffic)")
	return func() (any, error) { return q.build() }
}

func writeAnalyzerResults(w io.Writer, results []gen.PacketAnalyzerResult) error {
	tw := newTable(w)
	row(tw, "ID", "ANALYZER", "ACTIVE", "FRAMES", "FLOWS", "DROPPED", "REORDERED", "LATENCY MIN", "AVG", "MAX")
	for _, r := range results {
		c := r.FlowCounters
		seq := deref(c.Sequence)
		lmin, lavg, lmax := latencyMinAvgMax(c)
		row(tw, r.Id, str(r.AnalyzerId), yesNo(r.Active), count(c.FrameCount), count(int64(len(deref(r.Flows)))),
			seqCount(c.Sequence, seq.Dropped), seqCount(c.Sequence, seq.Reordered), lmin, lavg, lmax)
	}
	return tw.Flush()
}

// seqCount formats a sequencing counter, "-" when the analyzer does not
// sequence.
func seqCount(s *gen.PacketAnalyzerFlowSequence, n int64) string {
	if s == nil {
		return "-"
	}
	return count(n)
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
		f = append(f, field{"sequence", fmt.Sprintf("in order %s, dropped %s, duplicate %s, late %s, reordered %s, longest run %s",
			count(s.InOrder), count(s.Dropped), count(s.Duplicate), count(s.Late), count(s.Reordered), count(s.RunLength))})
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

func writeRxFlows(w io.Writer, flows []gen.RxFlow) error {
	tw := newTable(w)
	row(tw, "FLOW", "STREAM", "FRAMES", "DROPPED", "REORDERED", "LATENCY MIN", "AVG", "MAX", "P99")
	for _, f := range flows {
		c := f.Counters
		seq := deref(c.Sequence)
		lmin, lavg, lmax := latencyMinAvgMax(c)
		p99 := "-"
		if d := f.Digests.Latency; d != nil && d.Percentiles != nil {
			p99 = nanos(d.Percentiles.P99)
		}
		stream := "-"
		if f.XStreamId != nil {
			stream = fmt.Sprint(*f.XStreamId)
		}
		row(tw, shortFlowID(f.Id, f.AnalyzerResultId), stream, count(c.FrameCount),
			seqCount(c.Sequence, seq.Dropped), seqCount(c.Sequence, seq.Reordered), lmin, lavg, lmax, p99)
	}
	return tw.Flush()
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
