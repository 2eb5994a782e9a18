package generator

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"unsafe"

	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packet/signature"
	"github.com/openperfd/openperfd/packetio"
)

// refWrite is Definition.Write as it was before the fast paths (template
// copy, every field set with its checksum updates, the trailer encoded and
// its sum read back from the frame): the reference the fast paths must
// match byte for byte.
func refWrite(d *Definition, dst []byte, flow, lenIdx int, seq uint32, ts uint64) int {
	t := &d.tmpls[d.lenTmpl[lenIdx]]
	n := copy(dst, t.frame)
	frame := dst[:n]
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
	if d.Signature != nil {
		tr := frame[n-SignatureLen : n]
		b := tr
		a := uint64(d.Signature.StreamID+uint32(flow))<<32 | uint64(seq)
		c := (ts&signature.TimestampMask)<<8 | uint64(signature.Marker|d.flags&(signature.FlagEndOfFrame|signature.FlagPRBS))
		binary.BigEndian.PutUint64(b[7:], c)
		binary.BigEndian.PutUint64(b[0:], a)
		h := signature.Check(a, signature.TimeHash(c<<8))
		b[15], b[16], b[17] = byte(h>>16), byte(h>>8), byte(h)
		first := binary.BigEndian.Uint16(tr)
		binary.BigEndian.PutUint16(tr, ^refOnesSum16(tr[2:]))
		t.sig.SetUint16(frame, first)
	}
	return n
}

func refOnesSum16(b []byte) uint16 {
	a := binary.BigEndian.Uint64(b)
	c := binary.BigEndian.Uint64(b[8:])
	s := a>>32 + a&0xffffffff + c>>32 + c&0xffffffff
	s = s>>32 + s&0xffffffff
	s = s>>16 + s&0xffff
	s = s>>16 + s&0xffff
	return uint16(s>>16 + s&0xffff)
}

// equivalenceDefs are definitions covering the writer's paths: with and
// without signature and modifiers, checksums at odd offsets, tunnels (the
// trailer under two checksums), several lengths.
func equivalenceDefs() map[string]TrafficDefinition {
	out := map[string]TrafficDefinition{}
	fills := []Fill{{Kind: FillZero}, {Kind: FillPRBS}, {Kind: FillConstant, Value: 0xffff}}
	i := 0
	for name, hs := range sigStacks() {
		for _, tie := range []Tie{TieZip, TieCartesian} {
			def := TrafficDefinition{Headers: slices.Clone(hs), Tie: tie,
				Length: Length{List: []int{64 + 60, 65 + 60, 1518, 127 + 60}}}
			for j := range def.Headers {
				def.Headers[j].Tie = tie
			}
			out[fmt.Sprintf("%s/%v", name, tie)] = def
			def.Signature = &SignatureConfig{Format: FormatOpenperfd, StreamID: 1000, Latency: Latency(i & 1), Fill: fills[i%len(fills)]}
			out[fmt.Sprintf("%s/%v/signature", name, tie)] = def
			i++
		}
	}
	plain := udpDef(nil, nil, TieZip)
	plain.Length = Length{Fixed: 64}
	out["udp 64 plain"] = plain
	plain.Signature = &SignatureConfig{Format: FormatOpenperfd, StreamID: 7}
	out["udp 64 signature"] = plain
	mods := udpDef(nil, []Modifier{{Name: "source_port", Sequence: &ValueSequence{Count: 1000, Start: Uint(1024)}}}, TieZip)
	mods.Length = Length{Fixed: 64}
	out["udp 64 1000 flows"] = mods
	mods.Signature = &SignatureConfig{Format: FormatOpenperfd, StreamID: 7}
	out["udp 64 1000 flows signature"] = mods
	// The trailer under two UDP checksums (UDP in UDP).
	tun := TrafficDefinition{Headers: []HeaderDef{
		{Header: protocol.Ethernet{Dst: macB, Src: macA}},
		{Header: protocol.IPv4{TTL: 64, Src: ip4A, Dst: ip4B}},
		{Header: protocol.UDP{SrcPort: 1, DstPort: 2}, Modifiers: []Modifier{{Name: "source_port", List: vals(5, 6, 7)}}},
		{Header: protocol.Custom{Data: []byte{8, 0, 0, 0, 0, 0, 1, 0}}},
		{Header: protocol.Ethernet{Dst: macA, Src: macB}},
		{Header: protocol.IPv4{TTL: 64, Src: ip4B, Dst: ip4A}, Modifiers: []Modifier{{Name: "source", Kind: KindIPv4, List: []Value{IPv4Addr(ip4A), IPv4Addr(ip4B)}}}},
		{Header: protocol.UDP{SrcPort: 3, DstPort: 4}},
	}, Length: Length{List: []int{128, 129}}, Tie: TieCartesian, Signature: &SignatureConfig{Format: FormatOpenperfd, StreamID: 3}}
	out["udp in udp signature"] = tun
	// Zero checksum words after the trailer's sum: stream ids and
	// sequence numbers that cancel the rest.
	odd := udpDef(nil, nil, TieZip)
	odd.Headers = append(odd.Headers, HeaderDef{Header: protocol.Custom{Data: []byte{1}}})
	odd.Length = Length{List: []int{65, 66, 67}}
	odd.Signature = &SignatureConfig{Format: FormatOpenperfd, StreamID: 0xffff0000}
	out["udp odd payload"] = odd
	// No checksum over the trailer: IPv4 with a custom payload (found by
	// the tshark AAT: the fast path left such trailers unwritten).
	raw := TrafficDefinition{Headers: []HeaderDef{
		{Header: protocol.Ethernet{Dst: macB, Src: macA}},
		{Header: protocol.IPv4{TTL: 64, Protocol: 254, Src: ip4A, Dst: ip4B, Keep: protocol.KeepType},
			Modifiers: []Modifier{{Name: "destination", Kind: KindIPv4, Sequence: &ValueSequence{Count: 7, Start: IPv4Addr(ip4B)}}}},
		{Header: protocol.Custom{Data: []byte("openperfd custom payload")}},
	}, Length: Length{Fixed: 128}, Signature: &SignatureConfig{Format: FormatOpenperfd, StreamID: 5, Fill: Fill{Kind: FillPRBS}}}
	out["ipv4 custom signature"] = raw
	return out
}

