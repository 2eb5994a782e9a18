package stack

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/openperfd/openperfd/fib"
	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/packetio/fake"
	"github.com/openperfd/openperfd/workers"
)

// wiredStack is a stack on the workers over the fake driver's port pair:
// what port 0 sends, port 1 receives, and back.
func wiredStack(t *testing.T) *Stack { return wiredStackWith(t, Options{}) }

// wiredStackWith is wiredStack with options (Strategy and QSBR are set).
func wiredStackWith(t *testing.T, opts Options) *Stack {
	t.Helper()
	d := fake.New(1, 1, 4096)
	q := fib.NewQSBR()
	w, err := workers.New(workers.Config{CPUs: []int{-1}, Driver: d, QSBR: q, MaxIdleSleep: 200 * time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	packetio.NewService(d, w)
	opts.QSBR = q
	if opts.Strategy == "" {
		opts.Strategy = RxDirect
	}
	s, err := New(d, w, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		w.Stop()
	})
	return s
}

func v4cfg(addr string, prefix int) *IPv4Config {
	return &IPv4Config{Method: MethodStatic, Address: netip.MustParseAddr(addr), Prefix: prefix}
}

func v6cfg(addr string) *IPv6Config {
	return &IPv6Config{Method: MethodStatic, Address: netip.MustParseAddr(addr), Prefix: 64}
}

func mustCreate(t *testing.T, s *Stack, items ...*Interface) {
	t.Helper()
	if _, err := s.Create(items, func(i int) string { return fmt.Sprintf("items[%d]", i) }); err != nil {
		t.Fatal(err)
	}
}

func pingN(t *testing.T, s *Stack, from, to string, n int) int {
	t.Helper()
	r, err := s.Ping(context.Background(), from, netip.MustParseAddr(to), n, 10*time.Millisecond, 500*time.Millisecond)
	if err != nil {
		t.Fatalf("ping %s from %s: %v", to, from, err)
	}
	return r.Received
}

var sharedMAC = [6]byte{0, 0, 0, 0, 0, 1} // the MAC OpenPerf's acceptance suite gives several interfaces

// TestInterfacesSharingAMACAnswerForTheirOwnAddresses puts two
// interfaces with one MAC and different IPv4 and IPv6 addresses on port
// 0; a host on port 1 resolves and pings each, and each sees only the
// traffic for its own addresses. Deleting one leaves the other working.
func TestInterfacesSharingAMACAnswerForTheirOwnAddresses(t *testing.T) {
	s := wiredStack(t)
	// Not fd00::1: its solicited-node group is the one of the link-local
	// address both derive from 00:00:00:00:00:01, so b would hear (and,
	// as a host would, ignore) the solicitation for it.
	mustCreate(t, s,
		&Interface{ID: "a", PortID: "0", Config: Config{MAC: sharedMAC, IPv4: v4cfg("10.0.0.1", 24), IPv6: v6cfg("fd00::a")}},
		&Interface{ID: "b", PortID: "0", Config: Config{MAC: sharedMAC, IPv4: v4cfg("10.0.0.2", 24), IPv6: v6cfg("fd00::b")}},
		&Interface{ID: "peer", PortID: "1", Config: Config{MAC: [6]byte{2, 0, 0, 0, 0, 9}, IPv4: v4cfg("10.0.0.9", 24), IPv6: v6cfg("fd00::9")}},
	)
	a, _ := s.Get("a")
	b, _ := s.Get("b")
	for _, c := range []struct {
		dst        string
		owner, not *Interface
	}{
		{"10.0.0.1", a, b}, {"10.0.0.2", b, a}, {"fd00::a", a, b}, {"fd00::b", b, a},
	} {
		ownerRx, otherRx := c.owner.Stats().RxPackets, c.not.Stats().RxPackets
		if got := pingN(t, s, "peer", c.dst, 3); got != 3 {
			t.Fatalf("ping %s: %d of 3 answered", c.dst, got)
		}
		// ARP or ND, then three echo requests (plus NUD probes, maybe).
		if d := c.owner.Stats().RxPackets - ownerRx; d < 3 {
			t.Errorf("ping %s: its owner %s received %d frames", c.dst, c.owner.ID, d)
		}
		if d := c.not.Stats().RxPackets - otherRx; d != 0 {
			t.Errorf("ping %s: %s, which shares the MAC, received %d frames", c.dst, c.not.ID, d)
		}
	}
	// Both resolve to the one MAC.
	for _, dst := range []string{"10.0.0.1", "10.0.0.2", "fd00::a", "fd00::b"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, mac, err := s.Resolve(ctx, "peer", netip.MustParseAddr(dst))
		cancel()
		if err != nil || mac != sharedMAC {
			t.Errorf("resolve %s: %v, %v; want %v", dst, mac, err, sharedMAC)
		}
	}
	// The sharers reach out too.
	if got := pingN(t, s, "b", "10.0.0.9", 2); got != 2 {
		t.Errorf("ping from b: %d of 2", got)
	}
	if got := pingN(t, s, "a", "fd00::9", 2); got != 2 {
		t.Errorf("ping6 from a: %d of 2", got)
	}
	if got := pingN(t, s, "peer", "10.0.0.3", 1); got != 0 {
		t.Errorf("an address nobody has answered %d", got)
	}

	if n := s.Delete([]string{"a"}); n != 1 {
		t.Fatalf("deleted %d", n)
	}
	if got := pingN(t, s, "peer", "10.0.0.2", 3); got != 3 {
		t.Errorf("after a is gone, ping b: %d of 3", got)
	}
	if got := pingN(t, s, "peer", "fd00::b", 3); got != 3 {
		t.Errorf("after a is gone, ping6 b: %d of 3", got)
	}
	if got := pingN(t, s, "peer", "10.0.0.1", 1); got != 0 {
		t.Errorf("the deleted interface's address answered %d", got)
	}
	e, ok := s.ports["0"].lookupMAC(fib.MACFrom(sharedMAC[:]))
	if !ok || e.Len() != 1 || e.First() != b {
		t.Errorf("FIB entry after the delete: %v %v", e, ok)
	}
	s.Delete([]string{"b"})
	if _, ok := s.ports["0"].lookupMAC(fib.MACFrom(sharedMAC[:])); ok {
		t.Error("the MAC outlived its last interface")
	}
}

func TestSharingAMACNeedsDifferentAddresses(t *testing.T) {
	mac := [6]byte{2, 0, 0, 0, 0, 0x42}
	base := func() []*Interface {
		return []*Interface{{ID: "first", PortID: "0", Config: Config{MAC: mac, IPv4: v4cfg("10.1.0.1", 24), IPv6: v6cfg("fd01::1"),
			IPv4Field: "config.protocols[1].ipv4", IPv6Field: "config.protocols[2].ipv6"}}}
	}
	with := func(id, port string, v4 *IPv4Config, v6 *IPv6Config) *Interface {
		return &Interface{ID: id, PortID: port, Config: Config{MAC: mac, IPv4: v4, IPv6: v6,
			IPv4Field: "config.protocols[1].ipv4", IPv6Field: "config.protocols[2].ipv6"}}
	}
	ll := func(addr string) *IPv6Config {
		return &IPv6Config{Method: MethodAuto, LinkLocal: netip.MustParseAddr(addr)}
	}
	for _, c := range []struct {
		name    string
		batch   bool // in one batch with the first, else after it
		it      *Interface
		wantErr string // field named, "" for success
	}{
		{"different addresses", false, with("x", "0", v4cfg("10.1.0.2", 24), v6cfg("fd01::2")), ""},
		{"only eth", false, with("x", "0", nil, nil), ""},
		{"same IPv4 on the other port", false, with("x", "1", v4cfg("10.1.0.1", 24), nil), ""},
		{"same IPv4", false, with("x", "0", v4cfg("10.1.0.1", 16), nil), "config.protocols[1].ipv4.static.address"},
		{"same IPv4 in one batch", true, with("x", "0", v4cfg("10.1.0.1", 24), nil), "items[1].config.protocols[1].ipv4.static.address"},
		{"same IPv6", false, with("x", "0", v4cfg("10.1.0.2", 24), v6cfg("fd01::1")), "config.protocols[2].ipv6.static.address"},
		{"same configured link-local", false, with("x", "0", nil, ll("fe80::ff:fe00:42")), "config.protocols[2].ipv6.link_local_address"},
		{"derived link-locals may match", false, with("x", "0", nil, &IPv6Config{Method: MethodAuto}), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := New(fake.New(1, 1, 64), nopDataplane{}, Options{Strategy: RxDirect})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			items := base()
			if c.batch {
				if strings.HasPrefix(c.wantErr, "items[1].") {
					c.it.Config.IPv4Field = "items[1]." + c.it.Config.IPv4Field
				}
				items = append(items, c.it)
			} else {
				mustCreate(t, s, items...)
				items = []*Interface{c.it}
			}
			_, err = s.Create(items, func(i int) string { return fmt.Sprintf("items[%d]", i) })
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.wantErr != "" && (!errors.Is(err, packetio.ErrInvalid) || !strings.HasPrefix(err.Error(), c.wantErr+":")):
				t.Fatalf("error %v, want one naming %s", err, c.wantErr)
			case c.wantErr != "" && c.batch && s.Count() != 0:
				t.Fatalf("a refused batch left %d interfaces", s.Count())
			}
		})
	}
}

