package protocol

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// FuzzParse feeds Parse arbitrary frames: it must not panic, its spans must
// lie in the frame in order, Verify and UpdateChecksums must not panic, and
// after UpdateChecksums a cleanly parsed frame verifies and parses the same;
// DecodeInner must not panic and its spans must lie in the frame in order.
func FuzzParse(f *testing.F) {
	r := rand.New(rand.NewPCG(6, 6))
	for _, c := range combos() {
		s := c.stack(r)
		f.Add(frameOf(f, max(64, s.HeaderLen()+8), s, nil))
	}
	f.Add(frameOf(f, 120, tunnelStackFixed(), nil))
	f.Add(ipv6Ext(f, 0))
	f.Add(ipv6Ext(f, 8<<3))
	f.Add(frameOf(f, 100, Stack{Ethernet{}, IPv4{}, IPv6{NextHeader: ProtoICMPv6}}, nil))
	f.Add(frameOf(f, 60, Stack{Ethernet{}, VLAN{}, IPv4{Protocol: ProtoICMP, Keep: KeepType}}, nil))
	f.Add(frameOf(f, 80, Stack{Ethernet{}, IPv4{}, TCP{DataOffset: 8}}, nil))
	for _, c := range tunnelFrames(f) {
		f.Add(c.frame)
	}
	f.Add([]byte{})
	f.Add(make([]byte, 14))

	f.Fuzz(func(t *testing.T, frame []byte) {
		l, err := Parse(frame)
		prev := 0
		for i, s := range l.Headers() {
			if int(s.Off) != prev || int(s.Off)+int(s.Len) > int(s.End) || int(s.End) > len(frame) {
				t.Fatalf("span %d %+v after offset %d, frame %d bytes", i, s, prev, len(frame))
			}
			prev = int(s.Off) + int(s.Len)
		}
		if l.N > 0 && (int(l.PayloadOff) != prev || l.PayloadEnd < l.PayloadOff || int(l.PayloadEnd) > len(frame)) {
			t.Fatalf("payload [%d, %d) after offset %d, frame %d bytes", l.PayloadOff, l.PayloadEnd, prev, len(frame))
		}
		var in Layers
		_ = in.DecodeInner(frame, &l)
		inPrev := 0
		for i, s := range in.Headers() {
			if (i > 0 && int(s.Off) != inPrev) || int(s.Off)+int(s.Len) > int(s.End) || int(s.End) > len(frame) {
				t.Fatalf("inner span %d %+v after offset %d, frame %d bytes", i, s, inPrev, len(frame))
			}
			inPrev = int(s.Off) + int(s.Len)
		}
		_ = l.Verify(frame)
		_ = l.Payload(frame)
		_ = l.L3() + l.L4()
		fixed := bytes.Clone(frame)
		l.UpdateChecksums(fixed)
		if err != nil {
			return
		}
		if bad := l.Verify(fixed); bad != 0 {
			t.Fatalf("Verify after UpdateChecksums: %04b", bad)
		}
		if l2, err2 := Parse(fixed); err2 != nil || l2 != l {
			t.Fatalf("reparse after UpdateChecksums: %v\n%+v\n%+v", err2, l2, l)
		}
	})
}
