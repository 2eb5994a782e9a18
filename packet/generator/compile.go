package generator

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/openperfd/openperfd/packet/checksum"
	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packet/signature"
)

// MaxSignatureFlows bounds the flows of one definition with signatures,
// as OpenPerf does: each flow takes its own stream id (StreamID + flow),
// and 64k-1 keeps a definition's ids from running into the next's.
const MaxSignatureFlows = 1<<16 - 1

// DefaultFlowLimit is the flow limit Compile applies when given none.
const DefaultFlowLimit = 1 << 22

// Program is a compiled list of traffic definitions. It is read-only after
// Compile and may be shared by many goroutines; each transmitter takes its
// own Cursor or Writer.
type Program struct {
	Definitions []Definition
	Order       Order
	flows       int
	maxFrame    int
}

// Definition is one compiled traffic definition.
type Definition struct {
	FlowOffset int   // global index of the definition's first flow
	FlowCount  int   // flows: modifier combinations (1 without modifiers)
	Lengths    []int // frame lengths, FCS included, in transmit order
	Weight     int
	Signature  *SignatureConfig
	Cycle      uint64 // LCM(FlowCount, len(Lengths)): packets before repeating

	lenTmpl []int      // Lengths index -> templates index
	tmpls   []template // one per distinct length
	slots   []slot     // words a flow patches
	values  []uint32   // FlowCount × len(slots)
	flags   uint8      // signature flags
}

type template struct {
	frame  []byte // FCS excluded; capacity a multiple of 64, zero past the end
	head   *byte  // frame's first byte, for copyBlocks
	layers protocol.Layers
	fields []protocol.Field // one per slot
	sig    protocol.Field   // first 16-bit word of the trailer

	// The flows' words, worked out at compile time when they fit
	// patchBudget (else patch is nil and Write sets fields): words are
	// the offsets of the 16-bit words any flow changes (its slots and the
	// checksums over them), patch[f*len(words):][:len(words)] their
	// values in flow f's packets.
	words []uint16
	patch []uint16

	// How the trailer's sum reaches the checksums: sigRefs is the number
	// of checksums over it; with exactly one (sigSingle), Write updates it
	// inline at sigCsum, else through sig.
	sigSingle bool
	sigOdd    bool
	sigUDP    bool
	sigRefs   int
	sigCsum   int
	// sigCsumWord is the index in words of the checksum at sigCsum when
	// the flows change it, else -1: a recycled buffer still holding its
	// flow's words resets that checksum from the flow's row.
	sigCsumWord int
}

// patchBudget bounds the precomputed flow words of a definition (16-bit
// words, over all its templates): 16 MiB.
var patchBudget = 8 << 20 // a variable for tests

type slot struct {
	off, size int
}

// Flows returns the number of flows of all definitions.
func (p *Program) Flows() int { return p.flows }

// MaxFrameLen returns the longest frame (FCS excluded) Write may produce.
func (p *Program) MaxFrameLen() int { return p.maxFrame }

// Len returns the number of packets after which the transmit order
// repeats (saturating at MaxUint64).
func (p *Program) Len() uint64 {
	if p.Order == OrderSequential {
		var n uint64
		for i := range p.Definitions {
			d := &p.Definitions[i]
			n = addSat(n, mulSat(uint64(d.Weight), d.Cycle))
		}
		return n
	}
	var rounds, w uint64 = 1, 0
	for i := range p.Definitions {
		d := &p.Definitions[i]
		rounds = lcmSat(rounds, d.Cycle)
		w += uint64(d.Weight)
	}
	return mulSat(rounds, w)
}

// Definition returns the definition of global flow index flow, or -1.
func (p *Program) Definition(flow int) int {
	lo, hi := 0, len(p.Definitions)
	for lo < hi {
		m := (lo + hi) / 2
		if d := &p.Definitions[m]; flow < d.FlowOffset {
			hi = m
		} else if flow >= d.FlowOffset+d.FlowCount {
			lo = m + 1
		} else {
			return m
		}
	}
	return -1
}

// StreamID returns the signature stream id of the definition's flow (local
// index), or 0 without signature.
func (d *Definition) StreamID(flow int) uint32 {
	if d.Signature == nil {
		return 0
	}
	return d.Signature.StreamID + uint32(flow)
}

// Template returns the template frame for Lengths[lenIdx] (read-only; FCS
// excluded) and its Layers.
func (d *Definition) Template(lenIdx int) ([]byte, protocol.Layers) {
	t := &d.tmpls[d.lenTmpl[lenIdx]]
	return t.frame[:len(t.frame):len(t.frame)], t.layers
}

