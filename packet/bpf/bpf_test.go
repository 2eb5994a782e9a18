package bpf

import (
	"errors"
	"strings"
	"testing"
)

// arpFrame is a broadcast ARP request; udpFrame an IPv4 UDP datagram to port 53.
var (
	arpFrame = append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06},
		0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2)
	udpFrame = append([]byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00},
		0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		0x30, 0x39, 0, 53, 0, 8, 0, 0)
)

func TestFiltersMatchWhatTcpdumpWould(t *testing.T) {
	cases := []struct {
		expr     string
		arp, udp bool
	}{
		{"arp", true, false},
		{"udp port 53", false, true},
		{"ip host 10.0.0.2", false, true},
		{"not arp", false, true},
		{"ether broadcast", true, false},
	}
	for _, c := range cases {
		f, err := Compile(c.expr)
		if err != nil {
			t.Fatalf("%q: %v", c.expr, err)
		}
		if got := f.Match(arpFrame); got != c.arp {
			t.Errorf("%q on ARP: %v, want %v", c.expr, got, c.arp)
		}
		if got := f.Match(udpFrame); got != c.udp {
			t.Errorf("%q on UDP: %v, want %v", c.expr, got, c.udp)
		}
	}
}

func TestBadFiltersAreInvalidWithLibpcapsReason(t *testing.T) {
	for _, expr := range []string{"udp port", "host 999.1.1.1", "tcp and and", "frobnicate"} {
		_, err := Compile(expr)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", expr, err)
		}
	}
}

func TestEmptyFilterPassesAll(t *testing.T) {
	f, err := Compile("  ")
	if err != nil || f != nil || !f.Match(arpFrame) {
		t.Fatalf("empty filter: %v %v", f, err)
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{"arp", "udp port 53", "ip6 and tcp[tcpflags] & tcp-syn != 0", "vlan 10 and ip", "(((", "port 99999",
		slowFilter(60), strings.Repeat("x", MaxLen+1), "udp\x00port 53"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := Compile(expr)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%q: error %v is not ErrInvalid", expr, err)
			}
			return
		}
		flt.Match(arpFrame)
		flt.Match(udpFrame)
		flt.Match(nil)
	})
}
