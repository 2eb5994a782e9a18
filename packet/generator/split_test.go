package generator

import (
	"bytes"
	"testing"
)

// A shard writes exactly the packets the whole program writes for its
// flows: same bytes, same stream ids, sequence numbers from 0 per flow.
func TestSplitShardsWriteTheSameFlows(t *testing.T) {
	for name, def := range equivalenceDefs() {
		p, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
		if err != nil {
			t.Fatal(err)
		}
		shards, offs := p.Split(3)
		if p.Flows() < 2 {
			if len(shards) != 1 || shards[0] != p {
				t.Fatalf("%s: a one-flow program was split", name)
			}
			continue
		}
		total := 0
		for i, s := range shards {
			sd, d := &s.Definitions[0], &p.Definitions[0]
			total += s.Flows()
			for f := range s.Flows() {
				for li := range d.Lengths {
					a, b := make([]byte, p.MaxFrameLen()), make([]byte, p.MaxFrameLen())
					na := sd.Write(a, f, li, 5, 99)
					nb := d.Write(b, offs[i]+f, li, 5, 99)
					if !bytes.Equal(a[:na], b[:nb]) {
						t.Fatalf("%s shard %d flow %d length %d: frames differ", name, i, f, li)
					}
				}
				if sd.StreamID(f) != d.StreamID(offs[i]+f) {
					t.Fatalf("%s: stream id %d, want %d", name, sd.StreamID(f), d.StreamID(offs[i]+f))
				}
			}
		}
		if total != p.Flows() {
			t.Fatalf("%s: shards hold %d flows, want %d", name, total, p.Flows())
		}
	}
}
