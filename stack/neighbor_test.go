package stack

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"

	"github.com/openperfd/openperfd/packetio/fake"
)

// TestNeighborCachesShrink checks that shrinkNeighborCaches still finds
// gVisor's caches (it fails when a gVisor upgrade moves them), that the
// maps it puts in their place take entries, and that interfaces are small
// because of it.
func TestNeighborCachesShrink(t *testing.T) {
	d := fake.New(1, 1, 64)
	s, err := New(d, nopDataplane{}, Options{Strategy: RxDirect})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	items := []*Interface{
		{ID: "v4", PortID: "0", Config: Config{MAC: [6]byte{2, 0xaa, 0, 0, 0, 1},
			IPv4: &IPv4Config{Method: MethodStatic, Address: netip.MustParseAddr("10.0.0.1"), Prefix: 24}}},
		{ID: "v6", PortID: "0", Config: Config{MAC: [6]byte{2, 0xaa, 0, 0, 0, 2},
			IPv4: &IPv4Config{Method: MethodStatic, Address: netip.MustParseAddr("10.0.0.2"), Prefix: 24},
			IPv6: &IPv6Config{Method: MethodStatic, Address: netip.MustParseAddr("2001:db8::2"), Prefix: 64}}},
	}
	if _, err := s.Create(items, func(i int) string { return fmt.Sprintf("items[%d]", i) }); err != nil {
		t.Fatal(err)
	}
	// ARP's cache on the IPv4-only shard; ARP's and NDP's on the other.
	for _, c := range []struct {
		id    string
		want  int
		proto tcpip.NetworkProtocolNumber
		addr  tcpip.Address
	}{
		{"v4", 1, arp.ProtocolNumber, tcpip.AddrFrom4([4]byte{10, 0, 0, 9})},
		{"v6", 2, ipv6.ProtocolNumber, tcpip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 9})},
	} {
		it, err := s.Get(c.id)
		if err != nil {
			t.Fatal(err)
		}
		// Empty caches are swapped again, so this counts them.
		n, err := shrinkNeighborCaches(it.gv, it.nic)
		if err != nil || n != c.want {
			t.Fatalf("%s: shrinkNeighborCaches = %d, %v; want %d caches", c.id, n, err, c.want)
		}
		netProto := c.proto
		if netProto == arp.ProtocolNumber {
			netProto = ipv4.ProtocolNumber
		}
		mac := tcpip.LinkAddress([]byte{2, 0, 0, 0, 0, 9})
		if e := it.gv.AddStaticNeighbor(it.nic, netProto, c.addr, mac); e != nil {
			t.Fatalf("%s: add neighbour: %s", c.id, e)
		}
		got, e := it.gv.Neighbors(it.nic, netProto)
		if e != nil || len(got) != 1 || got[0].Addr != c.addr || got[0].LinkAddr != mac {
			t.Fatalf("%s: neighbours = %v, %v; want %s at %s", c.id, got, e, c.addr, mac)
		}
		// A cache that holds an entry is left as it is.
		if n, err := shrinkNeighborCaches(it.gv, it.nic); err != nil || n != c.want-1 {
			t.Fatalf("%s: after adding a neighbour shrinkNeighborCaches = %d, %v; want %d", c.id, n, err, c.want-1)
		}
		if got, _ := it.gv.Neighbors(it.nic, netProto); len(got) != 1 {
			t.Fatalf("%s: the neighbour was lost: %v", c.id, got)
		}
	}

	// gVisor's preallocated caches made an IPv4 interface take ~47 KB of
	// heap; shrunk, ~8 KB.
	const n = 2000
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	if _, err := s.Create(bulkItems(n), func(i int) string { return fmt.Sprintf("items[%d]", i) }); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	if per := (int64(m1.HeapAlloc) - int64(m0.HeapAlloc)) / n; per > 20<<10 {
		t.Errorf("an interface takes %d bytes of heap, want at most 20 KiB", per)
	}
}