// The first MAC of a (fake) port's index is what bulkItems gives
// interface 0; interface 1 shares it in the shared cases.
func demuxFixture(t testing.TB, shared bool) (*Stack, *portSink, [][]byte) {
	s, err := New(fake.New(1, 1, 64), nopDataplane{}, Options{Strategy: RxDirect})
	if err != nil {
		t.Fatal(err)
	}
	items := bulkItems(4)
	items[1].PortID = "0"
	if shared {
		items[1].Config.MAC = items[0].Config.MAC
	}
	for _, it := range items {
		it.Config.RxFilter = "ether proto 0x88b5" // rejects everything sent below
	}
	if _, err := s.Create(items, func(i int) string { return fmt.Sprintf("items[%d]", i) }); err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for _, it := range items[:2] {
		frames = append(frames, udpFrame(it.Config.MAC, it.Config.IPv4.Address))
	}
	return s, s.ports["0"].sink, frames
}

// TestRxDemuxDoesNotAllocate: a worker's demux allocates nothing, for a
// MAC of its own and for a shared one (the rx filter drops the frames
// before the copy gVisor needs).
func TestRxDemuxDoesNotAllocate(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			s, sink, frames := demuxFixture(t, shared)
			defer s.Close()
			burst := append(benchBurst(frames[0])[:16], benchBurst(frames[1])[:16]...)
			if a := testing.AllocsPerRun(200, func() { sink.Push(0, burst) }); a != 0 {
				t.Fatalf("%v allocations per burst", a)
			}
			sharers := []*Interface{s.ifaces["i0"], s.ifaces["i1"]}
			for i, f := range frames {
				if got := pickSharer(sharers, f); got != sharers[i] {
					t.Fatalf("frame %d picked %v", i, got)
				}
			}
			if a := testing.AllocsPerRun(200, func() { pickSharer(sharers, frames[1]) }); a != 0 {
				t.Fatalf("pickSharer: %v allocations", a)
			}
		})
	}
}

// BenchmarkPushShared is BenchmarkPushUnicast's burst split between two
// interfaces that share a MAC.
func BenchmarkPushShared(b *testing.B) {
	s, sink, frames := demuxFixture(b, true)
	defer s.Close()
	burst := append(benchBurst(frames[0])[:16], benchBurst(frames[1])[:16]...)
	b.ReportAllocs()
	for b.Loop() {
		sink.Push(0, burst)
	}
}