func compileBoth(t *testing.T, def TrafficDefinition) (fast, slow *Program) {
	t.Helper()
	var err error
	if fast, err = Compile([]TrafficDefinition{def, udpDef(nil, nil, TieZip)}, OrderRoundRobin, 0); err != nil {
		t.Fatal(err)
	}
	saved := patchBudget
	patchBudget = 0
	defer func() { patchBudget = saved }()
	if slow, err = Compile([]TrafficDefinition{def, udpDef(nil, nil, TieZip)}, OrderRoundRobin, 0); err != nil {
		t.Fatal(err)
	}
	for i := range slow.Definitions {
		for _, tm := range slow.Definitions[i].tmpls {
			if tm.patch != nil {
				t.Fatal("patchBudget 0 still precomputes")
			}
		}
	}
	for i := range fast.Definitions {
		for _, tm := range fast.Definitions[i].tmpls {
			sigRefs = max(sigRefs, tm.sigRefs)
		}
	}
	return fast, slow
}

var sigRefs int // the most checksums over a trailer compileBoth saw

// Definition.Write, with and without precomputed flow words, writes the
// bytes the reference writes, for every flow and length and for random
// sequence numbers and timestamps.
func TestWriteMatchesReference(t *testing.T) {
	defer func() {
		if sigRefs < 2 {
			t.Errorf("no definition has its trailer under several checksums")
		}
	}()
	rng := rand.New(rand.NewPCG(1, 2))
	for name, def := range equivalenceDefs() {
		fast, slow := compileBoth(t, def)
		for pi, p := range []*Program{fast, slow} {
			d := &p.Definitions[0]
			want := make([]byte, p.MaxFrameLen())
			got := make([]byte, p.MaxFrameLen())
			for f := 0; f < d.FlowCount; f++ {
				for li := range d.Lengths {
					for range 4 {
						seq, ts := rng.Uint32(), rng.Uint64()
						if rng.IntN(4) == 0 {
							seq, ts = 0, 0
						}
						n := refWrite(d, want, f, li, seq, ts)
						m := d.Write(got, f, li, seq, ts)
						if n != m || !bytes.Equal(want[:n], got[:m]) {
							t.Fatalf("%s (program %d): flow %d length %d seq %d ts %d:\n got %x\nwant %x", name, pi, f, li, seq, ts, got[:m], want[:n])
						}
						if l, err := protocol.Parse(got[:m]); err != nil || l.Verify(got[:m]) != 0 {
							t.Fatalf("%s: flow %d length %d: parse %v verify %v", name, f, li, err, l.Verify(got[:m]))
						}
					}
				}
			}
		}
	}
}

