package protocol

import (
	"encoding/binary"
	"testing"

	"github.com/openperfd/openperfd/packet/checksum"
)

// 64 bytes on the wire: 60 without FCS.
func BenchmarkBuildEthIPv4UDP64(b *testing.B) {
	s := ethIPv4UDP()
	frame := make([]byte, 60)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Build(frame); err != nil {
			b.Fatal(err)
		}
	}
}

// A 32-bit sequence field in the payload of a 64-byte eth/ipv4/udp
// template, UDP checksum kept right.
func BenchmarkPatchUint32(b *testing.B) {
	frame := make([]byte, 60)
	l, _ := ethIPv4UDP().Build(frame)
	off := int(l.PayloadOff) + 4
	b.Run("Layers.SetUint32", func(b *testing.B) {
		b.ReportAllocs()
		var seq uint32
		for b.Loop() {
			seq++
			l.SetUint32(frame, off, seq)
		}
	})
	b.Run("Field.SetUint32", func(b *testing.B) {
		f, err := l.Field(off, 4)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		var seq uint32
		for b.Loop() {
			seq++
			f.SetUint32(frame, seq)
		}
	})
	b.Run("ChecksumAdjust32", func(b *testing.B) {
		c := int(l.Spans[2].Off) + UDPChecksumOff
		b.ReportAllocs()
		var seq uint32
		for b.Loop() {
			seq++
			old := binary.BigEndian.Uint32(frame[off:])
			binary.BigEndian.PutUint32(frame[off:], seq)
			sum := checksum.Update32(binary.BigEndian.Uint16(frame[c:]), old, seq)
			if sum == 0 {
				sum = 0xffff
			}
			binary.BigEndian.PutUint16(frame[c:], sum)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	cases := []struct {
		name  string
		n     int
		stack Stack
	}{
		{"eth+ipv4+udp/64B", 60, ethIPv4UDP()},
		{"eth+qinq+ipv6+tcp/128B", 124, Stack{Ethernet{}, VLAN{}, VLAN{}, IPv6{}, TCP{}}},
	}
	for _, c := range cases {
		frame := frameOf(b, c.n, c.stack, nil)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(frame); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"+Verify", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l, _ := Parse(frame)
				if l.Verify(frame) != 0 {
					b.Fatal("bad checksum")
				}
			}
		})
	}
}

func BenchmarkChecksum1500(b *testing.B) {
	data := make([]byte, 1500)
	b.SetBytes(1500)
	for b.Loop() {
		_ = checksum.Checksum(data, 0)
	}
}
