package generator

import (
	"time"

	"github.com/openperfd/openperfd/packet/signature/spirent"
)

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
	// enc encodes the definition's Spirent signatures, for streams from
	// encStream on (made at its first burst, again if the stream id
	// changes); nil for other definitions.
	enc       *spirent.Encoder
	encStream uint32
}

// encoder returns ps's Spirent encoder for definition d.
func (ps *cursorPos) encoder(d *Definition) *spirent.Encoder {
	if ps.enc == nil || ps.encStream != d.Signature.StreamID {
		ps.enc, ps.encStream = spirent.NewEncoder(d.Signature.StreamID, d.FlowCount, d.flags), d.Signature.StreamID
	}
	return ps.enc
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

	// Spirent timestamps count from epoch (Unix ns of the start of the
	// UTC year, fixed when the writer is made, as OpenPerf fixes it when
	// a port starts). Each frame of a burst is stamped with the burst's
	// time plus the wire time of the frames before it in the burst (wire,
	// in ps), at psPerByte (0: link speed unknown, every frame gets the
	// burst's time).
	epoch     int64
	psPerByte uint64
	wire      uint64
}

// NewWriter returns a writer at the start of the transmit order.
func (p *Program) NewWriter() *Writer {
	return &Writer{p: p, cur: p.NewCursor(), seq: make([]uint32, p.flows),
		epoch: spirent.Epoch(time.Now()).UnixNano()}
}

// SetLinkSpeed sets the link speed, in Mbps, that spaces the timestamps of
// a burst's frames (0: unknown, no spacing).
func (w *Writer) SetLinkSpeed(mbps int64) {
	w.psPerByte = 0
	if mbps > 0 {
		w.psPerByte = uint64(1_000_000/mbps) * 8 // as OpenPerf: whole ps per bit, times 8
	}
}

// spirentTicks converts ts, Unix ns, into the base of a Spirent timestamp.
func (w *Writer) spirentTicks(ts uint64) uint64 { return spirent.Ticks(int64(ts) - w.epoch) }

// Next writes the next packet into dst (at least MaxFrameLen bytes) with
// tx timestamp ts and returns its length (FCS excluded) and global flow
// index. It does not allocate.
func (w *Writer) Next(dst []byte, ts uint64) (n, flow int) {
	di, f, li := w.cur.Next()
	d := &w.p.Definitions[di]
	g := d.FlowOffset + f
	seq := w.seq[g]
	w.seq[g] = seq + 1
	if d.spirent {
		ts = w.spirentTicks(ts)
	}
	return d.Write(dst, f, li, seq, ts), g
}

// Sequence returns the next sequence number of global flow index flow.
func (w *Writer) Sequence(flow int) uint32 { return w.seq[flow] }