// The trailer's checksum update is exact for every value of its first
// word: sweep stream ids so the trailer's sum takes many values, including
// the ones where the update is skipped (the pretended old word equals the
// real one) or the UDP checksum comes out 0.
func TestSignatureChecksumSweep(t *testing.T) {
	for _, length := range []int{64, 65, 66, 67} {
		def := udpDef(nil, nil, TieZip)
		def.Length = Length{Fixed: length}
		if length > 64 {
			def.Headers = append(def.Headers, HeaderDef{Header: protocol.Custom{Data: make([]byte, length-64)}})
		}
		def.Signature = &SignatureConfig{Format: FormatOpenperfd, StreamID: 0}
		p, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
		if err != nil {
			t.Fatal(err)
		}
		d := &p.Definitions[0]
		want := make([]byte, p.MaxFrameLen())
		got := make([]byte, p.MaxFrameLen())
		for i := range 1 << 17 {
			d.Signature.StreamID = uint32(i) << 15
			seq, ts := uint32(i*7919), uint64(i)*0x9e3779b97f4a7c15
			n := refWrite(d, want, 0, 0, seq, ts)
			d.Write(got, 0, 0, seq, ts)
			if !bytes.Equal(want[:n], got[:n]) {
				t.Fatalf("length %d, stream %#x: got %x want %x", length, d.Signature.StreamID, got[:n], want[:n])
			}
		}
	}
}

// heapBurst makes n heap Mbufs with dirty first cache lines, as raw
// buffers from a pool may have.
func heapBurst(n int) []*packetio.Mbuf {
	out := make([]*packetio.Mbuf, n)
	for i := range out {
		buf := make([]byte, 2048+packetio.MbufHeadroom)
		for j := range buf {
			buf[j] = 0xee
		}
		out[i] = packetio.NewHeapMbuf(buf)
		out[i].SetLen(1234)
		out[i].SetPort(9)
	}
	return out
}

// The burst writer (Source.Pull and Fill) writes, packet for packet, what
// Writer.Next writes, and keeps the same sequence numbers.
func TestFillMatchesNext(t *testing.T) {
	for name, def := range equivalenceDefs() {
		for _, order := range []Order{OrderRoundRobin, OrderSequential} {
			other := udpDef(nil, []Modifier{{Name: "source_port", List: vals(1, 2, 3)}}, TieZip)
			other.Weight = 3
			other.Length = Length{List: []int{70, 80}}
			p, err := Compile([]TrafficDefinition{def, other}, order, 0)
			if err != nil {
				t.Fatal(err)
			}
			ref, w := p.NewWriter(), p.NewWriter()
			buf := make([]byte, p.MaxFrameLen())
			pkts := heapBurst(packetio.BurstSize)
			total := int(min(p.Len()+40, 3000))
			for k := 0; k < total; {
				n := min(1+k%packetio.BurstSize, total-k)
				ts := uint64(k) * 1000003
				if got := w.fill(pkts[:n], ts); got != n {
					t.Fatalf("%s: fill wrote %d of %d", name, got, n)
				}
				for i, m := range pkts[:n] {
					l, g := ref.Next(buf, ts)
					if m.Len() != l || !bytes.Equal(m.Data(), buf[:l]) {
						t.Fatalf("%s %v: packet %d (flow %d): fill and Next differ:\n got %x\nwant %x", name, order, k+i, g, m.Data(), buf[:l])
					}
				}
				k += n
			}
			if !slices.Equal(ref.seq, w.seq) {
				t.Fatalf("%s: sequence numbers differ", name)
			}
		}
	}
}

