package aat

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// These cases keep what OpenPerf's own acceptance suite found where its
// server answers differently from its schema (../shared/openperf-aat):
// CI cannot fetch OpenPerf, so each class of cause has a case here.

// TestMethodNotAllowedListsExactlyThePathsMethods: OpenPerf's clients
// compare the Allow header of a 405 with the path's methods, no more.
func TestMethodNotAllowedListsExactlyThePathsMethods(t *testing.T) {
	d := startDaemon(t, testMode)
	for _, tc := range []struct{ method, path, allow string }{
		{"PUT", "/interfaces", "GET, POST"},
		{"PUT", "/interfaces/any", "DELETE, GET"},
		{"GET", "/interfaces/x/bulk-create", "POST"},
		{"PUT", "/ports", "GET, POST"},
		{"POST", "/ports/0", "DELETE, GET, PUT"},
		{"PUT", "/stacks", "GET"},
		{"PUT", "/packet/generators", "DELETE, GET, POST"},
		{"PUT", "/packet/generator-results", "DELETE, GET"},
		{"PUT", "/packet/tx-flows", "GET"},
		{"PUT", "/packet/analyzers", "DELETE, GET, POST"},
		{"PUT", "/packet/rx-flows", "GET"},
		{"PUT", "/packet/captures", "DELETE, GET, POST"},
	} {
		req, _ := http.NewRequest(tc.method, d.base+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d Allow %q, want 405 Allow %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Allow"), tc.allow)
		}
	}
}

// TestIDsFollowOpenPerfsRule: ids are lower-case letters, digits and
// hyphens; any other id is a 404 wherever it appears, and deleting an id
// that is well formed but unknown succeeds.
func TestIDsFollowOpenPerfsRule(t *testing.T) {
	d := startDaemon(t, testMode)
	for _, path := range []string{"/interfaces/", "/ports/", "/packet/generators/", "/packet/analyzers/", "/packet/captures/"} {
		d.expect("DELETE", path+"no-such-thing", nil, 204)
		d.expect("DELETE", path+"Not_Valid", nil, 404)
		d.expect("GET", path+"Not_Valid", nil, 404)
	}
	for _, path := range []string{"/packet/generators/", "/packet/analyzers/", "/packet/captures/"} {
		d.expect("POST", path+"no-such-thing/stop", nil, 204) // stopped already, as in OpenPerf
		d.expect("POST", path+"Not_Valid/stop", nil, 404)
	}
	d.expect("POST", "/interfaces", iface("Bad_Id", "0", "02:00:00:00:00:01"), 404)
	d.expect("POST", "/packet/analyzers", map[string]any{"id": "UPPER", "source_id": "1", "config": map[string]any{}}, 404)
	d.expect("POST", "/packet/analyzers/x/bulk-create", map[string]any{"items": []map[string]any{
		{"id": "ok-one", "source_id": "1", "config": map[string]any{}},
		{"id": "not ok", "source_id": "1", "config": map[string]any{}}}}, 404)
	if code, out := d.call("GET", "/packet/analyzers/ok-one", nil); code != 404 {
		t.Fatalf("a bulk-create refused for a bad id made its other items: %d %s", code, out)
	}

	// A bad id in a bulk request stops it before it does anything.
	createGenerator(t, d, "0", genConfig(map[string]any{"continuous": true}, 1000, udpDef(map[string]any{"fixed": 128}, "", nil, nil)))
	var gens []genInfo
	d.get("/packet/generators", &gens)
	id := gens[0].ID
	startGenerator(t, d, id)
	d.expect("POST", "/packet/generators/x/bulk-stop", map[string]any{"ids": []string{id, ":bad:"}}, 404)
	var g genInfo
	d.get("/packet/generators/"+id, &g)
	if !g.Active {
		t.Fatalf("bulk-stop with a malformed id stopped %s", id)
	}
	d.expect("POST", "/packet/generators/x/bulk-stop", map[string]any{"ids": []string{id, ""}}, 204)
}

