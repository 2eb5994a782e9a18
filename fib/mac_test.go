package fib

import (
	"errors"
	"net"
	"testing"
)

func TestParseMACAcceptsTheSixOctetFormsOfNetParseMAC(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want MAC
	}{
		{"00:11:22:33:44:55", 0x001122334455},
		{"00-11-22-33-44-55", 0x001122334455},
		{"0011.2233.4455", 0x001122334455},
		{"001122334455", 0x001122334455},
		{"AA:bb:Cc:dD:ee:FF", 0xaabbccddeeff},
		{"ff:ff:ff:ff:ff:ff", Broadcast},
		{"00:00:00:00:00:00", 0},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseMAC(tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("ParseMAC(%q) = %#x, %v; want %#x", tc.in, uint64(got), err, uint64(tc.want))
			}
		})
	}
}

func TestParseMACRejectsMalformedInput(t *testing.T) {
	for _, in := range []string{
		"",
		"00:11:22:33:44",          // 5 octets
		"00:11:22:33:44:55:66:77", // EUI-64: valid for net, not a MAC here
		"00:11:22:33:44-55",       // mixed separators
		"00.11.22.33.44.55",       // dot separates 4-digit groups only
		"0:11:22:33:44:555",       // misplaced separator
		"00:11:22:33:44:5g",       // not hex
		"0011.2233.445",           // short
		"00112233445z",            // not hex
		"+0:11:22:33:44:55",       // sign
		" 00:11:22:33:44:55",      // space
	} {
		t.Run(in, func(t *testing.T) {
			if m, err := ParseMAC(in); !errors.Is(err, ErrInvalidMAC) {
				t.Fatalf("ParseMAC(%q) = %v, %v; want ErrInvalidMAC", in, m, err)
			}
		})
	}
}

func TestMACFormatsAsLowerCaseColonOctets(t *testing.T) {
	for _, tc := range []struct {
		mac  MAC
		want string
	}{
		{0x001122334455, "00:11:22:33:44:55"},
		{0xaabbccddeeff, "aa:bb:cc:dd:ee:ff"},
		{0, "00:00:00:00:00:00"},
		{Broadcast, "ff:ff:ff:ff:ff:ff"},
	} {
		if got := tc.mac.String(); got != tc.want {
			t.Errorf("%#x.String() = %q, want %q", uint64(tc.mac), got, tc.want)
		}
	}
}

func TestMACBytesAndMACFromRoundTripInWireOrder(t *testing.T) {
	wire := []byte{0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0xee /* next field */}
	m := MACFrom(wire)
	if m != 0x021122334455 {
		t.Fatalf("MACFrom = %#x", uint64(m))
	}
	if b := m.Bytes(); string(b[:]) != string(wire[:6]) {
		t.Fatalf("Bytes = % x, want % x", b, wire[:6])
	}
}

func TestMACFromPanicsOnShortInput(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("MACFrom of 5 bytes did not panic")
		}
	}()
	MACFrom(make([]byte, 5))
}

func TestMACFromDoesNotAllocate(t *testing.T) {
	frame := make([]byte, 64)
	frame[0] = 2
	var sink MAC
	if n := testing.AllocsPerRun(1000, func() { sink = MACFrom(frame) }); n != 0 {
		t.Fatalf("MACFrom allocates %v times", n)
	}
	_ = sink
}

func TestIsMulticastIsTheIGBitOfTheFirstOctet(t *testing.T) {
	for _, tc := range []struct {
		mac       string
		multicast bool
		broadcast bool
	}{
		{"00:11:22:33:44:55", false, false},
		{"02:00:00:00:00:01", false, false}, // locally administered unicast
		{"01:00:5e:00:00:01", true, false},  // IPv4 multicast
		{"33:33:00:00:00:01", true, false},  // IPv6 multicast
		{"ff:ff:ff:ff:ff:ff", true, true},
		{"fe:ff:ff:ff:ff:ff", false, false},
		{"00:00:00:00:00:01", false, false}, // I/G bit is in the first octet, not the last
	} {
		m, err := ParseMAC(tc.mac)
		if err != nil {
			t.Fatal(err)
		}
		if m.IsMulticast() != tc.multicast || m.IsBroadcast() != tc.broadcast {
			t.Errorf("%s: multicast=%v broadcast=%v, want %v %v",
				tc.mac, m.IsMulticast(), m.IsBroadcast(), tc.multicast, tc.broadcast)
		}
	}
}

func TestMACHasherSpreadsSequentialMACsOverTheLowBits(t *testing.T) {
	// The trie indexes by the low 5 bits first: 1024 sequential MACs must
	// fill all 32 first-level buckets roughly evenly.
	var buckets [32]int
	for i := range 1024 {
		buckets[MACHasher{}.Hash(0x020000000000+MAC(i))&31]++
	}
	for i, n := range buckets {
		if n < 16 || n > 64 {
			t.Fatalf("bucket %d holds %d of 1024 (want about 32): %v", i, n, buckets)
		}
	}
}

func FuzzParseMAC(f *testing.F) {
	for _, s := range []string{
		"00:11:22:33:44:55", "00-11-22-33-44-55", "0011.2233.4455", "001122334455",
		"FF:FF:FF:FF:FF:FF", "00:11:22:33:44:55:66:77", "00.11.22.33.44.55",
		"0:11:22:33:44:555", "00:11:22:33:44-55", "", "zz:zz:zz:zz:zz:zz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMAC(s)
		hw, netErr := net.ParseMAC(s)
		netOK := netErr == nil && len(hw) == 6
		if (err == nil) != netOK {
			t.Fatalf("ParseMAC(%q) err=%v, net.ParseMAC = %v, %v", s, err, hw, netErr)
		}
		if err != nil {
			return
		}
		if b := m.Bytes(); string(b[:]) != string(hw) {
			t.Fatalf("ParseMAC(%q) = %v, net.ParseMAC = %v", s, m, hw)
		}
		if m>>48 != 0 {
			t.Fatalf("ParseMAC(%q) set bits above 48: %#x", s, uint64(m))
		}
		back, err := ParseMAC(m.String())
		if err != nil || back != m {
			t.Fatalf("round trip of %q via %q = %v, %v", s, m.String(), back, err)
		}
	})
}
