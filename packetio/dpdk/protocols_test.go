package dpdk

import (
	"testing"

	"github.com/openperfd/openperfd/packetio"
)

// withProtocolCounters gives port p protocol counters for the test, as
// Options.ProtocolCounters does at Open.
func withProtocolCounters(t *testing.T, p *port) {
	t.Helper()
	p.countProtocols()
	t.Cleanup(p.stopCountingProtocols)
}

// eth builds a frame: destination and source MACs, then the EtherType
// words and bytes given (tags included), padded with zeros to n bytes.
func eth(n int, parts ...[]byte) []byte {
	f := make([]byte, 12, n)
	for _, p := range parts {
		f = append(f, p...)
	}
	for len(f) < n {
		f = append(f, 0)
	}
	return f
}

// ipv4 is an IPv4 header (no options) with protocol proto and the
// flags/fragment-offset word fo.
func ipv4(proto byte, fo uint16) []byte {
	return []byte{0x08, 0x00, 0x45, 0, 0, 40, 0, 0, byte(fo >> 8), byte(fo), 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}
}

func ipv6(next byte) []byte {
	h := make([]byte, 2+40)
	h[0], h[1], h[2] = 0x86, 0xdd, 0x60
	h[2+6] = next
	return h
}

var (
	vlanTag = []byte{0x81, 0x00, 0, 42}
	qinqTag = []byte{0x88, 0xa8, 0, 7}
)

// TestProtocolCountersClassify: the burst helpers' protocol counters, on
// tx of one ring port and rx of its peer, put every frame in the classes
// the API documents.
func TestProtocolCountersClassify(t *testing.T) {
	from, to := portAt(t, ringPortA).(*port), portAt(t, ringPortB).(*port)
	withProtocolCounters(t, from)
	withProtocolCounters(t, to)
	frames := [][]byte{
		eth(60, []byte{0x08, 0x06}),                  // ARP
		eth(60, ipv4(17, 0)),                         // IPv4/UDP
		eth(60, ipv4(6, 0x4000)),                     // IPv4/TCP, DF set
		eth(60, ipv4(1, 0)),                          // IPv4/ICMP
		eth(60, ipv4(17, 0x00b9)),                    // a later fragment: no L4
		eth(60, ipv4(58, 0)),                         // ICMPv6's number over IPv4: other
		eth(100, vlanTag, ipv6(58)),                  // VLAN, IPv6/ICMPv6
		eth(100, qinqTag, vlanTag, ipv4(17, 0x2000)), // two tags, first fragment: UDP
		eth(100, ipv6(17)),                           // IPv6/UDP
		eth(100, ipv6(0)),                            // hop-by-hop first: other
		eth(60, []byte{0x88, 0xcc}),                  // LLDP: other L3
		eth(14+10, ipv4(17, 0)[:12]),                 // IPv4 cut short: no L4
		make([]byte, 10),                             // not even an Ethernet header
	}
	want := packetio.ProtocolCounts{VLAN: 2, ARP: 1, IPv4: 7, IPv6: 3, OtherL3: 2,
		UDP: 3, TCP: 1, ICMP: 1, ICMPv6: 1, OtherL4: 3}

	b := testDrv.NewBurst()
	defer b.Free()
	pkts := b.Pkts[:len(frames)]
	if !testDrv.Pool().Alloc(pkts) {
		t.Fatal("pool alloc failed")
	}
	for i, m := range pkts {
		copy(m.Room(), frames[i])
		m.SetLen(len(frames[i]))
	}
	if sent := from.TxBurst(0, pkts); sent != len(pkts) {
		testDrv.Pool().Free(pkts[sent:])
		t.Fatalf("port took %d of %d frames", sent, len(pkts))
	}
	rx := testDrv.NewBurst()
	defer rx.Free()
	got := to.RxBurst(0, rx.Pkts, 0)
	testDrv.Pool().Free(rx.Pkts[:got])
	if got != len(frames) {
		t.Fatalf("received %d frames, want %d", got, len(frames))
	}
	if _, tx := from.protocolCounts(); *tx != want {
		t.Errorf("tx counts %+v\nwant      %+v", *tx, want)
	}
	if rxc, _ := to.protocolCounts(); *rxc != want {
		t.Errorf("rx counts %+v\nwant      %+v", *rxc, want)
	}
	if st := to.Stats(); st.RxProtocols == nil || *st.RxProtocols != want {
		t.Errorf("Stats().RxProtocols = %+v", st.RxProtocols)
	}
}
