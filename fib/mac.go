package fib

import (
	"errors"
	"fmt"
)

// MAC is a 48-bit Ethernet address held in the low 48 bits of a uint64,
// most significant octet first: 00:11:22:33:44:55 is 0x001122334455. The
// top 16 bits are always zero for values made by this package. A MAC is a
// plain value: compare it with ==, use it as a map key, copy it freely.
type MAC uint64

// Broadcast is ff:ff:ff:ff:ff:ff.
const Broadcast MAC = 0xffff_ffff_ffff

// ErrInvalidMAC is wrapped by ParseMAC's errors.
var ErrInvalidMAC = errors.New("invalid MAC address")

// MACFrom reads a MAC from the first 6 bytes of b (a frame's destination
// or source address field). It panics if len(b) < 6. It inlines and does
// not allocate, so the data plane may call it per packet.
func MACFrom(b []byte) MAC {
	_ = b[5] // one bounds check for all six loads
	return MAC(uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 |
		uint64(b[3])<<16 | uint64(b[4])<<8 | uint64(b[5]))
}

// Bytes returns m in wire order.
func (m MAC) Bytes() [6]byte {
	return [6]byte{byte(m >> 40), byte(m >> 32), byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}
}

// IsMulticast reports whether the I/G bit (the least significant bit of the
// first octet) is set. Broadcast is multicast.
func (m MAC) IsMulticast() bool { return m>>40&1 == 1 }

// IsBroadcast reports whether m is ff:ff:ff:ff:ff:ff.
func (m MAC) IsBroadcast() bool { return m == Broadcast }

const hexDigits = "0123456789abcdef"

// String formats m as six lower-case, colon-separated octets.
func (m MAC) String() string {
	var buf [17]byte
	for i, o := range m.Bytes() {
		if i > 0 {
			buf[3*i-1] = ':'
		}
		buf[3*i] = hexDigits[o>>4]
		buf[3*i+1] = hexDigits[o&0xf]
	}
	return string(buf[:])
}

// ParseMAC parses the 6-octet forms that net.ParseMAC accepts:
// 00:11:22:33:44:55, 00-11-22-33-44-55, 0011.2233.4455 and 001122334455
// (hex digits in either case). Longer hardware addresses (EUI-64,
// InfiniBand) are rejected.
func ParseMAC(s string) (MAC, error) {
	var m MAC
	var ok bool
	switch len(s) {
	case 17: // xx:xx:xx:xx:xx:xx or xx-xx-xx-xx-xx-xx
		if s[2] == ':' || s[2] == '-' {
			m, ok = parseSeparated(s, 2, s[2])
		}
	case 14: // xxxx.xxxx.xxxx
		m, ok = parseSeparated(s, 4, '.')
	case 12: // xxxxxxxxxxxx
		m, ok = parseSeparated(s, 12, 0)
	}
	if !ok {
		return 0, fmt.Errorf("parse %q: %w", s, ErrInvalidMAC)
	}
	return m, nil
}

// parseSeparated reads hex digits in groups of group characters, each
// group but the last followed by sep. The caller has checked len(s).
func parseSeparated(s string, group int, sep byte) (MAC, bool) {
	var m MAC
	for i, n := 0, 0; i < len(s); i++ {
		if n == group {
			if s[i] != sep {
				return 0, false
			}
			n = 0
			continue
		}
		d, ok := unhex(s[i])
		if !ok {
			return 0, false
		}
		m = m<<4 | MAC(d)
		n++
	}
	return m, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// MACHasher is the immutable.Hasher for MAC keys. Hash is the murmur3
// 64-bit finaliser folded to 32 bits: every input bit affects every output
// bit, so the hash-array-mapped trie, which consumes the hash 5 bits at a
// time from the low end, stays balanced even for sequential MACs that
// differ only in their last octet. It is a zero-size value: storing it in
// an interface does not allocate.
type MACHasher struct{}

// Hash implements immutable.Hasher.
func (MACHasher) Hash(m MAC) uint32 {
	x := uint64(m)
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return uint32(x)
}

// Equal implements immutable.Hasher.
func (MACHasher) Equal(a, b MAC) bool { return a == b }
