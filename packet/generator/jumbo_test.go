package generator

import (
	"strings"
	"testing"
	"time"

	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packet/signature/spirent"
	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/packetio/fake"
)

// pullAll pulls from src until it has n packets (the pacing lets them go
// at once), or fails after a second.
func pullAll(t *testing.T, src *Source, n int) []*packetio.Mbuf {
	t.Helper()
	pkts := make([]*packetio.Mbuf, n)
	got := 0
	for deadline := time.Now().Add(time.Second); got < n; {
		got += src.Pull(pkts[got:min(got+packetio.TxBurstSize, n)])
		if time.Now().After(deadline) {
			t.Fatalf("pulled %d of %d packets", got, n)
		}
	}
	return pkts
}

// Frames up to 9216 bytes (FCS included) come out of a jumbo pool whole,
// whichever path writes them (recycled ring, prebuilt, general), with the
// signature at the frame's end and every checksum right.
func TestJumboFramesCarrySignaturesAndGoodChecksums(t *testing.T) {
	ours := &SignatureConfig{Format: FormatOpenperfd, StreamID: 7}
	spirentPRBS := &SignatureConfig{StreamID: 7, Fill: Fill{Kind: FillPRBS}}
	tests := []struct {
		name    string
		length  Length
		sig     *SignatureConfig
		flows   int // UDP source ports (0: no modifier)
		lengths []int
	}{
		{"fixed ours recycled", Length{Fixed: 9216}, ours, 0, []int{9216}},
		// More flows than the small pool spares a ring per flow for.
		{"fixed ours 1000 flows recycled", Length{Fixed: 9216}, ours, 1000, []int{9216}},
		{"fixed spirent prbs recycled", Length{Fixed: 9216}, spirentPRBS, 4, []int{9216}},
		{"fixed no signature prebuilt", Length{Fixed: 9216}, nil, 4, []int{9216}},
		{"list ours", Length{List: []int{64, 2053, 9216}}, ours, 4, []int{64, 2053, 9216}},
		{"list spirent", Length{List: []int{9216, 1518, 4000}}, spirentPRBS, 0, []int{9216, 1518, 4000}},
		{"sequence ours", Length{Sequence: &LengthSequence{Start: 9212, Count: 5}}, ours, 0, []int{9212, 9213, 9214, 9215, 9216}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := udpDef(nil, nil, TieZip)
			if tt.flows > 0 {
				def = udpDef(nil, []Modifier{{Name: "source_port", Kind: KindField,
					Sequence: &ValueSequence{Start: Uint(1), Count: uint32(tt.flows)}}}, TieZip)
			}
			def.Length, def.Signature = tt.length, tt.sig
			prog, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
			if err != nil {
				t.Fatal(err)
			}
			if prog.MaxFrameLen() != 9216-FCSLen {
				t.Fatalf("MaxFrameLen %d, want %d", prog.MaxFrameLen(), 9216-FCSLen)
			}
			pool := fake.NewPool(1024, memory.JumboBufSize)
			const n = 3 * packetio.TxBurstSize
			src, err := NewSource(prog, pool, Pacing{Rate: 1e12, Burst: packetio.TxBurstSize, Frames: n}, nil)
			if err != nil {
				t.Fatal(err)
			}
			src.PullOnly()
			if w := src.Want(); w != 0 {
				t.Fatalf("Want %d: a jumbo source must take no 2 KiB buffers from the worker", w)
			}
			pkts := pullAll(t, src, n)
			if strings.HasSuffix(tt.name, "recycled") && src.rec == nil || strings.HasSuffix(tt.name, "prebuilt") && src.pre == nil {
				t.Fatalf("the source did not take the %s path", tt.name)
			}
			if src.rec != nil && tt.flows > recycleRing && len(src.rec.bufs) != recycleRing {
				t.Errorf("recycled ring of %d buffers; want the least, %d, out of a small pool", len(src.rec.bufs), recycleRing)
			}
			seqs := map[uint32]uint32{}
			for i, m := range pkts {
				frame := m.Data()
				if want := tt.lengths[i%len(tt.lengths)] - FCSLen; len(frame) != want || m.Len() != want {
					t.Fatalf("packet %d: %d bytes (pkt_len %d), want %d", i, len(frame), m.Len(), want)
				}
				l, err := protocol.Parse(frame)
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				if bad := l.Verify(frame); bad != 0 {
					t.Fatalf("packet %d: checksum errors %v", i, bad)
				}
				var stream, seq uint32
				switch {
				case tt.sig == nil:
					continue
				case tt.sig.Format == FormatOpenperfd:
					sig, ok := FrameSignature(frame)
					if !ok {
						t.Fatalf("packet %d: no signature at the end of %d bytes", i, len(frame))
					}
					stream, seq = sig.StreamID, sig.Sequence
				default:
					sig, ok := FrameSpirent(frame)
					if !ok || sig.Flags&spirent.FlagPRBS == 0 {
						t.Fatalf("packet %d: Spirent signature %+v %v", i, sig, ok)
					}
					hlen := protocol.EthernetLen + protocol.IPv4Len + protocol.UDPLen
					if e := spirent.PRBS23BitErrors(frame[hlen:len(frame)-SpirentLen], hlen); e != 0 {
						t.Fatalf("packet %d: PRBS-23 fill has %d bit errors", i, e)
					}
					stream, seq = sig.StreamID, sig.Sequence
				}
				if want := seqs[stream]; seq != want {
					t.Fatalf("packet %d: stream %d sequence %d, want %d", i, stream, seq, want)
				}
				seqs[stream]++
			}
			pool.Free(pkts)
		})
	}
}

// A source of jumbo frames on 2 KiB buffers sends nothing rather than a
// truncated frame.
func TestJumboFramesOnSmallBuffersAreNotTruncated(t *testing.T) {
	def := udpDef(nil, nil, TieZip)
	def.Length = Length{List: []int{9216, 64}}
	prog, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
	if err != nil {
		t.Fatal(err)
	}
	pool := fake.NewPool(256, memory.DefaultBufSize)
	src, err := NewSource(prog, pool, Pacing{Rate: 1e12, Burst: 32, Frames: 32}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pkts := make([]*packetio.Mbuf, 32)
	if n := src.Pull(pkts); n != 0 {
		t.Fatalf("pulled %d packets of 9212 bytes out of 2 KiB buffers", n)
	}
	if st := pool.Stats(); st.Used != 0 {
		t.Errorf("%d buffers held after a refused pull", st.Used)
	}
}
