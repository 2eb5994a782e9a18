package generator

import (
	"encoding/binary"
	"math"
	"math/bits"

	"github.com/openperfd/openperfd/packet/checksum"
	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packet/signature"
	"github.com/openperfd/openperfd/packet/signature/spirent"
)

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
	spirent bool       // the signature is FormatSpirent's
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
	// sigCheat: the signature covers the UDP checksum at sigCsum, and
	// its cheater bytes keep that checksum right (signSpirent).
	sigCheat bool
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
// with seq and ts (ns for our trailer; for a Spirent signature, 2.5 ns
// ticks since the year's start: spirent.Ticks). dst must hold MaxFrameLen
// bytes. It does not allocate.
func (d *Definition) Write(dst []byte, flow, lenIdx int, seq uint32, ts uint64) int {
	t := &d.tmpls[d.lenTmpl[lenIdx]]
	n := copy(dst, t.frame)
	frame := dst[:n]
	d.setFlow(t, frame, flow)
	switch {
	case d.spirent:
		t.signSpirent(frame, spirent.Signature{StreamID: d.Signature.StreamID + uint32(flow), Sequence: seq,
			Timestamp: ts, Flags: d.flags})
	case d.Signature != nil:
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
	old := ^checksum.Fold(trailerSum(a, timeSum(c), h))
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
