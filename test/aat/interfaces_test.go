package aat

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openperfd/openperfd/api/gen"
)

// iface builds an interface request body.
func iface(id, port, mac string, protos ...map[string]any) map[string]any {
	list := []map[string]any{{"eth": map[string]any{"mac_address": mac}}}
	list = append(list, protos...)
	body := map[string]any{"port_id": port, "config": map[string]any{"protocols": list}}
	if id != "" {
		body["id"] = id
	}
	return body
}

func v4(addr string, prefix int, gw string) map[string]any {
	st := map[string]any{"address": addr, "prefix_length": prefix}
	if gw != "" {
		st["gateway"] = gw
	}
	return map[string]any{"ipv4": map[string]any{"method": "static", "static": st}}
}

func v6(addr string, prefix int) map[string]any {
	return map[string]any{"ipv6": map[string]any{"method": "static", "static": map[string]any{"address": addr, "prefix_length": prefix}}}
}

func ping(t *testing.T, d *daemon, from, addr string, count int) gen.PingResult {
	t.Helper()
	var r gen.PingResult
	out := d.expect("POST", "/interfaces/"+from+"/x/ping", map[string]any{"address": addr, "count": count, "interval_ms": 20}, 200)
	mustJSON(t, out, &r)
	return r
}

func TestInterfacesOnAPortPairResolveEachOtherAndPing(t *testing.T) {
	for _, strategy := range []string{"direct", "queued"} {
		t.Run(strategy, func(t *testing.T) {
			d := startDaemon(t, testMode, "--modules.stack.rx-strategy", strategy)
			d.expect("POST", "/interfaces", iface("a", "0", "02:00:00:00:0a:01", v4("10.20.0.1", 24, ""), v6("fd00:20::1", 64)), 201)
			d.expect("POST", "/interfaces", iface("b", "1", "02:00:00:00:0b:01", v4("10.20.0.2", 24, "10.20.0.1"), v6("fd00:20::2", 64)), 201)

			if r := ping(t, d, "a", "10.20.0.2", 5); r.Received != 5 {
				t.Fatalf("IPv4 ping a->b: %+v", r)
			}
			if r := ping(t, d, "b", "10.20.0.1", 3); r.Received != 3 {
				t.Fatalf("IPv4 ping b->a: %+v", r)
			}
			if r := ping(t, d, "a", "fd00:20::2", 3); r.Received != 3 {
				t.Fatalf("IPv6 ping a->b: %+v", r)
			}
			var b gen.Interface
			d.get("/interfaces/b", &b)
			if b.Stats.RxPackets < 8 || b.Stats.TxPackets < 8 || b.Stats.RxBytes < 8*60 {
				t.Errorf("interface b stats %+v, want at least 8 packets each way", *b.Stats)
			}
			var st gen.Stack
			d.get("/stacks/stack0", &st)
			s := st.Stats
			if s.Arp.RxPackets < 2 || s.Arp.TxPackets < 2 {
				t.Errorf("arp counters %+v: want requests and replies", s.Arp)
			}
			if s.Icmpv4.RxPackets < 16 || s.Icmpv6.RxPackets < 6 || s.Nd.RxPackets < 2 {
				t.Errorf("icmpv4 %+v icmpv6 %+v nd %+v", s.Icmpv4, s.Icmpv6, s.Nd)
			}
			if len(s.Pools) == 0 || s.Pools[0].Available <= 0 {
				t.Errorf("pools %+v: want the DPDK pool", s.Pools)
			}
			// The unknown address gets no answer and no error.
			if r := ping(t, d, "a", "10.20.0.99", 1); r.Received != 0 || r.Sent != 1 {
				t.Errorf("ping to nobody: %+v", r)
			}
		})
	}
}