// TestFiltersThatMatchNothingAreEmptyLists: OpenPerf answers a list
// filter it cannot parse, or an empty one, with an empty list, not a 400.
func TestFiltersThatMatchNothingAreEmptyLists(t *testing.T) {
	d := startDaemon(t, testMode)
	d.expect("POST", "/interfaces", iface("a", "0", "02:00:00:00:00:0a", v4("10.0.0.1", 24, "")), 201)
	for _, q := range []string{"port_id=", "eth_mac_address=foo", "eth_mac_address=", "ipv4_address=foo",
		"ipv4_address=", "ipv6_address=foo", "ipv6_address=", "port_id=foo"} {
		if out := d.expect("GET", "/interfaces?"+q, nil, 200); strings.TrimSpace(string(out)) != "[]" {
			t.Errorf("interfaces?%s: %s, want []", q, out)
		}
	}
	if out := d.expect("GET", "/interfaces?port_id=0", nil, 200); !strings.Contains(string(out), `"id":"a"`) {
		t.Errorf("interfaces?port_id=0: %s", out)
	}
	for _, q := range []string{"/ports?kind=foo", "/ports?kind=", "/packet/generators?target_id=",
		"/packet/analyzers?source_id=", "/packet/generator-results?generator_id=", "/packet/rx-flows?analyzer_id="} {
		if out := d.expect("GET", q, nil, 200); strings.TrimSpace(string(out)) != "[]" {
			t.Errorf("%s: %s, want []", q, out)
		}
	}
}

// TestServerAcceptsWhatOpenPerfsServerAccepts: inputs OpenPerf's schema
// forbids but its server takes, with the defaults it applies.
func TestServerAcceptsWhatOpenPerfsServerAccepts(t *testing.T) {
	d := startDaemon(t, testMode)
	for _, period := range []string{"seconds", "minutes", "hours", "millisecond", "milliseconds"} {
		cfg := genConfig(map[string]any{"frames": 10}, 1, udpDef(map[string]any{"fixed": 128}, "", nil, nil))
		cfg["load"].(map[string]any)["rate"] = map[string]any{"period": period, "value": 1}
		var g struct {
			Config struct {
				Load struct {
					Rate struct{ Period string } `json:"rate"`
				} `json:"load"`
			} `json:"config"`
		}
		mustJSON(t, d.expect("POST", "/packet/generators", map[string]any{"target_id": "0", "config": cfg}, 201), &g)
		if g.Config.Load.Rate.Period != period {
			t.Errorf("period %s came back as %q", period, g.Config.Load.Rate.Period)
		}
	}

	// 1 frame per millisecond: 50 frames take about 50 ms, not 50 s.
	cfg := genConfig(map[string]any{"frames": 50}, 1, udpDef(map[string]any{"fixed": 128}, "", nil, nil))
	cfg["load"].(map[string]any)["rate"] = map[string]any{"period": "milliseconds", "value": 1}
	id := createGenerator(t, d, "0", cfg)
	startGenerator(t, d, id)
	eventually(t, "50 frames at 1 per ms", func() (bool, string) {
		var g genInfo
		d.get("/packet/generators/"+id, &g)
		return !g.Active, "still active"
	})

	// A custom header longer than the frame is cut at the frame's length.
	custom := map[string]any{"packet": map[string]any{"protocols": []map[string]any{
		{"custom": map[string]any{"data": strings.Repeat("AAAA", 100), "layer": "ethernet"}}}},
		"length": map[string]any{"fixed": 128}}
	var before struct {
		Stats struct {
			RxPackets int64 `json:"rx_packets"`
			RxBytes   int64 `json:"rx_bytes"`
		} `json:"stats"`
	}
	d.get("/ports/1", &before)
	id = createGenerator(t, d, "0", genConfig(map[string]any{"frames": 10}, 1000, custom))
	startGenerator(t, d, id)
	eventually(t, "10 cut frames on port 1", func() (bool, string) {
		var after = before
		d.get("/ports/1", &after)
		n, b := after.Stats.RxPackets-before.Stats.RxPackets, after.Stats.RxBytes-before.Stats.RxBytes
		return n == 10 && b == 10*124, fmt.Sprintf("%d frames, %d bytes", n, b)
	})

	// An analyzer with no counter lists keeps OpenPerf's defaults and shows them.
	var a struct {
		Config struct {
			ProtocolCounters []string  `json:"protocol_counters"`
			FlowCounters     []string  `json:"flow_counters"`
			FlowDigests      *[]string `json:"flow_digests"`
		} `json:"config"`
	}
	mustJSON(t, d.expect("POST", "/packet/analyzers", map[string]any{"source_id": "1", "config": map[string]any{}}, 201), &a)
	if strings.Join(a.Config.ProtocolCounters, ",") != "ethernet,ip,transport" ||
		strings.Join(a.Config.FlowCounters, ",") != "frame_count" || a.Config.FlowDigests == nil {
		t.Errorf("analyzer defaults: %+v", a.Config)
	}

	// A fixed link (ring ports) reports its speed and duplex, as OpenPerf does.
	var p struct {
		Config struct {
			Dpdk struct {
				Link struct {
					AutoNegotiation bool   `json:"auto_negotiation"`
					Speed           *int64 `json:"speed"`
					Duplex          string `json:"duplex"`
				} `json:"link"`
			} `json:"dpdk"`
		} `json:"config"`
	}
	d.get("/ports/0", &p)
	if l := p.Config.Dpdk.Link; l.AutoNegotiation || l.Speed == nil || *l.Speed <= 0 || l.Duplex != "full" {
		t.Errorf("ring port link config: %+v", l)
	}
}

