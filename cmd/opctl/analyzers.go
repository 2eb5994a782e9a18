package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/openperfd/openperfd/api/gen"
)

func analyzersNoun() noun {
	return noun{name: "analyzers", summary: "packet analyzers", verbs: []verb{
		{name: "list", maxArgs: 0, summary: "list analyzers", setup: analyzersList},
		{name: "get", args: "ID", minArgs: 1, maxArgs: 1, summary: "show one analyzer", setup: analyzersGet},
		{name: "create", maxArgs: 0, summary: "create an analyzer from -f FILE or the quick flags (--port ...)", setup: analyzersCreate},
		{name: "delete", args: "ID...", minArgs: 1, maxArgs: -1, summary: "delete analyzers (and their results)", setup: analyzersDelete},
		{name: "start", args: "ID...", minArgs: 1, maxArgs: -1, summary: "start analyzers (prints the new results)", setup: analyzersStart},
		{name: "stop", args: "ID...", minArgs: 1, maxArgs: -1, summary: "stop analyzers", setup: analyzersStop},
		{name: "reset", args: "ID...", minArgs: 1, maxArgs: -1, summary: "start a new result of running analyzers (prints it)", setup: analyzersReset},
	}}
}

func analyzerResultsNoun() noun {
	return noun{name: "analyzer-results", summary: "counters of analyzer runs", verbs: []verb{
		{name: "list", maxArgs: 0, summary: "list analyzer results", setup: analyzerResultsList},
		{name: "get", args: "ID", minArgs: 1, maxArgs: 1, summary: "show one result with its counters", setup: analyzerResultsGet},
	}}
}

func rxFlowsNoun() noun {
	return noun{name: "rx-flows", summary: "received flows of analyzer results", verbs: []verb{
		{name: "list", maxArgs: 0, summary: "list rx flows with loss and latency", setup: rxFlowsList},
	}}
}

func analyzersList(fs *pflag.FlagSet) runFunc {
	source := fs.String("source", "", "only analyzers on this port or interface")
	return func(ctx context.Context, a *app, _ []string) error {
		r, err := a.api.ListPacketAnalyzersWithResponse(ctx, &gen.ListPacketAnalyzersParams{SourceId: opt(*source)})
		if err := a.check(r, err); err != nil {
			return err
		}
		if a.json {
			return a.raw(r.Body)
		}
		list, err := got(r.JSON200, r.Body)
		if err != nil {
			return err
		}
		return writeAnalyzers(a, list)
	}
}