// A Cursor walks definitions as packet k of a definition using flow
// k%FlowCount and length k%len(Lengths).
func TestCursorCountersWrap(t *testing.T) {
	a := udpDef(nil, []Modifier{{Name: "source_port", List: vals(1, 2, 3, 4, 5)}}, TieZip)
	a.Length = Length{List: []int{64, 70, 80}}
	a.Weight = 2
	b := udpDef(nil, []Modifier{{Name: "source_port", List: vals(1, 2)}}, TieZip)
	b.Length = Length{List: []int{100, 110, 120, 130}}
	for _, order := range []Order{OrderRoundRobin, OrderSequential} {
		p, err := Compile([]TrafficDefinition{a, b}, order, 0)
		if err != nil {
			t.Fatal(err)
		}
		c := p.NewCursor()
		k := make([]int, 2)
		for range 500 {
			di, f, li := c.Next()
			d := &p.Definitions[di]
			if f != k[di]%d.FlowCount || li != k[di]%len(d.Lengths) {
				t.Fatalf("%v: definition %d packet %d: flow %d length %d", order, di, k[di], f, li)
			}
			k[di]++
		}
	}
}

func TestFillDoesNotAllocate(t *testing.T) {
	p := benchProgram(t)
	w := p.NewWriter()
	pkts := heapBurst(packetio.BurstSize)
	if a := testing.AllocsPerRun(1000, func() { w.fill(pkts, 1) }); a != 0 {
		t.Errorf("fill allocates %v", a)
	}
}

func benchFill(b *testing.B, def TrafficDefinition) {
	p, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
	if err != nil {
		b.Fatal(err)
	}
	w := p.NewWriter()
	w.SetLinkSpeed(10_000)
	pkts := heapBurst(packetio.BurstSize)
	n := 0
	// CPU time of this thread too: the machine may be shared.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	for b.Loop() {
		n += w.fill(pkts, uint64(n))
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/packet")
	b.ReportMetric(float64(threadCPU()-cpu0)/float64(n), "cpu-ns/packet")
}

// threadCPU is the calling thread's CPU time in ns.
func threadCPU() int64 {
	var ts syscall.Timespec
	// CLOCK_THREAD_CPUTIME_ID
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return ts.Nano()
}

func BenchmarkFill(b *testing.B) {
	for _, size := range []int{64, 128, 512, 1518} {
		for _, flows := range []int{1, 1000} {
			for _, sig := range []string{"false", "true", "spirent"} {
				var mods []Modifier
				if flows > 1 {
					mods = []Modifier{{Name: "source_port", Sequence: &ValueSequence{Count: uint32(flows), Start: Uint(1024)}}}
				}
				def := udpDef(nil, mods, TieZip)
				def.Length = Length{Fixed: size}
				switch sig {
				case "true": // our own trailer, the name kept for comparisons
					def.Signature = &SignatureConfig{Format: FormatOpenperfd, StreamID: 1}
				case "spirent":
					def.Signature = &SignatureConfig{StreamID: 1}
				}
				b.Run(fmt.Sprintf("%dB/%dflows/sig=%v", size, flows, sig), func(b *testing.B) { benchFill(b, def) })
			}
		}
	}
}