func TestInterfaceValidationNamesTheField(t *testing.T) {
	d := startDaemon(t, testMode)
	good := v4("10.1.0.1", 24, "")
	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"broadcast MAC", iface("", "0", "ff:ff:ff:ff:ff:ff", good), "mac_address"},
		{"multicast MAC", iface("", "0", "01:00:5e:00:00:01", good), "mac_address"},
		{"malformed MAC", iface("", "0", "02:00:00:00:01", good), "mac_address"},
		{"zero MAC", iface("", "0", "00:00:00:00:00:00", good), "mac_address"},
		{"prefix too long", iface("", "0", "02:00:00:00:00:10", v4("10.1.0.1", 33, "")), "prefix_length"},
		{"prefix zero", iface("", "0", "02:00:00:00:00:10", v4("10.1.0.1", 0, "")), "prefix_length"},
		{"ipv6 prefix too long", iface("", "0", "02:00:00:00:00:10", v6("fd00::1", 129)), "prefix_length"},
		{"gateway outside the subnet", iface("", "0", "02:00:00:00:00:10", v4("10.1.0.1", 24, "10.2.0.1")), "gateway"},
		{"bad address", iface("", "0", "02:00:00:00:00:10", v4("10.1.0.300", 24, "")), "address"},
		{"ipv6 address in ipv4", iface("", "0", "02:00:00:00:00:10", v4("fd00::1", 24, "")), "address"},
		{"unknown port", iface("", "9", "02:00:00:00:00:10", good), "port_id"},
		{"stateful dhcp6", iface("", "0", "02:00:00:00:00:10", map[string]any{"ipv6": map[string]any{"method": "dhcp6", "dhcp6": map[string]any{"stateless": false}}}), "stateless"},
		{"bad method", iface("", "0", "02:00:00:00:00:10", map[string]any{"ipv4": map[string]any{"method": "magic"}}), "method"},
		{"no eth first", map[string]any{"port_id": "0", "config": map[string]any{"protocols": []any{good}}}, "protocols[0]"},
		{"no protocols", map[string]any{"port_id": "0", "config": map[string]any{"protocols": []any{}}}, "protocols"},
		{"bad rx filter", withFilter(iface("", "0", "02:00:00:00:00:10", good), "rx_filter", "udp port"), "rx_filter"},
		{"bad tx filter", withFilter(iface("", "0", "02:00:00:00:00:10", good), "tx_filter", "frobnicate"), "tx_filter"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d.t = t
			out := d.expect("POST", "/interfaces", c.body, 400)
			if !strings.Contains(string(out), c.field) {
				t.Errorf("error %s does not name %q", out, c.field)
			}
		})
	}
	d.t = t
	var list []gen.Interface
	d.get("/interfaces", &list)
	if len(list) != 0 {
		t.Fatalf("%d interfaces after only bad requests", len(list))
	}
	// A duplicate MAC with a duplicate address on the same port is refused
	// (interfaces may share a MAC, not both); on the other port it is fine.
	d.expect("POST", "/interfaces", iface("m1", "0", "02:00:00:00:00:20", good), 201)
	out := d.expect("POST", "/interfaces", iface("m2", "0", "02:00:00:00:00:20", good), 400)
	if !strings.Contains(string(out), "ipv4.static.address") {
		t.Errorf("duplicate MAC and address error %s", out)
	}
	d.expect("POST", "/interfaces", iface("m1", "1", "02:00:00:00:00:21", good), 400) // duplicate id
	d.expect("POST", "/interfaces", iface("m3", "1", "02:00:00:00:00:20", v4("10.1.0.3", 24, "")), 201)
	d.expect("PUT", "/interfaces/m1", iface("m1", "0", "02:00:00:00:00:20", good), 405)
	d.expect("GET", "/interfaces/nope", nil, 404)
	d.expect("DELETE", "/interfaces/nope", nil, 204)  // already gone, as in OpenPerf
	d.expect("DELETE", "/interfaces/No_Pe", nil, 404) // no such id can exist
	if out := d.expect("POST", "/interfaces", iface("a/b", "0", "02:00:00:00:00:10"), 404); !strings.Contains(string(out), "id") {
		t.Errorf("a malformed id: %s does not name the id", out)
	}
	d.expect("DELETE", "/interfaces/m3", nil, 204)
	d.expect("GET", "/interfaces/m3", nil, 404)
}

