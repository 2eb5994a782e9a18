package analyzer

import (
	"fmt"

	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packetio"
)

// ChecksumMode says who verifies received checksums.
type ChecksumMode uint8

// Checksum modes.
const (
	// ChecksumsPort takes the port's word, as OpenPerf does: the checksums
	// the port's hardware verified on receipt (its per-packet rx flags)
	// count as good or bad; the others are not verified (a port without
	// rx checksum offload verifies none). The default: it costs nothing
	// per frame.
	ChecksumsPort ChecksumMode = iota
	// ChecksumsSoftware verifies in software every checksum the port did
	// not (IPv4 header, UDP, TCP, ICMP, inner ones of tunnels).
	ChecksumsSoftware
)

var checksumModeNames = []string{"port", "software"}

// String returns the mode's API name.
func (m ChecksumMode) String() string {
	if int(m) < len(checksumModeNames) {
		return checksumModeNames[m]
	}
	return fmt.Sprintf("ChecksumMode(%d)", m)
}

// ParseChecksumMode turns an API name ("port", "software"; "" is port)
// into a mode.
func ParseChecksumMode(s string) (ChecksumMode, error) {
	if s == "" {
		return ChecksumsPort, nil
	}
	i := indexOf(checksumModeNames, s)
	if i < 0 {
		return 0, fmt.Errorf("%w: unknown checksum verification %q (port or software)", ErrInvalid, s)
	}
	return ChecksumMode(i), nil
}

// Verified counts frames by who verified one kind of checksum in them.
type Verified struct {
	Port     uint64 // the port's hardware, by its rx flags
	Software uint64 // the analyzer, by summing
	None     uint64 // nobody: the frame has the checksum but its result is unknown
}

// ChecksumResults say who verified the checksums of the frames counted:
// a checksum error count is only as good as these. Frames without the
// checksum (IPv6 has no header checksum; UDP over IPv4 may have none)
// are in none of them. A frame with the checksum both outside and inside
// a tunnel counts once, by its outer one.
type ChecksumResults struct {
	Mode           ChecksumMode
	IPv4, UDP, TCP Verified
}

func (c *ChecksumResults) add(o *ChecksumResults) {
	c.IPv4.add(o.IPv4)
	c.UDP.add(o.UDP)
	c.TCP.add(o.TCP)
}

func (v *Verified) add(o Verified) {
	v.Port += o.Port
	v.Software += o.Software
	v.None += o.None
}

// Who verified a checksum of a fast-path frame (fastInfo.who): per
// checksum one of these, the IPv4 header's in bits 0-1, the L4's in bits
// 2-3 (UDP or TCP by the frame's shape).
const (
	byNobody   = 0 // the frame has the checksum; nobody verified it
	byPort     = 1
	bySoftware = 2
	noChecksum = 3 // the frame has no such checksum
	nWho       = 16
)

// addWho adds n fast-path frames of a shape whose checksums who verified.
func (c *ChecksumResults) addWho(shape, who uint8, n uint64) {
	if shape&shapeIPv6 == 0 {
		c.IPv4.addOne(who&3, n)
	}
	if shape&shapeTCP != 0 {
		c.TCP.addOne(who>>2, n)
	} else {
		c.UDP.addOne(who>>2, n)
	}
}

func (v *Verified) addOne(who uint8, n uint64) {
	switch who {
	case byNobody:
		v.None += n
	case byPort:
		v.Port += n
	case bySoftware:
		v.Software += n
	}
}

// portWho is who verifies a checksum whose port flags are f (an
// RxIPChecksumMask or RxL4ChecksumMask field): the port when they say
// good or bad, else the software if the mode says so, else nobody.
func portWho(f packetio.RxChecksum, sw bool) uint8 {
	switch {
	case f != 0:
		return byPort
	case sw:
		return bySoftware
	}
	return byNobody
}

// generalChecks verifies the checksums of a frame the general parser
// decoded into l, with its port flags ck, in software too if sw, and counts who verified its outer IPv4,
// UDP and TCP checksums. Software verification covers every layer
// (protocol.Layers.Verify); the port's flags speak for the outer IP
// header and the outer L4 header only.
func (c *ChecksumResults) generalChecks(l *protocol.Layers, frame []byte, ck packetio.RxChecksum, sw bool) protocol.ChecksumErrors {
	var bad protocol.ChecksumErrors
	if sw {
		bad = l.Verify(frame)
	}
	ipw, l4w := portWho(ck&packetio.RxIPChecksumMask, sw), portWho(ck&packetio.RxL4ChecksumMask, sw)
	var seenIP, seenL4 bool
	for i := 0; i < int(l.N); i++ {
		s := &l.Spans[i]
		switch s.Kind {
		case protocol.KindIPv4, protocol.KindIPv6:
			if seenIP {
				continue
			}
			seenIP = true
			if s.Kind == protocol.KindIPv6 {
				continue
			}
			c.IPv4.addOne(ipw, 1)
			if ck&packetio.RxIPChecksumMask == packetio.RxIPChecksumBad {
				bad |= protocol.BadIPv4
			}
		case protocol.KindUDP, protocol.KindTCP:
			if seenL4 {
				continue
			}
			seenL4 = true
			if s.Kind == protocol.KindUDP && !seenV6(l, i) && int(s.Off)+8 <= len(frame) &&
				frame[s.Off+6]|frame[s.Off+7] == 0 {
				continue // over IPv4, a zero UDP checksum means none
			}
			v, b := &c.UDP, protocol.BadUDP
			if s.Kind == protocol.KindTCP {
				v, b = &c.TCP, protocol.BadTCP
			}
			v.addOne(l4w, 1)
			if ck&packetio.RxL4ChecksumMask == packetio.RxL4ChecksumBad {
				bad |= b
			}
		}
	}
	return bad
}

// seenV6 reports whether the nearest IP header before span i is IPv6.
func seenV6(l *protocol.Layers, i int) bool {
	for j := i - 1; j >= 0; j-- {
		switch l.Spans[j].Kind {
		case protocol.KindIPv6:
			return true
		case protocol.KindIPv4:
			return false
		}
	}
	return false
}
