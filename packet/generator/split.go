package generator

// Split divides a one-definition program's flows into n contiguous blocks
// (fewer if it has fewer flows), one program each, so that n workers can
// transmit it on their own tx queues: every flow stays on one worker, so
// its sequence numbers stay in order. A shard's flow f is the original's
// flow Offsets[i]+f and carries the same stream id. Programs of several
// definitions, or of one flow, are not split (one shard).
func (p *Program) Split(n int) (shards []*Program, offsets []int) {
	if n < 2 || len(p.Definitions) != 1 || p.flows < 2 {
		return []*Program{p}, []int{0}
	}
	d := &p.Definitions[0]
	n = min(n, d.FlowCount)
	ns := len(d.slots)
	for i := range n {
		lo, hi := d.FlowCount*i/n, d.FlowCount*(i+1)/n
		sd := *d
		sd.FlowOffset, sd.FlowCount = 0, hi-lo
		sd.values = d.values[lo*ns : hi*ns]
		sd.Cycle = lcmSat(uint64(sd.FlowCount), uint64(len(d.Lengths)))
		if d.Signature != nil {
			sig := *d.Signature
			sig.StreamID += uint32(lo)
			sd.Signature = &sig
		}
		sd.tmpls = make([]template, len(d.tmpls))
		for j, t := range d.tmpls {
			if t.patch != nil {
				nw := len(t.words)
				t.patch = t.patch[lo*nw : hi*nw]
			}
			sd.tmpls[j] = t
		}
		shards = append(shards, &Program{Definitions: []Definition{sd}, Order: p.Order, flows: sd.FlowCount, maxFrame: p.maxFrame})
		offsets = append(offsets, lo)
	}
	return shards, offsets
}