func TestBulkCreateIsAllOrNothingAndBulkDeleteIgnoresUnknownIDs(t *testing.T) {
	d := startDaemon(t, testMode)
	items := []any{}
	for i := 0; i < 50; i++ {
		items = append(items, iface(fmt.Sprintf("if%d", i), fmt.Sprint(i%2), fmt.Sprintf("02:00:00:00:01:%02x", i), v4(fmt.Sprintf("10.3.0.%d", i+1), 24, "")))
	}
	bad := append(append([]any{}, items...), iface("bad", "0", "ff:ff:ff:ff:ff:ff", v4("10.3.1.1", 24, "")))
	out := d.expect("POST", "/interfaces/x/bulk-create", map[string]any{"items": bad}, 400)
	if !strings.Contains(string(out), "items[50]") {
		t.Errorf("bulk error %s does not name items[50]", out)
	}
	var list []gen.Interface
	d.get("/interfaces", &list)
	if len(list) != 0 {
		t.Fatalf("a failed bulk-create left %d interfaces", len(list))
	}
	// Two items with the same MAC and address on one port: nothing either.
	dup := []any{items[0], iface("dup", "0", "02:00:00:00:01:00", v4("10.3.0.1", 24, ""))}
	out = d.expect("POST", "/interfaces/x/bulk-create", map[string]any{"items": dup}, 400)
	if !strings.Contains(string(out), "items[1].config.protocols[1].ipv4.static.address") {
		t.Errorf("bulk duplicate error %s does not name items[1]'s address", out)
	}
	// An empty list is nothing to do, as in OpenPerf.
	if out := d.expect("POST", "/interfaces/x/bulk-create", map[string]any{"items": []any{}}, 200); !strings.Contains(string(out), `"items":[]`) {
		t.Errorf("empty bulk-create: %s", out)
	}

	var resp struct{ Items []gen.Interface }
	mustJSON(t, d.expect("POST", "/interfaces/x/bulk-create", map[string]any{"items": items}, 200), &resp)
	if len(resp.Items) != 50 || *resp.Items[7].Id != "if7" {
		t.Fatalf("bulk-create returned %d items", len(resp.Items))
	}
	d.get("/interfaces?port_id=1", &list)
	if len(list) != 25 {
		t.Errorf("port_id=1 lists %d, want 25", len(list))
	}
	d.get("/interfaces?eth_mac_address=02:00:00:00:01:05", &list)
	if len(list) != 1 || *list[0].Id != "if5" {
		t.Errorf("eth_mac_address filter: %d", len(list))
	}
	d.get("/interfaces?ipv4_address=10.3.0.10", &list)
	if len(list) != 1 || *list[0].Id != "if9" {
		t.Errorf("ipv4_address filter: %d", len(list))
	}
	if out := d.expect("GET", "/interfaces?ipv4_address=nonsense", nil, 200); strings.TrimSpace(string(out)) != "[]" {
		t.Errorf("a filter no interface can match: %s, want []", out)
	}
	d.expect("POST", "/interfaces/x/bulk-delete", map[string]any{"ids": []string{"if1", "if2", "no-such"}}, 204)
	d.expect("POST", "/interfaces/x/bulk-delete", map[string]any{"ids": []string{"if1", "if2", "no-such"}}, 204)
	d.get("/interfaces", &list)
	if len(list) != 48 {
		t.Errorf("after bulk-delete %d interfaces, want 48", len(list))
	}
}

func TestConfigFileInterfacesExistAtStart(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "cfg.yaml")
	yaml := `modules:
  packetio:
    dpdk:
      test-mode: true
resources:
  /interfaces/interface-one:
    port_id: "0"
    config:
      protocols:
        - eth: {mac_address: "02:00:00:00:0c:01"}
        - ipv4: {method: static, static: {address: 10.4.0.1, prefix_length: 24}}
  /interfaces/interface-two:
    port_id: "1"
    config:
      protocols:
        - eth: {mac_address: "02:00:00:00:0c:02"}
        - ipv4: {method: static, static: {address: 10.4.0.2, prefix_length: 24}}
`
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, "-c", cfg)
	var it gen.Interface
	d.get("/interfaces/interface-one", &it)
	d.get("/interfaces/interface-two", &it)
	if r := ping(t, d, "interface-one", "10.4.0.2", 2); r.Received != 2 {
		t.Fatalf("ping between config-file interfaces: %+v", r)
	}
}

func withFilter(body map[string]any, key, expr string) map[string]any {
	body["config"].(map[string]any)[key] = expr
	return body
}

func TestInterfaceFiltersDropWhatTheyReject(t *testing.T) {
	d := startDaemon(t, testMode)
	d.expect("POST", "/interfaces", iface("a", "0", "02:00:00:00:0f:01", v4("10.30.0.1", 24, "")), 201)
	// b hears ARP but no ICMP.
	b := withFilter(iface("b", "1", "02:00:00:00:0f:02", v4("10.30.0.2", 24, "")), "rx_filter", "not icmp")
	var got gen.Interface
	mustJSON(t, d.expect("POST", "/interfaces", b, 201), &got)
	if got.Config.RxFilter == nil || *got.Config.RxFilter != "not icmp" {
		t.Fatalf("rx_filter not kept: %+v", got.Config)
	}
	if r := ping(t, d, "a", "10.30.0.2", 2); r.Received != 0 {
		t.Fatalf("ping through a 'not icmp' filter got %d replies", r.Received)
	}
	var st gen.Stack
	d.get("/stacks/stack0", &st)
	if st.Stats.Arp.TxPackets < 2 {
		t.Errorf("ARP should still pass the filter: %+v", st.Stats.Arp)
	}
}
