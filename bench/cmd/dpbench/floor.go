//go:build 386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm

package main

import (
	"fmt"
	"math/bits"
	"unsafe"

	"github.com/openperfd/openperfd/packet/checksum"
	"github.com/openperfd/openperfd/packetio"
)

// floorSink is the least work an analyzer that verifies checksums does
// per frame, written as tightly as Go allows and nothing more: read the
// frame, check it is untagged IPv4 (no options, not a fragment) carrying
// UDP, verify the IPv4 header checksum and the UDP checksum with its
// pseudo-header, and count the frame under the low byte of the
// signature's stream id (not validated). No flow state, no protocol
// counters, no signature check, no sequence or latency. The
// analyze-floor row measures it, to show how much of testpmd's rxonly
// rate any Go analyzer of this design can keep.
type floorSink struct {
	frames          [256]uint64
	ipv4Bad, udpBad uint64
	other           uint64
}

// load64 and load32 read little-endian words at p+off (the file builds
// for little-endian machines only).
func load64(p unsafe.Pointer, off uintptr) uint64 { return *(*uint64)(unsafe.Add(p, off)) }
func load32(p unsafe.Pointer, off uintptr) uint32 { return *(*uint32)(unsafe.Add(p, off)) }

func (f *floorSink) Push(_ uint16, pkts []*packetio.Mbuf) {
	for _, m := range pkts {
		b := m.Data()
		n := uintptr(len(b))
		p := unsafe.Pointer(unsafe.SliceData(b))
		if n < 60 || *(*uint16)(unsafe.Add(p, 12)) != 0x0008 { // 0x0800 read little-endian
			f.other++
			continue
		}
		w0, w1, w2 := load64(p, 14), load64(p, 22), uint64(load32(p, 30))
		total := uintptr(bits.ReverseBytes16(uint16(w0 >> 16)))
		end := 14 + total
		if uint8(w0) != 0x45 || uint16(w0>>48)&0xff3f != 0 || uint8(w1>>8) != 17 || total < 28 || end > n {
			f.other++
			continue
		}
		if checksum.Fold(w0&0xffffffff+w0>>32+w1&0xffffffff+w1>>32+w2) != 0xffff {
			f.ipv4Bad++
		}
		// The UDP checksum: addresses, protocol and length (the pseudo-
		// header, byte-swapped words), then the datagram.
		acc, c := bits.Add64(uint64(load32(p, 26)), w2, 0)
		acc, c = bits.Add64(acc, 17<<8+uint64(bits.ReverseBytes16(uint16(total-20))), c)
		off := uintptr(34)
		for ; off+8 <= end; off += 8 {
			acc, c = bits.Add64(acc, load64(p, off), c)
		}
		if k := end - off; k > 0 {
			acc, c = bits.Add64(acc, load64(p, end-8)>>((8-k)*8), c)
		}
		acc, c = bits.Add64(acc, 0, c)
		if checksum.Fold(acc+c) != 0xffff && *(*uint16)(unsafe.Add(p, 40)) != 0 {
			f.udpBad++
		}
		f.frames[*(*uint8)(unsafe.Add(p, n-15))]++ // the stream id's low byte
	}
	analyzed.Add(uint64(len(pkts)))
}

func (f *floorSink) report() string {
	var n uint64
	for _, c := range f.frames {
		n += c
	}
	return fmt.Sprintf("floor: %d frames, ipv4/udp checksum errors %d/%d, others %d", n, f.ipv4Bad, f.udpBad, f.other)
}
