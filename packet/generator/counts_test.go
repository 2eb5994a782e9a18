package generator

import (
	"math/rand/v2"
	"testing"
)

// The analytic counts must agree with walking the cursor, for random
// weights, orders, flow counts and length lists.
func TestCountsMatchTheTransmitOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 60; trial++ {
		var defs []TrafficDefinition
		for range 1 + rng.IntN(3) {
			var mods []Modifier
			if n := rng.IntN(6); n > 0 {
				var vs []uint64
				for i := range n {
					vs = append(vs, uint64(1000+i))
				}
				mods = []Modifier{{Name: "source_port", List: vals(vs...)}}
			}
			d := udpDef(nil, mods, TieZip)
			d.Weight = uint(1 + rng.IntN(3))
			if rng.IntN(2) == 0 {
				var ls []int
				for range 1 + rng.IntN(4) {
					ls = append(ls, 64+rng.IntN(200))
				}
				d.Length = Length{List: ls}
			}
			defs = append(defs, d)
		}
		order := Order(rng.IntN(2))
		p, err := Compile(defs, order, 0)
		if err != nil {
			t.Fatal(err)
		}
		n := uint64(rng.IntN(500))
		wantPkts := make([]uint64, p.Flows())
		wantOct := make([]uint64, p.Flows())
		var total uint64
		c := p.NewCursor()
		for range n {
			di, f, li := c.Next()
			d := &p.Definitions[di]
			wantPkts[d.FlowOffset+f]++
			wantOct[d.FlowOffset+f] += uint64(d.Lengths[li])
			total += uint64(d.Lengths[li])
		}
		pk, oc := p.AllFlowCounts(n)
		for f := range wantPkts {
			if pk[f] != wantPkts[f] || oc[f] != wantOct[f] {
				t.Fatalf("trial %d (order %v, n %d) flow %d: got %d pkts %d octets, want %d and %d",
					trial, order, n, f, pk[f], oc[f], wantPkts[f], wantOct[f])
			}
			if a, b := p.FlowCounts(n, f); a != pk[f] || b != oc[f] {
				t.Fatalf("FlowCounts(%d) disagrees with AllFlowCounts", f)
			}
		}
		if got := p.Octets(n); got != total {
			t.Fatalf("trial %d: Octets(%d) = %d, want %d", trial, n, got, total)
		}
	}
}
