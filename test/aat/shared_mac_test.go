package aat

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/openperfd/openperfd/api/gen"
)

// OpenPerf's acceptance suite gives several interfaces of port 0 this MAC.
const sharedMAC = "00:00:00:00:00:01"

func rxPackets(t *testing.T, d *daemon, id string) int64 {
	t.Helper()
	var it gen.Interface
	d.get("/interfaces/"+id, &it)
	return it.Stats.RxPackets
}

// TestInterfacesShareAMACOnAPort: two interfaces of port 0 with one MAC
// and different addresses are each pinged (IPv4 and IPv6) from port 1,
// and each receives only what is for its own addresses; deleting one
// leaves the other answering. The same MAC with the same address on the
// same port is refused, naming the field.
func TestInterfacesShareAMACOnAPort(t *testing.T) {
	for _, strategy := range []string{"direct", "queued"} {
		t.Run(strategy, func(t *testing.T) {
			d := startDaemon(t, testMode, "--modules.stack.rx-strategy", strategy)
			d.expect("POST", "/interfaces", iface("a", "0", sharedMAC, v4("10.50.0.1", 24, ""), v6("fd00:50::a", 64)), 201)
			d.expect("POST", "/interfaces", iface("b", "0", sharedMAC, v4("10.50.0.2", 24, ""), v6("fd00:50::b", 64)), 201)
			d.expect("POST", "/interfaces", iface("peer", "1", "02:00:00:00:50:09", v4("10.50.0.9", 24, ""), v6("fd00:50::9", 64)), 201)

			var list []gen.Interface
			d.get("/interfaces?eth_mac_address="+sharedMAC, &list)
			if len(list) != 2 {
				t.Fatalf("eth_mac_address=%s lists %d interfaces, want 2", sharedMAC, len(list))
			}
			for _, c := range []struct{ addr, owner, other string }{
				{"10.50.0.1", "a", "b"}, {"10.50.0.2", "b", "a"}, {"fd00:50::a", "a", "b"}, {"fd00:50::b", "b", "a"},
			} {
				before := rxPackets(t, d, c.other)
				if r := ping(t, d, "peer", c.addr, 3); r.Received != 3 {
					t.Fatalf("ping %s (%s): %+v", c.addr, c.owner, r)
				}
				if got := rxPackets(t, d, c.other); got != before {
					t.Errorf("ping %s: %s, which only shares the MAC, received %d frames", c.addr, c.other, got-before)
				}
			}
			if r := ping(t, d, "b", "10.50.0.9", 2); r.Received != 2 {
				t.Errorf("ping from b: %+v", r)
			}

			// Same MAC and same address on one port cannot be served.
			out := d.expect("POST", "/interfaces", iface("c", "0", sharedMAC, v4("10.50.0.1", 24, "")), 400)
			if !strings.Contains(string(out), "config.protocols[1].ipv4.static.address") {
				t.Errorf("error %s does not name the address", out)
			}
			out = d.expect("POST", "/interfaces", iface("c", "0", sharedMAC, v6("fd00:50::b", 64)), 400)
			if !strings.Contains(string(out), "config.protocols[1].ipv6.static.address") {
				t.Errorf("error %s does not name the address", out)
			}
			// On the other port it is another segment.
			d.expect("POST", "/interfaces", iface("c", "1", sharedMAC, v4("10.50.0.1", 24, "")), 201)
			d.expect("DELETE", "/interfaces/c", nil, 204)

			d.expect("DELETE", "/interfaces/a", nil, 204)
			if r := ping(t, d, "peer", "10.50.0.2", 3); r.Received != 3 {
				t.Errorf("after deleting a, ping b: %+v", r)
			}
			if r := ping(t, d, "peer", "fd00:50::b", 3); r.Received != 3 {
				t.Errorf("after deleting a, ping6 b: %+v", r)
			}
			if r := ping(t, d, "peer", "10.50.0.1", 1); r.Received != 0 {
				t.Errorf("a's address answered after its delete: %+v", r)
			}
		})
	}
}

// TestInterfacesWithOnlyEthShareAMAC is OpenPerf's acceptance case: eth-only
// interfaces with one MAC on port 0, singly and in a bulk-create.
func TestInterfacesWithOnlyEthShareAMAC(t *testing.T) {
	d := startDaemon(t, testMode)
	d.expect("POST", "/interfaces", iface("one", "0", sharedMAC), 201)
	d.expect("POST", "/interfaces", iface("two", "0", sharedMAC), 201)
	d.expect("POST", "/interfaces/x/bulk-create", map[string]any{"items": []any{
		iface("three", "0", sharedMAC), iface("four", "0", sharedMAC, v4("10.51.0.4", 24, "")),
	}}, 200)
	d.expect("POST", "/interfaces/x/bulk-delete", map[string]any{"ids": []string{"one", "three"}}, 204)
	var list []gen.Interface
	d.get("/interfaces?eth_mac_address="+sharedMAC, &list)
	if len(list) != 2 {
		t.Fatalf("%d interfaces left, want 2", len(list))
	}
}

// autoStatus returns an interface's ipv4 x_auto status.
func autoStatus(t *testing.T, it gen.Interface) gen.AddressStatus {
	t.Helper()
	for _, p := range it.Config.Protocols {
		if p.Ipv4 != nil {
			if p.Ipv4.Method != "auto" || p.Ipv4.XAuto == nil || p.Ipv4.XAuto.Status == nil || p.Ipv4.XAuto.Status.State == nil {
				t.Fatalf("ipv4 %+v: want method auto with x_auto.status", *p.Ipv4)
			}
			return *p.Ipv4.XAuto.Status
		}
	}
	t.Fatal("no ipv4 layer")
	return gen.AddressStatus{}
}