// Write builds the packet of the definition's flow (local index) with
// length Lengths[lenIdx] into dst and returns its length (FCS excluded):
// a copy of the template, the flow's modified words set with incremental
// checksum updates, and, if the definition has a signature, the trailer
// with seq and ts. dst must hold MaxFrameLen bytes. It does not allocate.
func (d *Definition) Write(dst []byte, flow, lenIdx int, seq uint32, ts uint64) int {
	t := &d.tmpls[d.lenTmpl[lenIdx]]
	n := copy(dst, t.frame)
	frame := dst[:n]
	d.setFlow(t, frame, flow)
	if d.Signature != nil {
		t.sign(frame, d.Signature.StreamID+uint32(flow), seq, ts, d.flags)
	}
	return n
}

// setFlow sets the flow's words in frame, a copy of template t.
func (d *Definition) setFlow(t *template, frame []byte, flow int) {
	if t.patch != nil {
		nw := len(t.words)
		row := t.patch[flow*nw : flow*nw+nw]
		for i, off := range t.words {
			binary.BigEndian.PutUint16(frame[off:], row[i])
		}
		return
	}
	ns := len(t.fields)
	vals := d.values[flow*ns : flow*ns+ns]
	for i := range t.fields {
		f := &t.fields[i]
		if f.Size == 2 {
			f.SetUint16(frame, uint16(vals[i]))
		} else {
			f.SetUint32(frame, vals[i])
		}
	}
}

// sign writes the signature trailer at the end of frame, a copy of
// template t (whose trailer is zero) with the flow's words set, and
// updates the checksums over it.
//
// It accounts for the whole trailer with one checksum update: pretend its
// first word was the one's-complement negation of the rest, so that
// setting the real first word adds the sum of the whole trailer to every
// checksum covering it (all trailer words share one parity). The sums are
// taken from the values written, not read back from the frame.
func (t *template) sign(frame []byte, stream, seq uint32, ts uint64, flags uint8) {
	tr := frame[len(frame)-SignatureLen:]
	a, c := signature.StreamSeq(stream, seq), signature.TimeWord(ts, flags)
	h := signature.Check(a, signature.TimeHash(c))
	signature.Put((*[signature.Len]byte)(tr), a, c, h)
	if t.sigRefs == 0 {
		return
	}
	old := ^checksum.Fold(trailerSum(a, timeSum(c<<8), h))
	first := uint16(a >> 48)
	if !t.sigSingle {
		binary.BigEndian.PutUint16(tr, old)
		t.sig.SetUint16(frame, first)
		return
	}
	// protocol.Field.SetUint16 for one checksum, inline.
	if old == first {
		return
	}
	cw := frame[t.sigCsum : t.sigCsum+2]
	oc := binary.BigEndian.Uint16(cw)
	if t.sigUDP && oc == 0 {
		return
	}
	if t.sigOdd {
		old, first = bits.ReverseBytes16(old), bits.ReverseBytes16(first)
	}
	nc := checksum.Update16(oc, old, first)
	if nc == 0 && t.sigUDP {
		nc = 0xffff
	}
	binary.BigEndian.PutUint16(cw, nc)
}

// Compile validates and expands the definitions. flowLimit bounds the
// total number of flows (<= 0: DefaultFlowLimit); exceeding it is an error
// wrapping ErrInvalid.
func Compile(defs []TrafficDefinition, order Order, flowLimit int) (*Program, error) {
	if err := Validate(defs); err != nil {
		return nil, err
	}
	if order > OrderSequential {
		return nil, invalid("order", "unknown order %d", order)
	}
	if flowLimit <= 0 {
		flowLimit = DefaultFlowLimit
	}
	p := &Program{Definitions: make([]Definition, len(defs)), Order: order}
	// Count first, so an oversized config fails before anything is built.
	counts := make([]int, len(defs))
	total := 0
	for i := range defs {
		c := flowCount(&defs[i], flowLimit+1)
		counts[i] = c
		total += c
		if c > flowLimit || total > flowLimit {
			return nil, invalid("flow_count", "traffic needs more than %d flows, the limit", flowLimit)
		}
		if defs[i].Signature != nil && c > MaxSignatureFlows {
			return nil, invalid(fmt.Sprintf("traffic[%d].signature", i),
				"%d flows with signatures is more than %d, the limit of one definition", c, MaxSignatureFlows)
		}
		// Flow f signs with StreamID+f in 32 bits: past 2^32-1 the ids
		// would wrap to 0 and collide with other flows'.
		if sg := defs[i].Signature; sg != nil && uint64(sg.StreamID)+uint64(c)-1 > math.MaxUint32 {
			return nil, invalid(fmt.Sprintf("traffic[%d].signature.stream_id", i),
				"%d with %d flows would run past %d, the largest stream id", sg.StreamID, c, uint64(math.MaxUint32))
		}
	}
	for i := range defs {
		if err := compileDef(&p.Definitions[i], &defs[i], i, counts[i]); err != nil {
			return nil, err
		}
		p.Definitions[i].FlowOffset = p.flows
		p.flows += counts[i]
		for _, t := range p.Definitions[i].tmpls {
			p.maxFrame = max(p.maxFrame, len(t.frame))
		}
	}
	return p, nil
}

