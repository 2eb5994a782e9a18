package capture

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Export format: pcapng, not classic pcap. Both can carry nanosecond
// timestamps (classic with magic 0xa1b23c4d, pcapng with if_tsresol=9),
// but only pcapng records each packet's direction (the epb_flags
// inbound/outbound bits, which rx_and_tx captures need) and gives every
// merged capture its own interface with its own name and snap length.
// OpenPerf's API serves captures as application/x-pcapng too. Every
// reader that matters (tshark, Wireshark, tcpdump >= 4.1, gopacket's
// pcapgo.NgReader) reads it.

// Range selects packets of an export by position in the exported stream,
// 0-based, both ends included: OpenPerf's packet_start and packet_end.
type Range struct{ Start, End uint64 }

// All selects every packet.
var All = Range{0, math.MaxUint64}

// WriteTo writes the capture's packets to w as pcapng; it implements
// io.WriterTo. See WritePcapng.
func (c *Capture) WriteTo(w io.Writer) (int64, error) { return WritePcapng(w, All, c) }

// WritePcapng streams the packets of one or more captures to w as one
// pcapng section, in timestamp order (ties in the order of caps), with
// nanosecond timestamps. Capture i is interface i; with several captures
// this is OpenPerf's merge. r selects packets by position in the merged
// stream.
//
// The export is of the packets held when it begins: packets stored later
// are left out, and packets a wrapping capture overwrites before the
// export reaches them are skipped. The captures need not be stopped: the
// packets are copied out in chunks of about 16 KiB under each capture's
// lock, so pushing waits for at most one chunk's copy, never for w.
// Memory used is about 24 KiB per capture (up to 72 KiB when packets may
// be 64 KiB long) plus a 128 KiB output buffer.
func WritePcapng(w io.Writer, r Range, caps ...*Capture) (int64, error) {
	if r.Start > r.End {
		return 0, fmt.Errorf("write pcapng: %w: packet start %d > end %d", ErrInvalid, r.Start, r.End)
	}
	if len(caps) == 0 {
		return 0, fmt.Errorf("write pcapng: %w: no captures", ErrInvalid)
	}
	curs := make([]*cursor, len(caps))
	for i, c := range caps {
		if c == nil {
			return 0, fmt.Errorf("write pcapng: capture %d is nil", i)
		}
		curs[i] = newCursor(c)
	}
	out := ngWriter{w: w, buf: make([]byte, 0, outBufSize+MaxPacketSize)}
	out.sectionHeader()
	for _, c := range caps {
		out.interfaceDescription(c.cfg.Name, c.snap)
	}
	for idx := uint64(0); idx <= r.End && out.err == nil; idx++ {
		best := -1
		var oldest *record
		for i, cur := range curs {
			if rec := cur.peek(); rec != nil && (oldest == nil || rec.ts < oldest.ts) {
				best, oldest = i, rec
			}
		}
		if best < 0 {
			break
		}
		if idx >= r.Start {
			out.packet(uint32(best), oldest, curs[best].bytes(oldest))
		}
		curs[best].i++
		if idx == math.MaxUint64 {
			break
		}
	}
	out.flush()
	if out.err != nil {
		return out.n, fmt.Errorf("write pcapng: %w", out.err)
	}
	return out.n, nil
}

// Chunk sizes for reading a capture: records and bytes copied per lock
// (a few microseconds of the data plane's time), and the output buffer.
const (
	chunkRecords = 256
	chunkBytes   = 16 << 10 // more only for a single packet that is larger
	outBufSize   = 64 << 10
)

// cursor reads one capture's packets, a chunk at a time, from the first
// held when it was made up to (not including) the first stored after.
type cursor struct {
	c         *Capture
	next, end uint64 // sequence numbers: next to copy, end of the export
	recs      []record
	data      []byte
	i, n      int // recs[i:n] are copied but not yet written
}

func newCursor(c *Capture) *cursor {
	c.mu.Lock()
	first, end := c.ring.first, c.ring.next()
	c.mu.Unlock()
	return &cursor{c: c, next: first, end: end,
		recs: make([]record, chunkRecords), data: make([]byte, max(chunkBytes, c.snap))}
}

// peek returns the next record, or nil when the cursor is done.
func (r *cursor) peek() *record {
	if r.i == r.n {
		r.fill()
		if r.n == 0 {
			return nil
		}
	}
	return &r.recs[r.i]
}

// bytes returns the stored bytes of a record that peek returned.
func (r *cursor) bytes(rec *record) []byte { return r.data[rec.off : rec.off+rec.capLen] }

