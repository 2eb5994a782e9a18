package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/openperfd/openperfd/api/gen"
)

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

// txFlowColumns head the table of tx flows; txFlowRow is one line of it.
var txFlowColumns = []string{"ID", "RESULT", "STREAM", "FRAMES", "OCTETS", "DROPPED"}

func txFlowRow(f gen.TxFlow) []string {
	stream := "-"
	if f.StreamId != nil {
		stream = fmt.Sprint(*f.StreamId)
	}
	return []string{f.Id, f.GeneratorResultId, stream, count(f.Counters.PacketsActual),
		count(f.Counters.OctetsActual), count(deref(f.Counters.PacketsDropped))}
}

// resultColumns head the table of generator results; resultRow is one line of it.
var resultColumns = []string{"ID", "GENERATOR", "ACTIVE", "FRAMES", "INTENDED", "OCTETS", "DROPPED", "ERRORS", "REMAINING"}

func resultRow(r gen.PacketGeneratorResult) []string {
	c := r.FlowCounters
	return []string{r.Id, str(r.GeneratorId), yesNo(r.Active), count(c.PacketsActual), count(c.PacketsIntended),
		count(c.OctetsActual), count(deref(c.PacketsDropped)), count(c.Errors), remaining(r.Remaining)}
}