func autoV4() map[string]any { return map[string]any{"ipv4": map[string]any{"method": "auto"}} }

// waitAutoBound polls an auto interface until it claims an address. RFC
// 3927's waits make a claim take 3-7 s, a conflict about as much again.
func waitAutoBound(t *testing.T, d *daemon, id string) netip.Addr {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for {
		var it gen.Interface
		d.get("/interfaces/"+id, &it)
		st := autoStatus(t, it)
		if *st.State == "bound" {
			if st.Address == nil || st.PrefixLength == nil || *st.PrefixLength != 16 {
				t.Fatalf("%s bound without a /16: %+v", id, st)
			}
			a := netip.MustParseAddr(*st.Address)
			if lo, hi := netip.MustParseAddr("169.254.1.0"), netip.MustParseAddr("169.254.254.255"); a.Less(lo) || hi.Less(a) {
				t.Fatalf("%s claimed %s, outside RFC 3927's range", id, a)
			}
			return a
		}
		if *st.State != "probing" {
			t.Fatalf("%s: state %q", id, *st.State)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s claimed no address in 40 s", id)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestIPv4AutoClaimsALinkLocalAddress: an interface with ipv4 method auto
// is created at once, probing; later it reports its 169.254.x.y/16 and a
// static link-local host on the other port pings it, and it that host.
func TestIPv4AutoClaimsALinkLocalAddress(t *testing.T) {
	d := startDaemon(t, testMode)
	d.expect("POST", "/interfaces", iface("peer", "1", "02:00:00:00:52:09", v4("169.254.0.9", 16, "")), 201)
	t0 := time.Now()
	var made gen.Interface
	mustJSON(t, d.expect("POST", "/interfaces", iface("auto", "0", "02:00:00:00:52:01", autoV4()), 201), &made)
	if took := time.Since(t0); took > time.Second {
		t.Errorf("creating an auto interface took %s: it must not wait for the address", took)
	}
	if st := autoStatus(t, made); *st.State != "probing" || st.Address != nil {
		t.Errorf("the created interface reports %+v, want probing without an address", st)
	}
	// OpenPerf's acceptance spec: auto with rx and tx filters.
	d.expect("POST", "/interfaces", withFilter(withFilter(iface("filtered", "0", "00:01:5c:a1:ab:1e", autoV4()),
		"rx_filter", "tcp dst portrange 1024-65535"),
		"tx_filter", "not((arp && arp[6:2]==2) || (icmp6[icmp6type]==icmp6-neighboradvert))"), 201)
	// A bulk-create of many returns promptly too.
	var items []any
	for i := range 100 {
		items = append(items, iface(fmt.Sprintf("bulk%d", i), "0", fmt.Sprintf("02:00:00:01:52:%02x", i), autoV4()))
	}
	t0 = time.Now()
	d.expect("POST", "/interfaces/x/bulk-create", map[string]any{"items": items}, 200)
	if took := time.Since(t0); took > 3*time.Second {
		t.Errorf("bulk-creating 100 auto interfaces took %s", took)
	}

	a := waitAutoBound(t, d, "auto")
	if r := ping(t, d, "peer", a.String(), 3); r.Received != 3 {
		t.Errorf("ping %s from the peer: %+v", a, r)
	}
	if r := ping(t, d, "auto", "169.254.0.9", 3); r.Received != 3 {
		t.Errorf("ping the peer from %s: %+v", a, r)
	}
	var list []gen.Interface
	d.get("/interfaces?ipv4_address="+a.String(), &list)
	if len(list) != 1 || *list[0].Id != "auto" {
		t.Errorf("ipv4_address=%s lists %d interfaces", a, len(list))
	}
	seen := map[netip.Addr]string{a: "auto"}
	for i := range 100 {
		id := fmt.Sprintf("bulk%d", i)
		b := waitAutoBound(t, d, id)
		if o, dup := seen[b]; dup {
			t.Fatalf("%s and %s both claimed %s", o, id, b)
		}
		seen[b] = id
	}
}

// TestIPv4AutoMovesOnFromATakenAddress: the auto interface's first choice
// (learnt by letting it claim once, then deleting it; the choice follows
// from the MAC) is given to a static host on the other port; the auto
// interface, made again with the same MAC, probes, hears the holder and
// claims another address.
func TestIPv4AutoMovesOnFromATakenAddress(t *testing.T) {
	d := startDaemon(t, testMode)
	const mac = "02:00:00:00:53:01"
	d.expect("POST", "/interfaces", iface("auto", "0", mac, autoV4()), 201)
	first := waitAutoBound(t, d, "auto")
	d.expect("DELETE", "/interfaces/auto", nil, 204)

	d.expect("POST", "/interfaces", iface("holder", "1", "02:00:00:00:53:09", v4(first.String(), 16, "")), 201)
	d.expect("POST", "/interfaces", iface("auto", "0", mac, autoV4()), 201)
	second := waitAutoBound(t, d, "auto")
	if second == first {
		t.Fatalf("claimed %s, which the holder on the other port has", first)
	}
	if r := ping(t, d, "holder", second.String(), 3); r.Received != 3 {
		t.Errorf("ping %s from the holder: %+v", second, r)
	}
	if r := ping(t, d, "auto", first.String(), 3); r.Received != 3 {
		t.Errorf("ping the holder's %s: %+v", first, r)
	}
}
