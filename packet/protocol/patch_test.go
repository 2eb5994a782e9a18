package protocol

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// A patched frame must equal the same frame with every checksum recomputed
// from scratch: incremental updates are exact, not merely valid.
func TestPatchedFieldsLeaveTheSameChecksumsAsAFullRecomputation(t *testing.T) {
	type field struct {
		name string
		at   func(l *Layers) int // offset of the field
		size int                 // 2, 4, or more for SetBytes
	}
	hdr := func(i, off int) func(l *Layers) int {
		return func(l *Layers) int { return int(l.Spans[i].Off) + off }
	}
	payload := func(extra int) func(l *Layers) int {
		return func(l *Layers) int { return int(l.PayloadOff) + extra }
	}
	cases := []struct {
		name   string
		stack  func(r *rand.Rand) Stack
		fields []field
	}{
		{
			name:  "eth+ipv4+udp",
			stack: func(r *rand.Rand) Stack { return Stack{randEthernet(r), randIPv4(r), randUDP(r)} },
			fields: []field{
				{"ipv4 id", hdr(1, IPv4IDOff), 2},
				{"ipv4 src", hdr(1, IPv4SrcOff), 4},
				{"ipv4 dst", hdr(1, IPv4DstOff), 4},
				{"udp src port", hdr(2, UDPSrcPortOff), 2},
				{"payload seq at even offset", payload(0), 4},
				{"payload seq at odd offset", payload(5), 4},
				{"payload word at odd offset", payload(3), 2},
				{"payload 3 bytes", payload(1), 3},
				{"eth src (no checksum)", hdr(0, EthernetSrcOff), 6},
			},
		},
		{
			name: "eth+qinq+ipv6+tcp",
			stack: func(r *rand.Rand) Stack {
				return Stack{randEthernet(r), randVLAN(r), randVLAN(r), randIPv6(r), randTCP(r)}
			},
			fields: []field{
				{"ipv6 src", hdr(3, IPv6SrcOff), 16},
				{"ipv6 dst high word", hdr(3, IPv6DstOff), 4},
				{"tcp seq", hdr(4, TCPSeqOff), 4},
				{"tcp ack", hdr(4, TCPAckOff), 4},
				{"payload seq at odd offset", payload(7), 4},
			},
		},
		{
			name: "odd-length custom before ipv4+udp",
			stack: func(r *rand.Rand) Stack {
				e := randEthernet(r).(Ethernet)
				e.EtherType, e.Keep = EtherTypeIPv4, KeepType
				return Stack{e, Custom{[]byte{1, 2, 3}}, randIPv4(r), randUDP(r)}
			},
			fields: []field{
				{"ipv4 src at odd frame offset", hdr(2, IPv4SrcOff), 4},
				{"payload seq", payload(0), 4},
			},
		},
		{
			name:  "vxlan tunnel",
			stack: tunnelStack,
			fields: []field{
				{"outer ipv4 src", hdr(1, IPv4SrcOff), 4},
				{"inner ipv4 src: inner and outer checksums", hdr(5, IPv4SrcOff), 4},
				{"inner ipv4 ttl", hdr(5, IPv4TTLOff), 2},
				{"inner udp port", hdr(6, UDPDstPortOff), 2},
				{"inner payload seq", payload(1), 4},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(5, uint64(len(c.name))))
			for range 300 {
				s := c.stack(r)
				frame := randFrame(r, s.HeaderLen()+16)
				for i := range frame {
					frame[i] = byte(r.Uint32())
				}
				l, err := s.BuildHeaders(frame)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range c.fields {
					off := f.at(&l)
					viaField := r.IntN(2) == 0 // a precomputed Field, or Layers.Set*
					fd, err := l.Field(off, f.size)
					if (err == nil) != (f.size == 2 || f.size == 4) {
						t.Fatalf("%s: Field: %v", f.name, err)
					}
					switch {
					case f.size == 2 && viaField:
						fd.SetUint16(frame, uint16(r.Uint32()))
					case f.size == 4 && viaField:
						fd.SetUint32(frame, r.Uint32())
					case f.size == 2:
						l.SetUint16(frame, off, uint16(r.Uint32()))
					case f.size == 4:
						l.SetUint32(frame, off, r.Uint32())
					default:
						v := make([]byte, f.size)
						for i := range v {
							v[i] = byte(r.Uint32())
						}
						l.SetBytes(frame, off, v)
						if !bytes.Equal(frame[off:off+f.size], v) {
							t.Fatalf("%s: SetBytes did not write", f.name)
						}
					}
					want := bytes.Clone(frame)
					l.UpdateChecksums(want)
					if !bytes.Equal(frame, want) {
						t.Fatalf("%s: patched\n%x\nrecomputed\n%x", f.name, frame, want)
					}
				}
				if bad := l.Verify(frame); bad != 0 {
					t.Fatalf("Verify %b", bad)
				}
			}
		})
	}
}