// The burst writer's checksum shortcut (the trailer's folded total, the
// exact path when it is 0xffff) matches the reference for trailers of
// every sum: sweep stream ids, sequence numbers and timestamps over UDP
// and TCP, at even and odd offsets.
func TestFillSignatureChecksumSweep(t *testing.T) {
	stacks := map[string]func(pad int) []HeaderDef{
		"udp": func(pad int) []HeaderDef {
			hs := udpDef(nil, nil, TieZip).Headers
			if pad > 0 {
				hs = append(hs, HeaderDef{Header: protocol.Custom{Data: make([]byte, pad)}})
			}
			return hs
		},
		"tcp": func(pad int) []HeaderDef {
			hs := []HeaderDef{
				{Header: protocol.Ethernet{Dst: macB, Src: macA}},
				{Header: protocol.IPv4{TTL: 64, Src: ip4A, Dst: ip4B}},
				{Header: protocol.TCP{SrcPort: 1, DstPort: 2}},
			}
			if pad > 0 {
				hs = append(hs, HeaderDef{Header: protocol.Custom{Data: make([]byte, pad)}})
			}
			return hs
		},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	pkts := heapBurst(1)
	for name, mk := range stacks {
		for pad := range 4 {
			def := TrafficDefinition{Headers: mk(pad), Length: Length{Fixed: 90 + pad}, Signature: &SignatureConfig{Format: FormatOpenperfd, StreamID: 0}}
			p, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
			if err != nil {
				t.Fatal(err)
			}
			d := &p.Definitions[0]
			w := p.NewWriter()
			want := make([]byte, p.MaxFrameLen())
			for i := range 1 << 16 {
				d.Signature.StreamID = uint32(i)<<16 | uint32(rng.IntN(1<<16))
				seq, ts := rng.Uint32(), rng.Uint64()
				w.seq[0] = seq
				n := refWrite(d, want, 0, 0, seq, ts)
				w.fill(pkts, ts)
				if got := pkts[0].Data(); !bytes.Equal(got, want[:n]) {
					t.Fatalf("%s pad %d stream %#x seq %d ts %d:\n got %x\nwant %x", name, pad, d.Signature.StreamID, seq, ts, got, want[:n])
				}
			}
		}
	}
}

// sweepCase is one of the checksum sweeps' programs.
type sweepCase struct {
	name string
	p    *Program
}

// sweepPrograms are the checksum sweeps' programs: UDP or TCP carrying
// mods, signed, padded by 0 or 1 byte so that the checksum sits at an
// even or odd offset from the trailer.
func sweepPrograms(t *testing.T, mods []Modifier) []sweepCase {
	t.Helper()
	var out []sweepCase
	for _, tcp := range []bool{false, true} {
		for pad := range 2 {
			hs := udpDef(nil, mods, TieZip).Headers
			if tcp {
				hs = []HeaderDef{
					{Header: protocol.Ethernet{Dst: macB, Src: macA}},
					{Header: protocol.IPv4{TTL: 64, Src: ip4A, Dst: ip4B}},
					{Header: protocol.TCP{SrcPort: 1, DstPort: 2}, Modifiers: mods},
				}
			}
			if pad > 0 {
				hs = append(hs, HeaderDef{Header: protocol.Custom{Data: make([]byte, pad)}})
			}
			def := TrafficDefinition{Headers: hs, Length: Length{Fixed: 90 + pad}, Signature: &SignatureConfig{Format: FormatOpenperfd, StreamID: 0}}
			p, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, sweepCase{fmt.Sprintf("tcp %v pad %d", tcp, pad), p})
		}
	}
	return out
}

// checkSweep is the checksum sweeps' loop over w's only definition: 2^11
// bursts, each with a random stream id, timestamp and per-flow sequence
// numbers, written into pkts by write (which returns how many it wrote)
// and compared packet by packet with refWrite; after runs after each.
func checkSweep(t *testing.T, rng *rand.Rand, w *Writer, pkts []*packetio.Mbuf, write func(ts uint64) int, after func(), label string) {
	t.Helper()
	d := &w.p.Definitions[0]
	flows := d.FlowCount
	want := make([]byte, w.p.MaxFrameLen())
	seq := make([]uint32, flows)
	for range 1 << 11 {
		d.Signature.StreamID = rng.Uint32()
		ts := rng.Uint64()
		for f := range seq {
			seq[f] = rng.Uint32()
			w.seq[f] = seq[f]
		}
		flow0 := w.cur.pos[0].flow
		if k := write(ts); k != len(pkts) {
			t.Fatalf("%s: wrote %d packets", label, k)
		}
		for i, m := range pkts {
			f := (flow0 + i) % flows
			n := refWrite(d, want, f, 0, seq[f], ts)
			seq[f]++
			if got := m.Data(); !bytes.Equal(got, want[:n]) {
				t.Fatalf("%s stream %#x flow %d ts %d:\n got %x\nwant %x", label, d.Signature.StreamID, f, ts, got, want[:n])
			}
		}
		for f := range seq {
			if w.seq[f] != seq[f] {
				t.Fatalf("%s flow %d: seq %d, want %d", label, f, w.seq[f], seq[f])
			}
		}
		after()
	}
}

// TestFillSignatureChecksumSweepFlows is TestFillSignatureChecksumSweep
// for bursts over several flows (signBurst's per-flow loop), with random
// sequence numbers per flow, so that trailers whose folded total is 0xffff
// (the exact path) occur in every configuration.
func TestFillSignatureChecksumSweepFlows(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const flows = 5
	mods := []Modifier{{Name: "source_port", Sequence: &ValueSequence{Count: flows, Start: Uint(1024)}}}
	pkts := heapBurst(packetio.TxBurstSize)
	for _, sc := range sweepPrograms(t, mods) {
		p := sc.p
		if n := p.Definitions[0].FlowCount; n != flows {
			t.Fatalf("%d flows", n)
		}
		w := p.NewWriter()
		checkSweep(t, rng, w, pkts, func(ts uint64) int { return w.fill(pkts, ts) }, func() {},
			sc.name)
	}
}