// TestSignatureFlowsAreLimitedAsInOpenPerf: one definition with
// signatures has at most 64k-1 flows, each with its own stream id.
func TestSignatureFlowsAreLimitedAsInOpenPerf(t *testing.T) {
	d := startDaemon(t, testMode)
	mods := []map[string]any{
		{"name": "source", "permute": false, "ipv4": map[string]any{"sequence": map[string]any{"count": 256, "start": "10.0.0.1"}}},
		{"name": "destination", "permute": false, "ipv4": map[string]any{"sequence": map[string]any{"count": 256, "start": "10.1.0.1"}}},
	}
	def := udpDef(map[string]any{"fixed": 128}, "", mods, nil)
	ip := def["packet"].(map[string]any)["protocols"].([]map[string]any)[1]
	ip["modifiers"].(map[string]any)["tie"] = "cartesian" // 256 x 256 flows
	def["signature"] = map[string]any{"stream_id": 1, "latency": "start_of_frame"}
	out := d.expect("POST", "/packet/generators", map[string]any{"target_id": "0",
		"config": genConfig(map[string]any{"continuous": true}, 1000, def)}, 400)
	if !strings.Contains(string(out), "signature") {
		t.Errorf("400 does not name the signature: %s", out)
	}
}

// TestInterfaceTargetsLearnEveryDestination: on an interface, frames go
// where the stack resolves their IP destination (the gateway, off link),
// even when the request named a destination MAC, as in OpenPerf.
func TestInterfaceTargetsLearnEveryDestination(t *testing.T) {
	d := startDaemon(t, testMode)
	d.expect("POST", "/interfaces", iface("one", "0", "aa:bb:cc:dd:ee:01", v4("192.168.22.10", 24, "192.168.22.1")), 201)
	d.expect("POST", "/interfaces", iface("two", "1", "aa:bb:cc:dd:ee:20", v4("192.168.22.1", 24, "")), 201)
	id := createGenerator(t, d, "one", genConfig(map[string]any{"continuous": true}, 10, udpDef(map[string]any{"fixed": 128}, "", nil, nil)))
	var lr struct {
		ResolvedState string `json:"resolved_state"`
		IPv4          []struct {
			IPAddress  string `json:"ip_address"`
			MACAddress string `json:"mac_address"`
		} `json:"ipv4"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		d.get("/packet/generators/"+id+"/learning", &lr)
		if lr.ResolvedState == "resolved" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := json.Marshal(lr)
	if lr.ResolvedState != "resolved" || len(lr.IPv4) != 1 || lr.IPv4[0].IPAddress != "192.168.22.1" || lr.IPv4[0].MACAddress != "aa:bb:cc:dd:ee:20" {
		t.Fatalf("learning: %s, want the gateway 192.168.22.1 at aa:bb:cc:dd:ee:20", b)
	}

	// A port learns nothing: OpenPerf answers 400 to reading or stopping
	// its learning and 204 to starting it.
	port := createGenerator(t, d, "0", genConfig(map[string]any{"continuous": true}, 10, udpDef(map[string]any{"fixed": 128}, "", nil, nil)))
	d.expect("GET", "/packet/generators/"+port+"/learning", nil, 400)
	d.expect("POST", "/packet/generators/"+port+"/learning/start", nil, 204)
	d.expect("POST", "/packet/generators/"+port+"/learning/retry", nil, 204)
	d.expect("POST", "/packet/generators/"+port+"/learning/stop", nil, 400)
}