// fill copies the next chunk out of the capture under its lock.
func (r *cursor) fill() {
	r.i, r.n = 0, 0
	c := r.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.next < c.ring.first { // overwritten (wrap) or discarded (Start, Reset)
		r.next = c.ring.first
	}
	end := min(r.end, c.ring.next())
	used := 0
	for r.next < end && r.n < len(r.recs) {
		rec := *c.ring.get(r.next)
		if r.n > 0 && used+int(rec.capLen) > chunkBytes {
			break
		}
		copy(r.data[used:], c.ring.bytesOf(&rec))
		rec.off = uint32(used)
		used += int(rec.capLen)
		r.recs[r.n] = rec
		r.n++
		r.next++
	}
}

// pcapng block types, option codes and constants (draft-ietf-opsawg-pcapng).
const (
	blockSHB       = 0x0A0D0D0A
	blockIDB       = 0x00000001
	blockEPB       = 0x00000006
	byteOrderMagic = 0x1A2B3C4D
	linkEthernet   = 1
	optEnd         = 0
	optShbUserAppl = 4
	optIfName      = 2
	optIfTsresol   = 9
	optEpbFlags    = 2
	epbInbound     = 1
	epbOutbound    = 2
)

// ngWriter buffers pcapng blocks (little-endian) and writes them to w in
// pieces of about outBufSize bytes. The first error sticks.
type ngWriter struct {
	w   io.Writer
	buf []byte
	n   int64
	err error
}

var le = binary.LittleEndian

func pad4(n int) int { return (n + 3) &^ 3 }

func (o *ngWriter) u16(v uint16) { o.buf = le.AppendUint16(o.buf, v) }
func (o *ngWriter) u32(v uint32) { o.buf = le.AppendUint32(o.buf, v) }

// option appends an option with its value padded to 4 bytes.
func (o *ngWriter) option(code uint16, val []byte) {
	o.u16(code)
	o.u16(uint16(len(val)))
	o.buf = append(o.buf, val...)
	o.buf = append(o.buf, make([]byte, pad4(len(val))-len(val))...)
}

func optionLen(val int) int { return 4 + pad4(val) }

func (o *ngWriter) sectionHeader() {
	const app = "openperfd"
	size := 28 + optionLen(len(app)) + 4
	o.u32(blockSHB)
	o.u32(uint32(size))
	o.u32(byteOrderMagic)
	o.u16(1)                                       // major
	o.u16(0)                                       // minor
	o.buf = le.AppendUint64(o.buf, math.MaxUint64) // section length unknown
	o.option(optShbUserAppl, []byte(app))
	o.option(optEnd, nil)
	o.u32(uint32(size))
}

func (o *ngWriter) interfaceDescription(name string, snap int) {
	name = name[:min(len(name), 0xff00)]
	size := 20 + optionLen(1) + 4
	if name != "" {
		size += optionLen(len(name))
	}
	o.u32(blockIDB)
	o.u32(uint32(size))
	o.u16(linkEthernet)
	o.u16(0) // reserved
	o.u32(uint32(snap))
	if name != "" {
		o.option(optIfName, []byte(name))
	}
	o.option(optIfTsresol, []byte{9}) // 10^-9 s: nanoseconds
	o.option(optEnd, nil)
	o.u32(uint32(size))
}

func (o *ngWriter) packet(iface uint32, rec *record, data []byte) {
	size := 28 + pad4(len(data)) + optionLen(4) + 4 + 4
	ts := uint64(rec.ts)
	o.u32(blockEPB)
	o.u32(uint32(size))
	o.u32(iface)
	o.u32(uint32(ts >> 32))
	o.u32(uint32(ts))
	o.u32(uint32(len(data)))
	o.u32(rec.origLen)
	o.buf = append(o.buf, data...)
	o.buf = append(o.buf, make([]byte, pad4(len(data))-len(data))...)
	flags := uint32(epbInbound)
	if rec.dir == DirTx {
		flags = epbOutbound
	}
	o.u16(optEpbFlags)
	o.u16(4)
	o.u32(flags)
	o.option(optEnd, nil)
	o.u32(uint32(size))
	if len(o.buf) >= outBufSize {
		o.flush()
	}
}

// flush writes what is buffered.
func (o *ngWriter) flush() {
	if o.err == nil && len(o.buf) > 0 {
		var n int
		n, o.err = o.w.Write(o.buf)
		o.n += int64(n)
	}
	o.buf = o.buf[:0]
}