func TestPatchingLeavesKeptAndAbsentChecksumsAlone(t *testing.T) {
	frame := make([]byte, 64)
	s := Stack{Ethernet{}, IPv4{Checksum: 0x1234, Keep: KeepChecksum}, UDP{Checksum: 0, Keep: KeepChecksum}}
	l, _ := s.Build(frame)
	l.SetUint32(frame, IPv4Len+EthernetLen+UDPLen, 0xdeadbeef)
	l.SetUint16(frame, EthernetLen+IPv4IDOff, 7)
	if got := binary.BigEndian.Uint16(frame[EthernetLen+IPv4ChecksumOff:]); got != 0x1234 {
		t.Errorf("kept IPv4 checksum changed to %#x", got)
	}
	if got := binary.BigEndian.Uint16(frame[EthernetLen+IPv4Len+UDPChecksumOff:]); got != 0 {
		t.Errorf("absent UDP checksum changed to %#x", got)
	}
}

func TestFieldRejectsWhatItCannotPatch(t *testing.T) {
	frame := make([]byte, 64)
	l, _ := ethIPv4UDP().Build(frame)
	for _, c := range []struct{ off, size int }{{-1, 2}, {10, 3}, {10, 8}, {62, 4}, {63, 2}} {
		if _, err := l.Field(c.off, c.size); err != ErrFieldRange {
			t.Errorf("Field(%d, %d): %v", c.off, c.size, err)
		}
	}
	if f, err := l.Field(60, 4); err != nil || f.Off != 60 || f.Size != 4 {
		t.Errorf("last 4 bytes: %+v %v", f, err)
	}
}

func TestPatchingUnderMoreChecksumsThanAFieldHoldsRecomputesThemAll(t *testing.T) {
	// Five nested UDP headers: a payload change touches 2^5-1 checksums.
	s := Stack{Ethernet{}, IPv4{Src: ip4A}, UDP{}, UDP{}, UDP{}, UDP{}, UDP{}}
	frame := make([]byte, 100)
	l, _ := s.Build(frame)
	off := int(l.PayloadOff) + 1
	if _, err := l.Field(off, 4); err != ErrFieldRange {
		t.Fatalf("Field: %v", err)
	}
	l.SetUint32(frame, off, 0x01020304)
	l.SetBytes(frame, int(l.Spans[1].Off)+IPv4SrcOff, []byte{10, 9, 8, 7})
	want := bytes.Clone(frame)
	l.UpdateChecksums(want)
	if !bytes.Equal(frame, want) || l.Verify(frame) != 0 {
		t.Fatalf("patched\n%x\nrecomputed\n%x", frame, want)
	}
}

func TestSettingAFieldDoesNotAllocate(t *testing.T) {
	frame := make([]byte, 120)
	l, _ := tunnelStackFixed().Build(frame)
	f, err := l.Field(int(l.PayloadOff)+3, 4)
	if err != nil {
		t.Fatal(err)
	}
	var v uint32
	if n := testing.AllocsPerRun(100, func() { v++; f.SetUint32(frame, v) }); n != 0 {
		t.Fatalf("Field.SetUint32 allocates %v times", n)
	}
}
