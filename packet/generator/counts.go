package generator

// The transmit order is deterministic, so the packets and octets of every
// definition and flow after n packets follow from n alone. Results and
// tx-flows are computed from the sources' totals this way instead of
// counting per flow on the hot path.

// defPackets sets out[d] to the number of the first n packets of the
// transmit order that belong to definition d.
func (p *Program) defPackets(n uint64, out []uint64) {
	var round uint64
	for i := range p.Definitions {
		round = addSat(round, p.blockOf(i))
	}
	full, rest := n/round, n%round
	for i := range p.Definitions {
		b := p.blockOf(i)
		out[i] = mulSat(full, b) + min(rest, b)
		rest -= min(rest, b)
	}
}

// blockOf is how many packets definition d sends before the cursor moves
// on (as Cursor.block).
func (p *Program) blockOf(d int) uint64 {
	def := &p.Definitions[d]
	if p.Order == OrderSequential {
		return mulSat(uint64(def.Weight), def.Cycle)
	}
	return uint64(def.Weight)
}

// DefinitionPackets returns how many of the first n packets belong to each
// definition.
func (p *Program) DefinitionPackets(n uint64) []uint64 {
	out := make([]uint64, len(p.Definitions))
	p.defPackets(n, out)
	return out
}

// Octets returns the octets (FCS included) of the first n packets.
func (p *Program) Octets(n uint64) uint64 {
	per := p.DefinitionPackets(n)
	var total uint64
	for i := range p.Definitions {
		total = addSat(total, p.Definitions[i].octets(per[i]))
	}
	return total
}

// octets sums the lengths of the definition's first k packets: packet j
// has length Lengths[j % len(Lengths)].
func (d *Definition) octets(k uint64) uint64 {
	l := uint64(len(d.Lengths))
	var sum, head uint64
	for i, v := range d.Lengths {
		sum += uint64(v)
		if uint64(i) < k%l {
			head += uint64(v)
		}
	}
	return addSat(mulSat(k/l, sum), head) // saturates: a counter must not wrap
}

// MeanFrameLen returns the average frame length (FCS included) over the
// transmit order, to turn an octet rate into a packet rate.
func (p *Program) MeanFrameLen() float64 {
	var pkts, octets float64
	for i := range p.Definitions {
		d := &p.Definitions[i]
		share := float64(p.blockOf(i))
		var sum float64
		for _, v := range d.Lengths {
			sum += float64(v)
		}
		pkts += share
		octets += share * sum / float64(len(d.Lengths))
	}
	if pkts == 0 {
		return 0
	}
	return octets / pkts
}

// FlowCounts returns the packets and octets of global flow flow among the
// first n packets.
func (p *Program) FlowCounts(n uint64, flow int) (packets, octets uint64) {
	di := p.Definition(flow)
	if di < 0 {
		return 0, 0
	}
	per := p.DefinitionPackets(n)
	d := &p.Definitions[di]
	return d.flowCounts(per[di], flow-d.FlowOffset)
}

// AllFlowCounts is FlowCounts for every flow at once, in flow order.
func (p *Program) AllFlowCounts(n uint64) (packets, octets []uint64) {
	per := p.DefinitionPackets(n)
	packets = make([]uint64, p.flows)
	octets = make([]uint64, p.flows)
	for di := range p.Definitions {
		d := &p.Definitions[di]
		for f := 0; f < d.FlowCount; f++ {
			packets[d.FlowOffset+f], octets[d.FlowOffset+f] = d.flowCounts(per[di], f)
		}
	}
	return packets, octets
}

// flowCounts: among the definition's first k packets, packet j belongs to
// flow j % FlowCount and has length Lengths[j % L]. The lengths flow f
// sees repeat every L/gcd(FlowCount, L) of its packets.
func (d *Definition) flowCounts(k uint64, f int) (packets, octets uint64) {
	fc := uint64(d.FlowCount)
	packets = k / fc
	if uint64(f) < k%fc {
		packets++
	}
	l := uint64(len(d.Lengths))
	if l == 1 {
		return packets, packets * uint64(d.Lengths[0])
	}
	period := l / gcd(fc, l)
	var cycle, head uint64
	for j := uint64(0); j < period; j++ {
		v := uint64(d.Lengths[(uint64(f)+j*fc)%l])
		cycle += v
		if j < packets%period {
			head += v
		}
	}
	return packets, packets/period*cycle + head
}

// SetSequence sets the next sequence number of a global flow, so a
// generator that takes over from another continues its streams.
func (w *Writer) SetSequence(flow int, seq uint32) { w.seq[flow] = seq }
