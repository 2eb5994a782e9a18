package stack

import (
	"encoding/binary"

	"gvisor.dev/gvisor/pkg/tcpip/header"
	gvstack "gvisor.dev/gvisor/pkg/tcpip/stack"

	"github.com/openperfd/openperfd/packet/checksum"
	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packetio"
)

// Segmentation offload, as a NIC's TSO does it: the link tells gVisor it
// segments TCP itself (HostGSOSupported), so TCP hands it one packet of
// up to 64 KiB of payload behind one set of headers, built once through
// gVisor's TCP, IP and Ethernet layers, and writeGSO cuts it into frames
// of at most MSS bytes of payload straight into packet buffers, all
// allocated in one call. gVisor's own segmentation (GVisorGSOSupported)
// ran every frame through its IP and link layers and a packet buffer of
// its own, which was most of a bulk sender's cost.

// maxGSOHeaders bounds the headers writeGSO copies into each frame:
// Ethernet, the longest IP header (IPv4 with options; IPv6 is 40) and TCP with
// the most options.
const maxGSOHeaders = header.EthernetMinimumSize + header.IPv4MaximumHeaderSize + header.TCPHeaderMaximumSize

// TCP flags only the first or the last segment of a large one keeps.
const (
	tcpFlagsLastOnly  = uint8(header.TCPFlagFin | header.TCPFlagPsh)
	tcpFlagsFirstOnly = uint8(header.TCPFlagCwr)
)

// gsoFrames returns how many frames of at most mss payload bytes carry
// payload bytes (at least one, for a segment without payload).
func gsoFrames(payload, mss int) int {
	if payload <= mss {
		return 1
	}
	return (payload + mss - 1) / mss
}

// writeGSO sends a TCP packet built for segmentation offload as frames
// and returns how many it queued; ok is false when none could be (no
// buffers, a full queue, or a packet that is not what gVisor's TCP makes
// for offload). The frames it could not send count as transmit errors
// (one for a packet it could not cut).
func (l *link) writeGSO(pkt *gvstack.PacketBuffer) (sent int, ok bool) {
	eth, ip, tcp := pkt.LinkHeader().Slice(), pkt.NetworkHeader().Slice(), pkt.TransportHeader().Slice()
	hlen := len(eth) + len(ip) + len(tcp)
	mss := int(pkt.GSOOptions.MSS)
	v6 := pkt.GSOOptions.Type == gvstack.GSOTCPv6
	if len(eth) != header.EthernetMinimumSize || len(tcp) < header.TCPMinimumSize || hlen > maxGSOHeaders || mss <= 0 ||
		v6 && len(ip) != header.IPv6MinimumSize || !v6 && len(ip) < header.IPv4MinimumSize {
		l.stats.txErrors.Add(1)
		return 0, false
	}
	var hdr [maxGSOHeaders]byte
	copy(hdr[:], eth)
	copy(hdr[len(eth):], ip)
	copy(hdr[len(eth)+len(ip):], tcp)
	payload := pkt.Data().Size()
	n := gsoFrames(payload, mss)
	if hlen+min(payload, mss) > frameMTU {
		l.stats.txErrors.Add(1)
		return 0, false
	}
	l.gsoPackets.Add(1)
	ms := make([]*packetio.Mbuf, n)
	if !l.tx.pool.Alloc(ms) {
		l.tx.dropped.Add(uint64(n))
		l.stats.txErrors.Add(uint64(n))
		return 0, false
	}
	src := payloadReader{views: pkt.AsSlices(), skip: hlen}
	seq0 := binary.BigEndian.Uint32(tcp[header.TCPSeqNumOffset:])
	var id0 uint16
	if !v6 {
		id0 = binary.BigEndian.Uint16(ip[4:])
	}
	l3, l4 := len(eth), len(eth)+len(ip)
	for i, m := range ms {
		seg := min(mss, payload-i*mss)
		room := m.Room()
		copy(room, hdr[:hlen])
		src.read(room[hlen : hlen+seg])
		f := room[:max(hlen+seg, 60)]
		clear(f[hlen+seg:]) // padding of a short frame
		th := f[l4 : hlen+seg]
		if v6 {
			binary.BigEndian.PutUint16(f[l3+4:], uint16(len(th)))
		} else {
			ih := f[l3:l4]
			binary.BigEndian.PutUint16(ih[2:], uint16(len(ip)+len(th)))
			binary.BigEndian.PutUint16(ih[4:], id0+uint16(i))
			ih[10], ih[11] = 0, 0
			binary.BigEndian.PutUint16(ih[10:], checksum.Checksum(ih, 0))
		}
		binary.BigEndian.PutUint32(th[header.TCPSeqNumOffset:], seq0+uint32(i*mss))
		if i < n-1 {
			th[header.TCPFlagsOffset] &^= tcpFlagsLastOnly
		}
		if i > 0 {
			th[header.TCPFlagsOffset] &^= tcpFlagsFirstOnly
		}
		th[header.TCPChecksumOffset], th[header.TCPChecksumOffset+1] = 0, 0
		binary.BigEndian.PutUint16(th[header.TCPChecksumOffset:], checksum.Checksum(th, pseudoSum(f[l3:l4], v6, len(th))))
		m.SetLen(len(f))
	}
	if l.txFilter != nil {
		ms = l.filterFrames(ms)
	}
	sent, bytes := l.tx.enqueueBurst(ms)
	if sent < len(ms) {
		l.stats.txErrors.Add(uint64(len(ms) - sent))
	}
	l.stats.txPackets.Add(uint64(sent))
	l.stats.txBytes.Add(uint64(bytes))
	l.fam.countN(uint16(pkt.NetworkProtocolNumber), false, uint64(sent))
	return sent, sent > 0
}

// filterFrames frees the frames the tx filter rejects and returns the
// others, in order, in ms's array.
func (l *link) filterFrames(ms []*packetio.Mbuf) []*packetio.Mbuf {
	kept := ms[:0]
	var drop [1]*packetio.Mbuf
	for _, m := range ms {
		if l.txFilter.Match(m.Data()) {
			kept = append(kept, m)
			continue
		}
		drop[0] = m
		l.tx.pool.Free(drop[:])
	}
	return kept
}

// pseudoSum is the TCP pseudo-header sum (packet/protocol's) of a
// segment of n bytes (TCP header included) under the IP header ih.
func pseudoSum(ih []byte, v6 bool, n int) uint32 {
	if v6 {
		return protocol.PseudoSumIPv6((*[16]byte)(ih[8:24]), (*[16]byte)(ih[24:40]), protocol.ProtoTCP, n)
	}
	return protocol.PseudoSumIPv4([4]byte(ih[12:16]), [4]byte(ih[16:20]), protocol.ProtoTCP, n)
}

// payloadReader reads a packet's bytes after its first skip bytes, in
// order, from the views gVisor keeps them in.
type payloadReader struct {
	views [][]byte
	skip  int
}

// read fills dst with the next len(dst) bytes (zeros past the end).
func (r *payloadReader) read(dst []byte) {
	for len(dst) > 0 && len(r.views) > 0 {
		v := r.views[0]
		if r.skip >= len(v) {
			r.skip -= len(v)
			r.views = r.views[1:]
			continue
		}
		n := copy(dst, v[r.skip:])
		dst = dst[n:]
		r.skip += n
	}
	clear(dst)
}
