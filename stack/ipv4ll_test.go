package stack

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/openperfd/openperfd/packetio"
)

// fastLL are RFC 3927's waits scaled down for tests.
var fastLL = llTimings{
	probeWait: 20 * time.Millisecond, probeMin: 20 * time.Millisecond, probeMax: 40 * time.Millisecond,
	announceWait: 50 * time.Millisecond, announceInterval: 20 * time.Millisecond,
	rateLimitInterval: time.Second, defendInterval: 2 * time.Second,
}

func llStack(t *testing.T) *Stack {
	tm := fastLL
	return wiredStackWith(t, Options{llTimings: &tm})
}

func autoIface(id, port string, mac [6]byte) *Interface {
	return &Interface{ID: id, PortID: port, Config: Config{MAC: mac, IPv4: &IPv4Config{Method: MethodAuto}}}
}

// candidates returns the first n addresses a MAC's picker draws.
func candidates(mac [6]byte, n int) []netip.Addr {
	p := newLLPicker(mac)
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = addrFromU32(p.next())
	}
	return out
}

// waitBound waits for an auto interface's address.
func waitBound(t *testing.T, s *Stack, id string) netip.Addr {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		it, err := s.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if p, state, _ := it.AutoIPv4(); state == "bound" {
			if p.Bits() != 16 {
				t.Fatalf("%s bound %s, want a /16", id, p)
			}
			return p.Addr()
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s claimed no address in 10 s", id)
	return netip.Addr{}
}

func TestLinkLocalCandidatesComeFromTheMAC(t *testing.T) {
	lo, hi := netip.MustParseAddr("169.254.1.0"), netip.MustParseAddr("169.254.254.255")
	for _, mac := range [][6]byte{{0, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}, {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff}} {
		seen := map[netip.Addr]bool{}
		for _, a := range candidates(mac, 5000) {
			if a.Less(lo) || hi.Less(a) {
				t.Fatalf("%v: candidate %s outside %s-%s", mac, a, lo, hi)
			}
			seen[a] = true
		}
		if len(seen) < 4500 {
			t.Errorf("%v: only %d distinct candidates in 5000 draws", mac, len(seen))
		}
		if a, b := candidates(mac, 3), candidates(mac, 3); a[0] != b[0] || a[2] != b[2] {
			t.Errorf("%v: the same MAC drew %v, then %v", mac, a, b)
		}
	}
	if a, b := candidates([6]byte{2, 0, 0, 0, 0, 1}, 1)[0], candidates([6]byte{2, 0, 0, 0, 0, 2}, 1)[0]; a == b {
		t.Errorf("neighbouring MACs both start with %s", a)
	}
}

// TestAutoClaimsItsFirstChoice: creation returns at once; the interface
// probes, claims its first candidate with a /16 and then answers for it.
func TestAutoClaimsItsFirstChoice(t *testing.T) {
	s := llStack(t)
	mac := [6]byte{2, 0, 0, 0, 0x11, 1}
	first := candidates(mac, 1)[0]
	peerAddr := "169.254.0.9" // outside the candidates' range, inside the /16
	mustCreate(t, s, &Interface{ID: "peer", PortID: "1", Config: Config{MAC: [6]byte{2, 0, 0, 0, 0x11, 2}, IPv4: v4cfg(peerAddr, 16)}})
	t0 := time.Now()
	mustCreate(t, s, autoIface("auto", "0", mac))
	if d := time.Since(t0); d > 200*time.Millisecond {
		t.Errorf("Create took %s: it must not wait for the claim", d)
	}
	it, _ := s.Get("auto")
	if _, state, ok := it.AutoIPv4(); !ok || state != "probing" {
		t.Errorf("right after Create: %q, %v; want probing", state, ok)
	}
	if got := waitBound(t, s, "auto"); got != first {
		t.Fatalf("claimed %s, want the first candidate %s", got, first)
	}
	if got := pingN(t, s, "peer", first.String(), 2); got != 2 {
		t.Errorf("ping the claimed address: %d of 2", got)
	}
	if got := pingN(t, s, "auto", peerAddr, 2); got != 2 {
		t.Errorf("ping from the claimed address: %d of 2", got)
	}
	if l := s.List(Filter{IPv4: first}); len(l) != 1 || l[0].ID != "auto" {
		t.Errorf("the ipv4 filter for %s lists %v", first, l)
	}
	if tx := it.Stats().TxPackets; tx < llProbeNum+llAnnounceNum {
		t.Errorf("%d frames sent: want %d probes and %d announcements at least", tx, llProbeNum, llAnnounceNum)
	}
}

// TestAutoMovesOnFromATakenAddress: a host on the other port holds the
// first candidate and answers the probe; the claim takes another.
func TestAutoMovesOnFromATakenAddress(t *testing.T) {
	s := llStack(t)
	mac := [6]byte{2, 0, 0, 0, 0x12, 1}
	c := candidates(mac, 2)
	mustCreate(t, s, &Interface{ID: "holder", PortID: "1", Config: Config{MAC: [6]byte{2, 0, 0, 0, 0x12, 2}, IPv4: v4cfg(c[0].String(), 16)}})
	mustCreate(t, s, autoIface("auto", "0", mac))
	if got := waitBound(t, s, "auto"); got != c[1] {
		t.Fatalf("claimed %s, want the second candidate %s (the first, %s, is taken)", got, c[1], c[0])
	}
	if got := pingN(t, s, "holder", c[1].String(), 2); got != 2 {
		t.Errorf("ping the new address: %d of 2", got)
	}
	if got := pingN(t, s, "holder", c[0].String(), 1); got != 0 {
		t.Errorf("the holder's address was answered from elsewhere")
	}
}

// TestAutoSkipsAddressesOfItsOwnPort: the port does not hear its own
// frames, so the stack checks its own interfaces: a static one, and a
// second auto interface with the same MAC (same candidates).
func TestAutoSkipsAddressesOfItsOwnPort(t *testing.T) {
	s := llStack(t)
	mac := [6]byte{2, 0, 0, 0, 0x13, 1}
	c := candidates(mac, 3)
	mustCreate(t, s, &Interface{ID: "static", PortID: "0", Config: Config{MAC: [6]byte{2, 0, 0, 0, 0x13, 2}, IPv4: v4cfg(c[0].String(), 16)}})
	mustCreate(t, s, autoIface("a1", "0", mac), autoIface("a2", "0", mac))
	got := map[netip.Addr]bool{waitBound(t, s, "a1"): true, waitBound(t, s, "a2"): true}
	if !got[c[1]] || !got[c[2]] {
		t.Fatalf("claimed %v, want %s and %s", got, c[1], c[2])
	}
	// Sharers of a MAC, told apart by their addresses.
	mustCreate(t, s, &Interface{ID: "peer", PortID: "1", Config: Config{MAC: [6]byte{2, 0, 0, 0, 0x13, 9}, IPv4: v4cfg("169.254.0.9", 16)}})
	for a := range got {
		if n := pingN(t, s, "peer", a.String(), 2); n != 2 {
			t.Errorf("ping %s: %d of 2", a, n)
		}
	}
}

// arpFrame is an ARP frame from sha/spa about tpa.
func arpFrame(op uint16, dst, sha [6]byte, spa, tpa netip.Addr) []byte {
	f := make([]byte, 60)
	copy(f[0:6], dst[:])
	copy(f[6:12], sha[:])
	f[12], f[13] = 0x08, 0x06
	copy(f[14:22], []byte{0, 1, 8, 0, 6, 4, byte(op >> 8), byte(op)})
	copy(f[22:28], sha[:])
	s4, t4 := spa.As4(), tpa.As4()
	copy(f[28:32], s4[:])
	copy(f[38:42], t4[:])
	return f
}

func push(s *Stack, port string, frame []byte) {
	m := packetio.NewHeapMbuf(make([]byte, 256+packetio.MbufHeadroom))
	copy(m.Room(), frame)
	m.SetLen(len(frame))
	s.ports[port].sink.Push(0, []*packetio.Mbuf{m})
}

// TestAutoDefendsOnceThenMovesOn: a host claiming the bound address is
// answered with an announcement; a second claim within DEFEND_INTERVAL
// makes the interface give the address up for another.
func TestAutoDefendsOnceThenMovesOn(t *testing.T) {
	s := llStack(t)
	mac := [6]byte{2, 0, 0, 0, 0x14, 1}
	mustCreate(t, s, autoIface("auto", "0", mac))
	a := waitBound(t, s, "auto")
	it, _ := s.Get("auto")
	time.Sleep(100 * time.Millisecond) // announcements done
	other := [6]byte{2, 0, 0, 0, 0x14, 0x66}
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	tx := it.Stats().TxPackets
	push(s, "0", arpFrame(1, bcast, other, a, a)) // a gratuitous ARP for our address
	deadline := time.Now().Add(5 * time.Second)
	for it.Stats().TxPackets == tx && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if p, state, _ := it.AutoIPv4(); state != "bound" || p.Addr() != a {
		t.Fatalf("after one conflicting ARP: %s %s, want to keep %s", state, p, a)
	}
	if it.Stats().TxPackets == tx {
		t.Fatal("the address was not defended")
	}
	push(s, "0", arpFrame(1, bcast, other, a, a))
	for time.Now().Before(deadline) {
		if p, _, _ := it.AutoIPv4(); p.IsValid() && p.Addr() != a {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := waitBound(t, s, "auto"); got == a {
		t.Fatalf("kept %s after a second conflict within DEFEND_INTERVAL", a)
	}
	if l := s.List(Filter{IPv4: a}); len(l) != 0 {
		t.Errorf("the given-up address still lists %v", l)
	}
}

// TestAutoInterfacesComeAndGo: a bulk-create of auto interfaces returns
// at once and each claims its own address later; deleting interfaces in
// every phase of the claim stops it cleanly.
func TestAutoInterfacesComeAndGo(t *testing.T) {
	s := llStack(t)
	const n = 200
	items := make([]*Interface, n)
	for i := range items {
		items[i] = autoIface(fmt.Sprintf("a%d", i), "0", [6]byte{2, 1, 0, 0, byte(i >> 8), byte(i)})
	}
	t0 := time.Now()
	mustCreate(t, s, items...)
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("bulk-create of %d auto interfaces took %s", n, d)
	}
	// Delete some at once (waiting to probe), some a little later.
	s.Delete([]string{"a0", "a1"})
	time.Sleep(30 * time.Millisecond)
	s.Delete([]string{"a2", "a3"})
	seen := map[netip.Addr]string{}
	for _, it := range items[4:] {
		a := waitBound(t, s, it.ID)
		if o, dup := seen[a]; dup {
			t.Fatalf("%s and %s both claimed %s", o, it.ID, a)
		}
		seen[a] = it.ID
	}
	s.Delete([]string{"a4"})
	if l := s.List(Filter{IPv4: items[5].addrOrZero()}); len(l) != 1 {
		t.Errorf("filter: %v", l)
	}
	if c := s.ports["0"].acd.Len(); c != n-5 {
		t.Errorf("%d claims indexed, want %d", c, n-5)
	}
}

func (it *Interface) addrOrZero() netip.Addr {
	p, _, _ := it.AutoIPv4()
	return p.Addr()
}
