package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/openperfd/openperfd/api/gen"
)

func generatorResultsNoun() noun {
	return noun{name: "generator-results", summary: "counters of generator runs", verbs: []verb{
		{name: "list", maxArgs: 0, summary: "list generator results", setup: resultsList},
		{name: "get", args: "ID", minArgs: 1, maxArgs: 1, summary: "show one result with its protocol counters", setup: resultsGet},
	}}
}

func txFlowsNoun() noun {
	return noun{name: "tx-flows", summary: "transmitted flows of generator results", verbs: []verb{
		{name: "list", maxArgs: 0, summary: "list tx flows", setup: txFlowsList},
	}}
}

func resultsList(fs *pflag.FlagSet) runFunc {
	generator := fs.String("generator", "", "only results of this generator")
	target := fs.String("target", "", "only results on this port or interface")
	return func(ctx context.Context, a *app, _ []string) error {
		params := &gen.ListPacketGeneratorResultsParams{GeneratorId: opt(*generator), TargetId: opt(*target)}
		r, err := a.api.ListPacketGeneratorResultsWithResponse(ctx, params)
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
		return writeResults(a, results)
	}
}

func writeResults(a *app, results []gen.PacketGeneratorResult) error {
	tw := newTable(a.out)
	row(tw, "ID", "GENERATOR", "ACTIVE", "FRAMES", "INTENDED", "OCTETS", "DROPPED", "ERRORS", "REMAINING")
	for _, r := range results {
		c := r.FlowCounters
		row(tw, r.Id, str(r.GeneratorId), yesNo(r.Active), count(c.PacketsActual), count(c.PacketsIntended),
			count(c.OctetsActual), count(deref(c.PacketsDropped)), count(c.Errors), remaining(r.Remaining))
	}
	return tw.Flush()
}

// remaining formats what is left of a run: "500 frames", "3 seconds", "-".
func remaining(r *gen.TrafficDurationRemainder) string {
	if r == nil || r.Value == nil || r.Unit == gen.TrafficDurationRemainderUnitIndefinite {
		return "-"
	}
	return count(*r.Value) + " " + string(r.Unit)
}

func resultsGet(fs *pflag.FlagSet) runFunc {
	return func(ctx context.Context, a *app, args []string) error {
		r, err := a.api.GetPacketGeneratorResultWithResponse(ctx, args[0])
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
		return writeFields(a.out, resultFields(res))
	}
}

func resultFields(r gen.PacketGeneratorResult) []field {
	c := r.FlowCounters
	f := []field{
		{"id", r.Id}, {"generator", str(r.GeneratorId)}, {"active", yesNo(r.Active)},
		{"frames", count(c.PacketsActual)}, {"frames intended", count(c.PacketsIntended)},
		{"frames dropped", count(deref(c.PacketsDropped))},
		{"octets", count(c.OctetsActual)}, {"octets intended", count(c.OctetsIntended)},
		{"octets dropped", count(deref(c.OctetsDropped))},
		{"errors", count(c.Errors)}, {"remaining", remaining(r.Remaining)},
		{"first frame", timestamp(c.TimestampFirst)}, {"last frame", timestamp(c.TimestampLast)},
		{"flows", count(int64(len(r.Flows)))},
	}
	p := r.ProtocolCounters
	f = append(f, field{"ethernet", nonZero(p.Ethernet)}, field{"ip", nonZero(p.Ip)}, field{"transport", nonZero(p.Transport)})
	return f
}

func timestamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// nonZero lists the non-zero counters of a protocol counter group as
// "ip=1,000 vlan=3" (nil or all zero: "-").
func nonZero(counters any) string {
	b, err := json.Marshal(counters)
	if err != nil {
		return "-"
	}
	var m map[string]int64
	if json.Unmarshal(b, &m) != nil {
		return "-"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] != 0 {
			parts = append(parts, k+"="+count(m[k]))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func txFlowsList(fs *pflag.FlagSet) runFunc {
	generator := fs.String("generator", "", "only flows of this generator")
	target := fs.String("target", "", "only flows on this port or interface")
	return func(ctx context.Context, a *app, _ []string) error {
		r, err := a.api.ListTxFlowsWithResponse(ctx, &gen.ListTxFlowsParams{GeneratorId: opt(*generator), TargetId: opt(*target)})
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
		row(tw, "ID", "RESULT", "STREAM", "FRAMES", "OCTETS", "DROPPED")
		for _, f := range flows {
			stream := "-"
			if f.StreamId != nil {
				stream = fmt.Sprint(*f.StreamId)
			}
			row(tw, f.Id, f.GeneratorResultId, stream, count(f.Counters.PacketsActual),
				count(f.Counters.OctetsActual), count(deref(f.Counters.PacketsDropped)))
		}
		return tw.Flush()
	}
}
