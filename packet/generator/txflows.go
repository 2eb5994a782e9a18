package generator

import (
	"fmt"
	"iter"
	"sort"

	"github.com/openperfd/openperfd/packet/resource"
	"github.com/openperfd/openperfd/packetio"
)

// flowView computes the flows of one result from one counter snapshot, a
// flow at a time. Listing 4M flows used to build every flow (and six
// counter arrays per result) before the first byte left; a view holds a
// few numbers per shard and definition instead, so a listing streams in
// constant memory. The program and shards of a result never change after
// it starts, so a view may be read without the service's lock.
type flowView struct {
	r   *result
	sum Counters
	// per[k][si][di] is how many of shard si's packets definition di got,
	// for k = actual, intended, tried.
	per [3][][]uint64
}

func newFlowView(r *result) *flowView {
	sn := r.snapshot()
	v := &flowView{r: r, sum: sn.sum()}
	for k, pick := range []func(Counters) uint64{actual, intended, tried} {
		v.per[k] = make([][]uint64, len(r.shards))
		for si, sh := range r.shards {
			v.per[k][si] = sh.prog.DefinitionPackets(pick(sn[si]))
		}
	}
	return v
}

// len is the number of flows of the result.
func (v *flowView) len() int { return v.r.prog.Flows() }

// shardOf finds the shard that transmits global flow g: shards hold
// consecutive blocks of flows in order.
func (v *flowView) shardOf(g int) int {
	sh := v.r.shards
	i := sort.Search(len(sh), func(i int) bool { return sh[i].off > g }) - 1
	return max(i, 0)
}

// flow builds global flow g (0 <= g < len).
func (v *flowView) flow(g int) TxFlow {
	var pk, oc [3]uint64
	si := v.shardOf(g)
	sh := &v.r.shards[si]
	if lf := g - sh.off; lf >= 0 && lf < sh.prog.Flows() {
		if di := sh.prog.Definition(lf); di >= 0 {
			d := &sh.prog.Definitions[di]
			for k := range pk {
				pk[k], oc[k] = d.flowCounts(v.per[k][si][di], lf-d.FlowOffset)
			}
		}
	}
	tf := TxFlow{ID: FlowID(v.r.id, g), ResultID: v.r.id, Counters: FlowCounters{
		PacketsActual: pk[0], OctetsActual: oc[0],
		PacketsIntended: pk[1], OctetsIntended: oc[1],
		PacketsDropped: pk[2] - pk[0], OctetsDropped: oc[2] - oc[0],
	}}
	if pk[0] > 0 {
		tf.Counters.First, tf.Counters.Last = v.sum.First, v.sum.Last
	}
	p := v.r.prog
	if di := p.Definition(g); di >= 0 && p.Definitions[di].Signature != nil {
		sid := p.Definitions[di].StreamID(g - p.Definitions[di].FlowOffset)
		tf.StreamID = &sid
	}
	return tf
}

// TxFlowList is a listing of tx flows taken at one moment: each result's
// counters are read once when the list is made, and flows are computed as
// they are read, so a list of millions of flows costs almost nothing until
// it is walked, and walking it allocates per flow only what one flow needs.
type TxFlowList struct {
	views []*flowView
	total int
}

// TxFlowList lists the flows of results, filtered by generator and/or
// target. The service's lock is held only to read the counters, not while
// the caller walks the list (a slow HTTP client must not stall the
// generators).
func (s *Service) TxFlowList(genID, targetID string) *TxFlowList {
	l := &TxFlowList{}
	for _, r := range s.Runs(genID, targetID) {
		v := newFlowView(r.State)
		l.views = append(l.views, v)
		l.total += v.len()
	}
	return l
}

// Len is the number of flows in the list.
func (l *TxFlowList) Len() int { return l.total }

// Range yields the flows from offset on, at most limit of them (limit < 0:
// all), in list order: results in creation order, each result's flows in
// flow order.
func (l *TxFlowList) Range(offset, limit int) iter.Seq[TxFlow] {
	return func(yield func(TxFlow) bool) {
		offset = max(offset, 0)
		for _, v := range l.views {
			if limit == 0 {
				return
			}
			n := v.len()
			if offset >= n {
				offset -= n
				continue
			}
			for g := offset; g < n && limit != 0; g++ {
				if !yield(v.flow(g)) {
					return
				}
				limit--
			}
			offset = 0
		}
	}
}

// TxFlows lists the flows of results, filtered by generator and/or target,
// as one slice. For small listings and tests; the API streams TxFlowList.
func (s *Service) TxFlows(genID, targetID string) []TxFlow {
	l := s.TxFlowList(genID, targetID)
	out := make([]TxFlow, 0, l.Len())
	for f := range l.Range(0, -1) {
		out = append(out, f)
	}
	return out
}

// TxFlow returns one flow.
func (s *Service) TxFlow(id string) (TxFlow, error) {
	rid, f, ok := parseFlowID(id)
	var r *resource.Run[*gen, *result]
	if ok {
		r, _ = s.Run(rid)
	}
	if r == nil || f >= r.State.prog.Flows() {
		return TxFlow{}, fmt.Errorf("tx flow %s: %w", id, packetio.ErrNotFound)
	}
	return newFlowView(r.State).flow(f), nil
}
