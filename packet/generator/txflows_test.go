package generator

import (
	"reflect"
	"testing"

	"github.com/openperfd/openperfd/packetio/fake"
)

// splitResult is a result spread over three shards whose sources report
// the given packets sent and dropped, as a worker would have.
func splitResult(t *testing.T, id string, sent, dropped uint64) *result {
	t.Helper()
	def := udpDef(nil, []Modifier{{Name: "source_port", Kind: KindField, List: vals(1, 2, 3, 4, 5, 6, 7)}}, TieZip)
	def.Length = Length{List: []int{64, 100, 300}}
	def.Signature = &SignatureConfig{Format: FormatOpenperfd, StreamID: 10}
	p, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
	if err != nil {
		t.Fatal(err)
	}
	parts, offs := p.Split(3)
	r := &result{id: id, genID: "g", prog: p}
	now := func() int64 { return 5e9 }
	for i, sp := range parts {
		src, err := NewSource(sp, fake.New(1, 1, 64).Pool(), Pacing{Rate: 1e6, Burst: 32}, now)
		if err != nil {
			t.Fatal(err)
		}
		src.sent.Store(sent + uint64(i))
		src.dropped.Store(dropped)
		src.first.Store(1e9)
		src.last.Store(2e9)
		r.shards = append(r.shards, shard{prog: sp, src: src, off: offs[i]})
	}
	return r
}

// The per-flow view a listing streams must give exactly what the
// whole-result arrays gave before: same counters, stream ids and ids for
// every flow of a split run.
func TestFlowViewMatchesWholeResultCounts(t *testing.T) {
	r := splitResult(t, "r", 1000, 17)
	sn := r.snapshot()
	act, actOct := r.flowCounts(sn, actual)
	want, wantOct := r.flowCounts(sn, intended)
	try, tryOct := r.flowCounts(sn, tried)
	v := newFlowView(r)
	if v.len() != 7 {
		t.Fatalf("%d flows, want 7", v.len())
	}
	for g := range v.len() {
		f := v.flow(g)
		wantC := FlowCounters{PacketsActual: act[g], OctetsActual: actOct[g],
			PacketsIntended: want[g], OctetsIntended: wantOct[g],
			PacketsDropped: try[g] - act[g], OctetsDropped: tryOct[g] - actOct[g]}
		c := f.Counters
		c.First, c.Last = wantC.First, wantC.Last
		if c != wantC {
			t.Errorf("flow %d: %+v, want %+v", g, c, wantC)
		}
		if f.ID != FlowID("r", g) || f.StreamID == nil || *f.StreamID != r.prog.Definitions[0].StreamID(g) {
			t.Errorf("flow %d: id %s stream %v", g, f.ID, f.StreamID)
		}
	}
}

// Paging walks the flows of several results as one list.
func TestTxFlowListRangePagesAcrossResults(t *testing.T) {
	l := &TxFlowList{}
	for _, id := range []string{"a", "b"} {
		v := newFlowView(splitResult(t, id, 100, 0))
		l.views = append(l.views, v)
		l.total += v.len()
	}
	ids := func(off, lim int) []string {
		var out []string
		for f := range l.Range(off, lim) {
			out = append(out, f.ID)
		}
		return out
	}
	cases := []struct {
		off, lim int
		want     []string
	}{
		{0, 2, []string{"a-0", "a-1"}},
		{6, 3, []string{"a-6", "b-0", "b-1"}},
		{13, -1, []string{"b-6"}},
		{14, -1, nil},
		{3, 0, nil},
	}
	for _, c := range cases {
		if got := ids(c.off, c.lim); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Range(%d, %d) = %v, want %v", c.off, c.lim, got, c.want)
		}
	}
	if n := len(ids(0, -1)); n != 14 || l.Len() != 14 {
		t.Errorf("all: %d flows, Len %d; want 14", n, l.Len())
	}
}