func writeAnalyzers(a *app, list []gen.PacketAnalyzer) error {
	tw := newTable(a.out)
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

func analyzersGet(fs *pflag.FlagSet) runFunc {
	return func(ctx context.Context, a *app, args []string) error {
		r, err := a.api.GetPacketAnalyzerWithResponse(ctx, args[0])
		if err := a.check(r, err); err != nil {
			return err
		}
		if a.json {
			return a.raw(r.Body)
		}
		an, err := got(r.JSON200, r.Body)
		if err != nil {
			return err
		}
		c := an.Config
		return writeFields(a.out, []field{
			{"id", str(an.Id)}, {"source", an.SourceId}, {"active", yesNo(deref(an.Active))},
			{"filter", str(c.Filter)}, {"protocol counters", joinNames(c.ProtocolCounters)},
			{"flow counters", joinNames(c.FlowCounters)}, {"flow digests", joinNames(deref(c.FlowDigests))},
		})
	}
}

// quickAnalyzer is the flag form of "analyzers create".
type quickAnalyzer struct {
	id, source, filter string
	latency            bool
}

var analyzerQuickFlags = []string{"id", "port", "source", "filter", "latency"}

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

func analyzersCreate(fs *pflag.FlagSet) runFunc {
	file := fs.StringP("file", "f", "", "analyzer JSON (OpenPerf's PacketAnalyzer) to send as it is; - for stdin")
	var q quickAnalyzer
	fs.StringVar(&q.id, "id", "", "analyzer id (the server picks one when empty)")
	fs.StringVar(&q.source, "port", "", "port (or interface) whose received frames to analyze")
	fs.StringVar(&q.source, "source", "", "same as --port")
	fs.StringVar(&q.filter, "filter", "", "BPF filter (tcpdump syntax) of the frames to analyze")
	fs.BoolVar(&q.latency, "latency", false, "also latency, jitter, sequencing and latency digests (signed traffic)")
	return func(ctx context.Context, a *app, _ []string) error {
		body, err := quickOrFile(a, fs, *file, analyzerQuickFlags, func() (any, error) { return q.build() })
		if err != nil {
			return err
		}
		r, err := a.api.CreatePacketAnalyzerWithBodyWithResponse(ctx, "application/json", bytes.NewReader(body))
		if err := a.check(r, err); err != nil {
			return err
		}
		if a.json {
			return a.raw(r.Body)
		}
		an, err := got(r.JSON201, r.Body)
		if err != nil {
			return err
		}
		return writeAnalyzers(a, []gen.PacketAnalyzer{an})
	}
}

// quickOrFile returns the request body of a create verb: the file as it
// is, or the JSON of what build makes from the quick flags.
func quickOrFile(a *app, fs *pflag.FlagSet, file string, quick []string, build func() (any, error)) ([]byte, error) {
	if file == "" {
		v, err := build()
		if err != nil {
			return nil, err
		}
		return json.Marshal(v)
	}
	for _, name := range quick {
		if fs.Changed(name) {
			return nil, usageErrorf("give either -f or the quick flags (--%s), not both", name)
		}
	}
	return a.readBody(file)
}

func analyzersDelete(fs *pflag.FlagSet) runFunc {
	return eachID("deleted analyzer", func(ctx context.Context, a *app, id string) (response, error) {
		return a.api.DeletePacketAnalyzerWithResponse(ctx, id)
	})
}

func analyzersStop(fs *pflag.FlagSet) runFunc {
	return eachID("stopped analyzer", func(ctx context.Context, a *app, id string) (response, error) {
		return a.api.StopPacketAnalyzerWithResponse(ctx, id)
	})
}

// eachID runs a call without a reply body for every id and says so
// ("deleted analyzer a1") unless --json.
func eachID(done string, call func(ctx context.Context, a *app, id string) (response, error)) runFunc {
	return func(ctx context.Context, a *app, args []string) error {
		for _, id := range args {
			r, err := call(ctx, a, id)
			if err := a.check(r, err); err != nil {
				return err
			}
			if !a.json {
				fmt.Fprintf(a.out, "%s %s\n", done, id)
			}
		}
		return nil
	}
}

func analyzersStart(fs *pflag.FlagSet) runFunc {
	return newAnalyzerResults(func(ctx context.Context, a *app, id string) (*gen.StartPacketAnalyzerResponse, error) {
		return a.api.StartPacketAnalyzerWithResponse(ctx, id)
	}, func(r *gen.StartPacketAnalyzerResponse) *gen.PacketAnalyzerResult { return r.JSON201 })
}

func analyzersReset(fs *pflag.FlagSet) runFunc {
	return newAnalyzerResults(func(ctx context.Context, a *app, id string) (*gen.ResetPacketAnalyzerResponse, error) {
		return a.api.ResetPacketAnalyzerWithResponse(ctx, id)
	}, func(r *gen.ResetPacketAnalyzerResponse) *gen.PacketAnalyzerResult { return r.JSON201 })
}

// newAnalyzerResults runs a call that makes a result (start, reset) for
// every id and prints the results.
func newAnalyzerResults[R response](call func(context.Context, *app, string) (R, error), result func(R) *gen.PacketAnalyzerResult) runFunc {
	return func(ctx context.Context, a *app, args []string) error {
		var results []gen.PacketAnalyzerResult
		for _, id := range args {
			r, err := call(ctx, a, id)
			if err := a.check(r, err); err != nil {
				return err
			}
			if a.json {
				if err := a.raw(r.GetBody()); err != nil {
					return err
				}
				continue
			}
			res, err := got(result(r), r.GetBody())
			if err != nil {
				return err
			}
			results = append(results, res)
		}
		if a.json {
			return nil
		}
		return writeAnalyzerResults(a, results)
	}
}

func analyzerResultsList(fs *pflag.FlagSet) runFunc {
	analyzer := fs.String("analyzer", "", "only results of this analyzer")
	source := fs.String("source", "", "only results on this port or interface")
	return func(ctx context.Context, a *app, _ []string) error {
		params := &gen.ListPacketAnalyzerResultsParams{AnalyzerId: opt(*analyzer), SourceId: opt(*source)}
		r, err := a.api.ListPacketAnalyzerResultsWithResponse(ctx, params)
		if err := a.check(r, err); err != nil {
			return err
		}
		if a.json {
			return a.raw(r.Body)
		}
		results, err := got(r.JSON200, r.Body)
		if err != nil {
			return err
		}
		return writeAnalyzerResults(a, results)
	}
}

func writeAnalyzerResults(a *app, results []gen.PacketAnalyzerResult) error {
	tw := newTable(a.out)
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

func analyzerResultsGet(fs *pflag.FlagSet) runFunc {
	return func(ctx context.Context, a *app, args []string) error {
		r, err := a.api.GetPacketAnalyzerResultWithResponse(ctx, args[0])
		if err := a.check(r, err); err != nil {
			return err
		}
		if a.json {
			return a.raw(r.Body)
		}
		res, err := got(r.JSON200, r.Body)
		if err != nil {
			return err
		}
		return writeFields(a.out, analyzerResultFields(res))
	}
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

func rxFlowsList(fs *pflag.FlagSet) runFunc {
	analyzer := fs.String("analyzer", "", "only flows of this analyzer")
	source := fs.String("source", "", "only flows on this port or interface")
	return func(ctx context.Context, a *app, _ []string) error {
		r, err := a.api.ListRxFlowsWithResponse(ctx, &gen.ListRxFlowsParams{AnalyzerId: opt(*analyzer), SourceId: opt(*source)})
		if err := a.check(r, err); err != nil {
			return err
		}
		if a.json {
			return a.raw(r.Body)
		}
		flows, err := got(r.JSON200, r.Body)
		if err != nil {
			return err
		}
		tw := newTable(a.out)
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
