package stack

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/packetio/fake"
)

// dhcpTestStack is a stack on the fake driver whose port 0 a test plays
// the network for: it reads what the stack sends and pushes answers.
type dhcpTestStack struct {
	*Stack
	buf []byte
}

func newDHCPTestStack(t *testing.T) *dhcpTestStack {
	t.Helper()
	s, err := New(fake.New(1, 1, 4096), nopDataplane{}, Options{Strategy: RxDirect})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &dhcpTestStack{Stack: s, buf: make([]byte, 2048+packetio.MbufHeadroom)}
}

// sent waits up to 3 s for the next frame the stack transmits on port 0
// that matches keep, dropping others.
func (s *dhcpTestStack) sent(t *testing.T, keep func([]byte) bool) []byte {
	t.Helper()
	s.mu.Lock()
	q := s.ports["0"].tx
	s.mu.Unlock()
	deadline := time.Now().Add(3 * time.Second)
	pkts := make([]*packetio.Mbuf, 1)
	for time.Now().Before(deadline) {
		if q.Pull(pkts) == 0 {
			time.Sleep(time.Millisecond)
			continue
		}
		f := append([]byte(nil), pkts[0].Data()...)
		s.drv.Pool().Free(pkts)
		if keep(f) {
			return f
		}
	}
	t.Fatal("the stack sent no matching frame in 3 s")
	return nil
}

func (s *dhcpTestStack) push(frame []byte) {
	m := packetio.NewHeapMbuf(s.buf)
	copy(m.Room(), frame)
	m.SetLen(len(frame))
	s.mu.Lock()
	sink := s.ports["0"].sink
	s.mu.Unlock()
	sink.Push(0, []*packetio.Mbuf{m})
}

func isDHCP4(typ byte) func([]byte) bool {
	return func(f []byte) bool {
		in, ok := parseUDPFrame(f)
		if !ok || in.dport != dhcp4ServerPort {
			return false
		}
		m, err := parseDHCP4(in.payload)
		return err == nil && m.typ == typ
	}
}

func TestDHCPInterfaceBindsOnItsNICAndReleasesOnDelete(t *testing.T) {
	s := newDHCPTestStack(t)
	srv := newFakeServer4()
	it := &Interface{ID: "dh", PortID: "0", Config: Config{MAC: testMAC, IPv4: &IPv4Config{Method: MethodDHCP, Hostname: "h"}}}
	if _, err := s.Create([]*Interface{it}, func(int) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if st, ok := it.DHCP4(); !ok || (st.State != DHCPInit && st.State != DHCPNone && st.State != DHCPSelecting) {
		t.Fatalf("just created: %+v", st)
	}
	s.push(srv.answer(t, s.sent(t, isDHCP4(dhcp4Discover))))
	s.push(srv.answer(t, s.sent(t, isDHCP4(dhcp4Request))))
	var st DHCP4Status
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if st, _ = it.DHCP4(); st.State == DHCPBound {
			break
		}
	}
	if st.State != DHCPBound || st.Address != srv.offer || st.Prefix != 24 || st.Gateway != srv.router {
		t.Fatalf("status %+v", st)
	}
	if list := s.List(Filter{IPv4: srv.offer}); len(list) != 1 {
		t.Errorf("the ipv4 filter finds %d interfaces for the leased address", len(list))
	}
	// The NIC answers ARP for the leased address: the port's ARP index has it.
	arp := make([]byte, 42)
	copy(arp, broadcastMAC[:])
	copy(arp[6:], srv.mac[:])
	binary.BigEndian.PutUint16(arp[12:], 0x0806)
	copy(arp[14:], []byte{0, 1, 8, 0, 6, 4, 0, 1})
	copy(arp[22:], srv.mac[:])
	copy(arp[28:], srv.ip.AsSlice())
	copy(arp[38:], srv.offer.AsSlice())
	s.push(arp)
	reply := s.sent(t, func(f []byte) bool { return binary.BigEndian.Uint16(f[12:]) == 0x0806 })
	if binary.BigEndian.Uint16(reply[20:]) != 2 || netip.AddrFrom4([4]byte(reply[28:32])) != srv.offer {
		t.Errorf("ARP reply % x", reply[:42])
	}

	s.Delete([]string{"dh"})
	rel := s.sent(t, isDHCP4(dhcp4Release))
	in, _ := parseUDPFrame(rel)
	if in.dst != srv.ip || in.dstMAC != srv.mac || in.src != srv.offer {
		t.Errorf("RELEASE sent as %+v", in)
	}
}

func TestBulkCreateOfDHCPInterfacesDoesNotWait(t *testing.T) {
	s := newDHCPTestStack(t)
	const n = 1000
	items := make([]*Interface, n)
	for i := range items {
		items[i] = &Interface{ID: fmt.Sprintf("d%d", i), PortID: "0", Config: Config{
			MAC:  [6]byte{2, 0, 0, 0xdc, byte(i >> 8), byte(i)},
			IPv4: &IPv4Config{Method: MethodDHCP},
			IPv6: &IPv6Config{Method: MethodDHCP6, Stateless: true},
		}}
	}
	t0 := time.Now()
	if _, err := s.Create(items, func(i int) string { return fmt.Sprintf("items[%d]", i) }); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); took > 5*time.Second {
		t.Errorf("creating %d DHCP interfaces took %v", n, took)
	}
	// The first DISCOVERs go out in the background, paced.
	s.sent(t, isDHCP4(dhcp4Discover))
	if got := s.Delete(nil); got != 0 {
		t.Fatal(got)
	}
}

func TestPacerSpreadsABurst(t *testing.T) {
	p := pacer{rate: 100, burst: 10, tokens: 10}
	now := time.Unix(0, 0)
	n := 0
	for p.take(now) {
		n++
	}
	if n != 10 {
		t.Fatalf("burst of %d, want 10", n)
	}
	if w := p.wait(now); w != 10*time.Millisecond {
		t.Errorf("next token in %v, want 10 ms at 100/s", w)
	}
	now = now.Add(time.Second)
	n = 0
	for p.take(now) {
		n++
	}
	if n != 10 {
		t.Errorf("after a second: %d tokens, want the burst cap of 10", n)
	}
}

func TestDHCPClientPortPeeksOnlyAtDHCPFrames(t *testing.T) {
	v4 := udp4Frame(testMAC, testMAC, zero4, broadcast4, 67, 68, make([]byte, 10))
	v6 := udp6Frame(testMAC, testMAC, netip.MustParseAddr("fe80::1"), netip.MustParseAddr("fe80::2"), 547, 546, make([]byte, 10))
	v4on546 := udp4Frame(testMAC, testMAC, zero4, broadcast4, 547, 546, nil)
	v6on68 := udp6Frame(testMAC, testMAC, netip.MustParseAddr("fe80::1"), netip.MustParseAddr("fe80::2"), 67, 68, nil)
	frag := append([]byte(nil), v4...)
	frag[14+6] = 0x00
	frag[14+7] = 0x10 // offset 16 bytes
	for name, tc := range map[string]struct {
		f    []byte
		want uint16
	}{
		"v4": {v4, 68}, "v6": {v6, 546}, "v4 to 546": {v4on546, 0}, "v6 to 68": {v6on68, 0},
		"later fragment": {frag, 0}, "short": {v4[:40], 0}, "empty": {nil, 0},
	} {
		if got := dhcpClientPort(tc.f); got != tc.want {
			t.Errorf("%s: %d, want %d", name, got, tc.want)
		}
	}
}