// tieCount combines member counts by tie, saturating at limit.
func tieCount(tie Tie, counts []int, limit int) int {
	n := uint64(1)
	for _, c := range counts {
		if tie == TieCartesian {
			n = mulSat(n, uint64(c))
		} else {
			n = lcmSat(n, uint64(c))
		}
		if n > uint64(limit) {
			return limit
		}
	}
	return int(n)
}

func modifierCounts(h *HeaderDef) []int {
	c := make([]int, len(h.Modifiers))
	for k := range h.Modifiers {
		m := &h.Modifiers[k]
		if m.List != nil {
			c[k] = len(m.List)
		} else {
			c[k] = len(m.Sequence.values())
		}
	}
	return c
}

func flowCount(d *TrafficDefinition, limit int) int {
	hc := make([]int, len(d.Headers))
	for j := range d.Headers {
		hc[j] = tieCount(d.Headers[j].Tie, modifierCounts(&d.Headers[j]), limit)
	}
	return tieCount(d.Tie, hc, limit)
}

// split maps a combined index to member indexes: zip takes i mod count,
// cartesian is mixed radix with the last member fastest.
func split(tie Tie, i int, counts []int, out []int) {
	if tie == TieZip {
		for k, c := range counts {
			out[k] = i % c
		}
		return
	}
	for k := len(counts) - 1; k >= 0; k-- {
		out[k] = i % counts[k]
		i /= counts[k]
	}
}

// mod is one expanded modifier: where it writes and its values.
type mod struct {
	off  int // absolute offset of its container
	spec fieldSpec
	vals []Value
}

// apply writes value v of the modifier into frame.
func (m *mod) apply(frame []byte, v Value) {
	b := frame[m.off : m.off+m.spec.size]
	if m.spec.bits == 0 {
		v.put(b)
		return
	}
	mask := uint32(1)<<m.spec.bits - 1
	if m.spec.size == 2 {
		w := uint32(binary.BigEndian.Uint16(b))
		w = w&^(mask<<m.spec.shift) | (uint32(v.Lo)&mask)<<m.spec.shift
		binary.BigEndian.PutUint16(b, uint16(w))
		return
	}
	w := binary.BigEndian.Uint32(b)
	w = w&^(mask<<m.spec.shift) | (uint32(v.Lo)&mask)<<m.spec.shift
	binary.BigEndian.PutUint32(b, w)
}

