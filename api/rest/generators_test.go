package rest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openperfd/openperfd/api/gen"
)

// genBody is a valid generator on port 0 with tweaks applied to its
// decoded JSON (path "a.b[0].c" = value; value nil deletes).
func genBody(t testing.TB, tweaks map[string]any) string {
	t.Helper()
	base := `{"id":"g","target_id":"0","config":{"duration":{"frames":1000},
	  "load":{"burst_size":32,"rate":{"period":"second","value":100000},"units":"frames"},
	  "protocol_counters":["ethernet","ip","transport"],
	  "traffic":[{"packet":{"protocols":[
	    {"ethernet":{"source":"02:00:00:00:00:01","destination":"02:00:00:00:00:02"}},
	    {"ipv4":{"source":"198.18.0.1","destination":"198.18.1.1"},
	     "modifiers":{"items":[{"name":"source","permute":false,"ipv4":{"sequence":{"count":4,"start":"198.18.0.1"}}}]}},
	    {"udp":{},"modifiers":{"items":[{"name":"destination","permute":false,"field":{"list":[1,2,3]}}]}}],
	    "modifier_tie":"cartesian"},
	   "length":{"fixed":128},"signature":{"stream_id":7,"latency":"start_of_frame"}}]}}`
	var m any
	if err := json.Unmarshal([]byte(base), &m); err != nil {
		t.Fatal(err)
	}
	for path, v := range tweaks {
		setPath(t, m, path, v)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func setPath(t testing.TB, m any, path string, v any) {
	t.Helper()
	parts := strings.Split(path, ".")
	cur := m
	for i, p := range parts {
		idx := -1
		if j := strings.IndexByte(p, '['); j >= 0 {
			fmt.Sscanf(p[j:], "[%d]", &idx)
			p = p[:j]
		}
		obj := cur.(map[string]any)
		last := i == len(parts)-1
		if idx < 0 {
			if last {
				if v == nil {
					delete(obj, p)
				} else {
					obj[p] = v
				}
				return
			}
			cur = obj[p]
			continue
		}
		arr := obj[p].([]any)
		if last {
			arr[idx] = v
			return
		}
		cur = arr[idx]
	}
}

func TestGeneratorValidationNamesTheField(t *testing.T) {
	h := newTestServer(t)
	for _, tc := range []struct {
		name   string
		tweaks map[string]any
		want   string
	}{
		{"rate 0", map[string]any{"config.load.rate.value": 0}, "config.load.rate.value"},
		{"burst 0", map[string]any{"config.load.burst_size": 0}, "config.load.burst_size"},
		{"length below 64", map[string]any{"config.traffic[0].length.fixed": 60}, "config.traffic[0].length.fixed: number must be at least 64"},
		{"length too long", map[string]any{"config.traffic[0].length.fixed": 20000}, "config.traffic[0].length: 20000 is longer"},
		{"unknown target", map[string]any{"target_id": "nope"}, "target_id"},
		{"flow count over the limit", map[string]any{
			"config.traffic[0].packet.protocols[1].modifiers.items[0].ipv4.sequence.count": 100000}, "flows"},
		{"bad modifier name", map[string]any{
			"config.traffic[0].packet.protocols[2].modifiers.items[0].name": "bogus"}, "config.traffic[0].packet.protocols[2].modifiers.items[0].name"},
		{"modifier value too wide", map[string]any{
			"config.traffic[0].packet.protocols[2].modifiers.items[0].field": map[string]any{"list": []any{70000}}}, "config.traffic[0].packet.protocols[2].modifiers.items[0].field.list[0]"},
		{"bad address", map[string]any{"config.traffic[0].packet.protocols[1].ipv4.source": "1.2.3"}, "config.traffic[0].packet.protocols[1].ipv4.source"},
		{"two durations", map[string]any{"config.duration.continuous": true}, "config.duration"},
		{"two headers in one", map[string]any{"config.traffic[0].packet.protocols[2].tcp": map[string]any{}}, "config.traffic[0].packet.protocols[2]"},
		{"port target needs a destination MAC", map[string]any{
			"config.traffic[0].packet.protocols[0].ethernet.destination": nil}, "config.traffic[0].packet.protocols[0].ethernet.destination"},
		{"ipv4 options", map[string]any{"config.traffic[0].packet.protocols[1].ipv4.header_length": 24}, "header_length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(h, "POST", "/packet/generators", genBody(t, tc.tweaks))
			if rec.Code != 400 || !strings.Contains(rec.Body.String(), tc.want) {
				t.Fatalf("got %d %s; want 400 naming %s", rec.Code, rec.Body, tc.want)
			}
		})
	}
}

func TestGeneratorLifecycleOverTheFakeDriver(t *testing.T) {
	h := newTestServer(t)
	rec := do(h, "POST", "/packet/generators", genBody(t, nil))
	if rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var g gen.PacketGenerator
	mustDecode(t, rec, &g)
	if *g.Config.FlowCount != 12 || *g.Learning != "unsupported" || *g.Active {
		t.Fatalf("created %+v: want 12 flows, learning unsupported, inactive", g)
	}
	if rec := do(h, "POST", "/packet/generators", genBody(t, nil)); rec.Code != 400 {
		t.Fatalf("duplicate id: %d %s", rec.Code, rec.Body)
	}
	rec = do(h, "POST", "/packet/generators/g/start", "")
	if rec.Code != 201 || rec.Header().Get("Location") == "" {
		t.Fatalf("start: %d %s", rec.Code, rec.Body)
	}
	var r gen.PacketGeneratorResult
	mustDecode(t, rec, &r)
	if len(r.Flows) != 12 {
		t.Fatalf("result has %d flows, want 12", len(r.Flows))
	}
	if rec := do(h, "DELETE", "/packet/generators/g", ""); rec.Code != 400 && rec.Code != 204 {
		t.Fatalf("delete while running: %d %s", rec.Code, rec.Body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec = do(h, "GET", "/packet/generator-results/"+r.Id, "")
		mustDecode(t, rec, &r)
		if !r.Active || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	c := r.FlowCounters
	if r.Active || c.PacketsActual != 1000 || c.OctetsActual != 128000 || c.PacketsIntended != 1000 {
		t.Fatalf("finished result %+v", r)
	}
	if r.ProtocolCounters.Transport == nil || r.ProtocolCounters.Transport.Udp != 1000 || r.ProtocolCounters.Ip.Ipv4 != 1000 {
		t.Fatalf("protocol counters %+v", r.ProtocolCounters)
	}
	var flows []gen.TxFlow
	mustDecode(t, do(h, "GET", "/packet/tx-flows?generator_id=g", ""), &flows)
	var sum int64
	for i, f := range flows {
		sum += f.Counters.PacketsActual
		if f.StreamId == nil || *f.StreamId != int64(7+i) {
			t.Fatalf("flow %d stream id %v, want %d", i, f.StreamId, 7+i)
		}
	}
	if len(flows) != 12 || sum != 1000 {
		t.Fatalf("%d tx flows carrying %d packets; want 12 and 1000", len(flows), sum)
	}
	checkStreamedFlows(t, h, "/packet/tx-flows?generator_id=g", flows)
	var one gen.TxFlow
	mustDecode(t, do(h, "GET", "/packet/tx-flows/"+flows[3].Id, ""), &one)
	if one.Counters.PacketsActual != flows[3].Counters.PacketsActual {
		t.Fatalf("GET tx-flow %+v differs from the list's %+v", one, flows[3])
	}
	if rec := do(h, "GET", "/packet/tx-flows/"+r.Id+"-12", ""); rec.Code != 404 {
		t.Fatalf("flow past the end: %d", rec.Code)
	}
	if rec := do(h, "DELETE", "/packet/generators/g", ""); rec.Code != 204 {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/packet/generator-results/"+r.Id, ""); rec.Code != 404 {
		t.Fatalf("result outlived its generator: %d", rec.Code)
	}
}

func TestToggleCarriesSequenceNumbersOver(t *testing.T) {
	h := newTestServer(t)
	cont := map[string]any{"config.duration": map[string]any{"continuous": true},
		"config.load.rate.value": 1000}
	cont["id"] = "a"
	if rec := do(h, "POST", "/packet/generators", genBody(t, cont)); rec.Code != 201 {
		t.Fatalf("create a: %d %s", rec.Code, rec.Body)
	}
	cont["id"] = "b"
	if rec := do(h, "POST", "/packet/generators", genBody(t, cont)); rec.Code != 201 {
		t.Fatalf("create b: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "POST", "/packet/generators/x/toggle", `{"replace":"a","with":"b"}`); rec.Code != 400 {
		t.Fatalf("toggle with nothing running: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "POST", "/packet/generators/a/start", ""); rec.Code != 201 {
		t.Fatalf("start a: %d", rec.Code)
	}
	time.Sleep(100 * time.Millisecond)
	rec := do(h, "POST", "/packet/generators/x/toggle", `{"replace":"a","with":"b"}`)
	if rec.Code != 201 {
		t.Fatalf("toggle: %d %s", rec.Code, rec.Body)
	}
	var ga, gb gen.PacketGenerator
	mustDecode(t, do(h, "GET", "/packet/generators/a", ""), &ga)
	mustDecode(t, do(h, "GET", "/packet/generators/b", ""), &gb)
	if *ga.Active || !*gb.Active {
		t.Fatalf("after toggle a active %v, b active %v", *ga.Active, *gb.Active)
	}
	if rec := do(h, "POST", "/packet/generators/x/bulk-stop", `{"ids":["a","b","zzz"]}`); rec.Code != 204 {
		t.Fatalf("bulk-stop: %d", rec.Code)
	}
}

func mustDecode(t testing.TB, rec *httptest.ResponseRecorder, v any) {
	t.Helper()
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("decode %d %s: %v", rec.Code, rec.Body, err)
	}
}

func FuzzGeneratorBodies(f *testing.F) {
	f.Add(genBody(f, nil))
	f.Add(genBody(f, map[string]any{"config.traffic[0].length": map[string]any{"sequence": map[string]any{"count": 5, "start": 64, "stop": 1518, "skip": []any{65}}}}))
	f.Add(genBody(f, map[string]any{"config.traffic[0].packet.protocols[1]": map[string]any{"ipv6": map[string]any{"source": "fd00::1", "destination": "fd00::2"}}}))
	f.Add(genBody(f, map[string]any{"config.traffic[0].packet.protocols[2]": map[string]any{"custom": map[string]any{"data": "AAECAw==", "layer": "payload", "protocol_id": 17}}}))
	f.Add(genBody(f, map[string]any{"config.load.units": "octets", "config.order": "sequential", "config.duration": map[string]any{"time": map[string]any{"value": 1, "units": "milliseconds"}}}))
	f.Add(`{"items":[` + genBody(f, map[string]any{"id": "b1"}) + `]}`)
	// What OpenPerf's server takes beyond its schema, and its id rule.
	f.Add(genBody(f, map[string]any{"config.load.rate.period": "seconds", "config.duration": map[string]any{"time": map[string]any{"value": 2, "units": "minute"}}}))
	f.Add(genBody(f, map[string]any{"config.load.rate.period": "milliseconds", "config.traffic[0].packet.protocols": []any{
		map[string]any{"custom": map[string]any{"data": strings.Repeat("TG9yZW0g", 80), "layer": "ethernet"}}}}))
	f.Add(genBody(f, map[string]any{"id": "Not_Valid"}))
	f.Add(`{"items":[]}`)
	f.Add(`{"ids":["g",":bad:",""]}`)
	f.Add(`{"replace":"g","with":"h"}`)
	f.Add(`{"ids":["g"]}`)
	// Overflow and strict JSON.
	f.Add(genBody(f, map[string]any{"config.load.rate.value": int64(math.MaxInt64)}))
	f.Add(genBody(f, map[string]any{"config.traffic[0].signature.stream_id": int64(math.MaxUint32)}))
	f.Add(genBody(f, nil) + " x")
	f.Add(genBody(f, nil) + genBody(f, nil))
	f.Add(strings.Replace(genBody(f, nil), `"id":"g"`, `"id":"g","id":"h"`, 1))
	for _, s := range []string{`{}`, `[]`, `null`, `{"target_id":"0","config":{}}`} {
		f.Add(s)
	}
	h := newTestServer(f)
	f.Fuzz(func(t *testing.T, body string) {
		for _, target := range []struct{ method, path string }{
			{"POST", "/packet/generators"}, {"POST", "/packet/generators/x/bulk-create"},
			{"POST", "/packet/generators/x/toggle"}, {"POST", "/packet/generators/x/bulk-start"},
			{"POST", "/packet/generators/x/bulk-stop"}, {"POST", "/packet/generators/x/bulk-delete"},
		} {
			rec := do(h, target.method, target.path, body)
			if rec.Code >= 500 {
				t.Fatalf("%s %s %q: %d %s", target.method, target.path, body, rec.Code, rec.Body)
			}
		}
		// Keep the fixture small: stop and drop whatever got made.
		do(h, "POST", "/packet/generators/x/bulk-stop", `{"ids":["g","b1","h"]}`)
		do(h, "DELETE", "/packet/generators", "")
		do(h, "DELETE", "/packet/generator-results", "")
	})
}

// A port generator whose ethernet destination comes from a modifier needs
// no base destination: the frames carry the modifier's MACs.
func TestDestinationModifierNeedsNoBaseDestination(t *testing.T) {
	h := newTestServer(t)
	body := genBody(t, map[string]any{
		"config.traffic[0].packet.protocols[0].ethernet": map[string]any{"source": "02:00:00:00:00:01"},
		"config.traffic[0].packet.protocols[0].modifiers": map[string]any{"items": []any{map[string]any{
			"name": "destination", "permute": false, "mac": map[string]any{"list": []any{"02:00:00:00:00:aa", "02:00:00:00:00:bb"}}}}},
		"config.duration.frames": 100,
	})
	if rec := do(h, "POST", "/packet/generators", body); rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "POST", "/packet/captures", `{"id":"c","source_id":"1","config":{"mode":"buffer","buffer_size":1048576}}`); rec.Code != 201 {
		t.Fatalf("capture: %d %s", rec.Code, rec.Body)
	}
	var cr gen.PacketCaptureResult
	mustDecode(t, do(h, "POST", "/packet/captures/c/start", ""), &cr)
	if rec := do(h, "POST", "/packet/generators/g/start", ""); rec.Code != 201 {
		t.Fatalf("start: %d %s", rec.Code, rec.Body)
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		mustDecode(t, do(h, "GET", "/packet/capture-results/"+cr.Id, ""), &cr)
		if cr.Packets == 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("captured %d of 100 frames", cr.Packets)
		}
		time.Sleep(10 * time.Millisecond)
	}
	pcap := do(h, "GET", "/packet/capture-results/"+cr.Id+"/pcap", "").Body.Bytes()
	a := bytes.Count(pcap, []byte{2, 0, 0, 0, 0, 0xaa, 2, 0, 0, 0, 0, 1})
	b := bytes.Count(pcap, []byte{2, 0, 0, 0, 0, 0xbb, 2, 0, 0, 0, 0, 1})
	if a == 0 || b == 0 || a+b != 100 {
		t.Fatalf("frames to :aa %d, to :bb %d; want 100 between them, both used", a, b)
	}
}
