package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/spf13/cobra"
)

func (s *session) generatorResults() resource[gen.PacketGeneratorResult] {
	return resource[gen.PacketGeneratorResult]{s: s, item: "generator result", table: writeResults, fields: resultFields}
}

func (s *session) generatorResultsCmd() *cobra.Command {
	r := s.generatorResults()
	return noun("generator-results", "counters of generator runs",
		r.list("list generator results", listGeneratorResults,
			filter{"generator", "only results of this generator"}, filter{"target", "only results on this port or interface"}),
		r.get("show one result with its protocol counters", gen.ClientInterface.GetPacketGeneratorResult),
	)
}

func (s *session) txFlowsCmd() *cobra.Command {
	r := resource[gen.TxFlow]{s: s, item: "tx flow", table: writeTxFlows}
	return noun("tx-flows", "transmitted flows of generator results",
		r.list("list tx flows", listTxFlows,
			filter{"generator", "only flows of this generator"}, filter{"target", "only flows on this port or interface"}),
	)
}

func listGeneratorResults(ctx context.Context, c gen.ClientInterface, f filters) (*http.Response, error) {
	return c.ListPacketGeneratorResults(ctx, &gen.ListPacketGeneratorResultsParams{GeneratorId: f["generator"], TargetId: f["target"]})
}

func listTxFlows(ctx context.Context, c gen.ClientInterface, f filters) (*http.Response, error) {
	return c.ListTxFlows(ctx, &gen.ListTxFlowsParams{GeneratorId: f["generator"], TargetId: f["target"]})
}

func writeResults(w io.Writer, results []gen.PacketGeneratorResult) error {
	tw := newTable(w)
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

func writeTxFlows(w io.Writer, flows []gen.TxFlow) error {
	tw := newTable(w)
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