func compileDef(cd *Definition, d *TrafficDefinition, i, flows int) error {
	p := fmt.Sprintf("traffic[%d]", i)
	stack := make(protocol.Stack, len(d.Headers))
	for j := range d.Headers {
		stack[j] = d.Headers[j].Header
	}
	hlen := stack.HeaderLen()
	sigLen := 0
	if d.Signature != nil {
		sigLen = SignatureLen
		sc := *d.Signature
		cd.Signature = &sc
		if d.Signature.Latency == LatencyEndOfFrame {
			cd.flags |= signature.FlagEndOfFrame
		}
		if d.Signature.Fill.Kind == FillPRBS {
			cd.flags |= signature.FlagPRBS
		}
	}
	lengths, err := d.Length.expand(p+".length", d.minLength(hlen))
	if err != nil {
		return err
	}
	cd.Lengths = lengths
	cd.FlowCount = flows
	cd.Weight = max(1, int(min(d.Weight, math.MaxInt32)))
	cd.Cycle = lcmSat(uint64(flows), uint64(len(lengths)))

	// Templates, one per distinct length.
	byLen := map[int]int{}
	cd.lenTmpl = make([]int, len(lengths))
	for k, l := range lengths {
		ti, ok := byLen[l]
		if !ok {
			ti = len(cd.tmpls)
			byLen[l] = ti
			frame := make([]byte, max(l-FCSLen, hlen), (max(l-FCSLen, hlen)+63)&^63) // zero padding for copyBlocks
			layers, err := stack.Build(frame)
			if err != nil {
				return invalid(fmt.Sprintf("%s.length", p), "length %d: %v", l, err)
			}
			if n := l - FCSLen; n < hlen {
				// Headers cut at the frame's length (minLength allows it
				// only without signature and modifiers, so nothing is
				// patched past the cut); the copy keeps copyBlocks within
				// the frame's own blocks.
				cut := make([]byte, n, (n+63)&^63)
				copy(cut, frame)
				frame = cut
			}
			if d.Signature != nil {
				FillPayload(frame[layers.PayloadOff:len(frame)-sigLen], d.Signature.Fill)
				layers.UpdateChecksums(frame)
			}
			t := template{frame: frame, head: &frame[:1][0], layers: layers, sigCsumWord: -1}
			if d.Signature != nil {
				if t.sig, err = layers.Field(len(frame)-SignatureLen, 2); err != nil {
					return invalid(p+".signature", "length %d: %v", l, err)
				}
				t.sigCsum, t.sigOdd, t.sigUDP, t.sigRefs = t.sig.Single()
				t.sigSingle = t.sigRefs == 1 && t.sigCsum > 0
			}
			cd.tmpls = append(cd.tmpls, t)
		}
		cd.lenTmpl[k] = ti
	}

	// Modifiers and the words they touch.
	var mods []mod
	modIdx := make([][]int, len(d.Headers)) // header -> indexes into mods
	hcounts := make([]int, len(d.Headers))
	off := 0
	for j := range d.Headers {
		h := &d.Headers[j]
		for k := range h.Modifiers {
			m := &h.Modifiers[k]
			s, _ := m.spec(h.Header)
			modIdx[j] = append(modIdx[j], len(mods))
			mods = append(mods, mod{off: off + s.off, spec: s, vals: m.values()})
		}
		off += h.Header.Len()
	}
	touched := map[int]bool{} // even offsets of touched 16-bit words
	for _, m := range mods {
		for b := m.off; b < m.off+m.spec.size; b++ {
			touched[b&^1] = true
		}
	}
	for w := 0; w < hlen+1; w += 2 {
		if !touched[w] {
			continue
		}
		if touched[w+2] {
			cd.slots = append(cd.slots, slot{w, 4})
			w += 2
		} else {
			cd.slots = append(cd.slots, slot{w, 2})
		}
	}
	base := cd.tmpls[0].frame
	for ti := range cd.tmpls {
		t := &cd.tmpls[ti]
		for _, s := range cd.slots {
			if s.off+s.size > len(t.frame) {
				return invalid(p+".packet.protocols", "modified field at offset %d runs past the frame", s.off)
			}
			// The untouched bytes of a word must not depend on the length.
			for b := s.off; b < s.off+s.size; b++ {
				if t.frame[b] != base[b] {
					return invalid(p+".packet.protocols", "modified field at offset %d shares a word with a length-dependent field", s.off)
				}
			}
			f, err := t.layers.Field(s.off, s.size)
			if err != nil {
				return invalid(p+".packet.protocols", "modified field at offset %d: %v", s.off, err)
			}
			t.fields = append(t.fields, f)
		}
	}

	// Per-flow words.
	ns := len(cd.slots)
	if ns == 0 {
		return nil
	}
	cd.values = make([]uint32, flows*ns)
	for j := range d.Headers {
		hcounts[j] = tieCount(d.Headers[j].Tie, modifierCounts(&d.Headers[j]), math.MaxInt)
	}
	mcounts := make([][]int, len(d.Headers))
	midx := make([][]int, len(d.Headers))
	for j := range d.Headers {
		for _, k := range modIdx[j] {
			mcounts[j] = append(mcounts[j], len(mods[k].vals))
		}
		midx[j] = make([]int, len(modIdx[j]))
	}
	hidx := make([]int, len(d.Headers))
	scratch := make([]byte, len(base))
	for f := 0; f < flows; f++ {
		copy(scratch, base)
		split(d.Tie, f, hcounts, hidx)
		for j := range d.Headers {
			if len(modIdx[j]) == 0 {
				continue
			}
			split(d.Headers[j].Tie, hidx[j], mcounts[j], midx[j])
			for x, k := range modIdx[j] {
				mods[k].apply(scratch, mods[k].vals[midx[j][x]])
			}
		}
		row := cd.values[f*ns : f*ns+ns]
		for s, sl := range cd.slots {
			if sl.size == 2 {
				row[s] = uint32(binary.BigEndian.Uint16(scratch[sl.off:]))
			} else {
				row[s] = binary.BigEndian.Uint32(scratch[sl.off:])
			}
		}
	}
	cd.precompute()
	return nil
}

// precompute works out every flow's words in every template (template.words
// and patch) when they fit patchBudget, by setting the fields as Write
// would.
func (cd *Definition) precompute() {
	words := make([][]uint16, len(cd.tmpls))
	total := 0
	for ti := range cd.tmpls {
		t := &cd.tmpls[ti]
		var offs []int
		for _, sl := range cd.slots {
			offs = append(offs, sl.off)
			if sl.size == 4 {
				offs = append(offs, sl.off+2)
			}
		}
		for i := range t.fields {
			offs = t.fields[i].Checksums(offs)
		}
		slices.Sort(offs)
		offs = slices.Compact(offs)
		for _, o := range offs {
			words[ti] = append(words[ti], uint16(o))
		}
		total += len(offs) * cd.FlowCount
		if total > patchBudget {
			return
		}
	}
	for ti := range cd.tmpls {
		t := &cd.tmpls[ti]
		nw := len(words[ti])
		end := int(words[ti][nw-1]) + 2
		scratch := make([]byte, end)
		patch := make([]uint16, nw*cd.FlowCount)
		for f := 0; f < cd.FlowCount; f++ {
			copy(scratch, t.frame[:end])
			cd.setFlow(t, scratch, f)
			row := patch[f*nw : f*nw+nw]
			for i, o := range words[ti] {
				row[i] = binary.BigEndian.Uint16(scratch[o:])
			}
		}
		t.words, t.patch = words[ti], patch
		t.sigCsumWord = -1
		for i, o := range t.words {
			if t.sigSingle && int(o) == t.sigCsum {
				t.sigCsumWord = i
			}
		}
	}
}

// Cursor walks a Program's transmit order. It is not safe for concurrent
// use; take one per transmitter.
type Cursor struct {
	p    *Program
	def  int
	left uint64      // packets left in the current definition's block
	pos  []cursorPos // per definition: where its next packet is
}

// cursorPos is a definition's next packet k as k%FlowCount and
// k%len(Lengths), kept as counters that wrap (no division per packet).
type cursorPos struct {
	flow, len int
}

// NewCursor returns a cursor at the start of the transmit order.
func (p *Program) NewCursor() *Cursor {
	c := &Cursor{p: p, pos: make([]cursorPos, len(p.Definitions))}
	c.left = c.block(0)
	return c
}

func (c *Cursor) block(d int) uint64 {
	def := &c.p.Definitions[d]
	if c.p.Order == OrderSequential {
		return mulSat(uint64(def.Weight), def.Cycle)
	}
	return uint64(def.Weight)
}

// Next returns the definition, its local flow index and its Lengths index
// of the next packet. It does not allocate.
func (c *Cursor) Next() (def, flow, lenIdx int) {
	for c.left == 0 {
		c.def++
		if c.def == len(c.p.Definitions) {
			c.def = 0
		}
		c.left = c.block(c.def)
	}
	c.left--
	d := &c.p.Definitions[c.def]
	ps := &c.pos[c.def]
	flow, lenIdx = ps.flow, ps.len
	if ps.flow++; ps.flow == d.FlowCount {
		ps.flow = 0
	}
	if ps.len++; ps.len == len(d.Lengths) {
		ps.len = 0
	}
	return c.def, flow, lenIdx
}

// Writer writes a Program's packets in transmit order, keeping a sequence
// number per flow (from 0). Not safe for concurrent use.
type Writer struct {
	p   *Program
	cur *Cursor
	seq []uint32 // per global flow
}

// NewWriter returns a writer at the start of the transmit order.
func (p *Program) NewWriter() *Writer {
	return &Writer{p: p, cur: p.NewCursor(), seq: make([]uint32, p.flows)}
}

// Next writes the next packet into dst (at least MaxFrameLen bytes) with
// tx timestamp ts and returns its length (FCS excluded) and global flow
// index. It does not allocate.
func (w *Writer) Next(dst []byte, ts uint64) (n, flow int) {
	di, f, li := w.cur.Next()
	d := &w.p.Definitions[di]
	g := d.FlowOffset + f
	seq := w.seq[g]
	w.seq[g] = seq + 1
	return d.Write(dst, f, li, seq, ts), g
}

// Sequence returns the next sequence number of global flow index flow.
func (w *Writer) Sequence(flow int) uint32 { return w.seq[flow] }

func mulSat(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi != 0 {
		return math.MaxUint64
	}
	return lo
}

func addSat(a, b uint64) uint64 {
	s, c := bits.Add64(a, b, 0)
	if c != 0 {
		return math.MaxUint64
	}
	return s
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func lcmSat(a, b uint64) uint64 {
	if a == 0 || b == 0 {
		return 0
	}
	return mulSat(a/gcd(a, b), b)
}
