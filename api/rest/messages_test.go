package rest

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/openperfd/openperfd/memory"
)

// The error messages the resources' operations answer are part of the
// API: clients (OpenPerf's suite among them) match on them. These tests
// pin the exact text of each, with result ids written <uuid>.

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// exchange is one request and the answer it must get: msg "" means any
// body (a success, or an error whose text is not pinned).
type exchange struct {
	method, path, body string
	code               int
	msg                string
}

func runScript(t *testing.T, budget *memory.Budget, steps []exchange) {
	t.Helper()
	h, _ := newTestServerBudget(t, 1, 1024, budget)
	last := ""
	for _, s := range steps {
		path := strings.ReplaceAll(s.path, "$r", last)
		body := strings.ReplaceAll(s.body, "$r", last)
		rec := do(h, s.method, path, body)
		var e struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			ID      string `json:"id"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code == 201 && e.ID != "" && strings.HasSuffix(s.path, "/start") {
			last = e.ID
		}
		msg := uuidRE.ReplaceAllString(e.Message, "<uuid>")
		if rec.Code != s.code || (s.msg != "" && msg != s.msg) {
			t.Errorf("%s %s %s:\n got %d %q\nwant %d %q", s.method, s.path, s.body, rec.Code, msg, s.code, s.msg)
		}
	}
}

func anBody(id, src string) string {
	return `{"id":"` + id + `","source_id":"` + src + `","config":{"protocol_counters":["ethernet"],"flow_counters":["frame_count"]}}`
}

func capBody(id, src string, size int) string {
	return `{"id":"` + id + `","source_id":"` + src + `","config":{"mode":"buffer","buffer_size":` + itoa(size) + `}}`
}

func items(bodies ...string) string { return `{"items":[` + strings.Join(bodies, ",") + `]}` }

func TestAnalyzerErrorMessages(t *testing.T) {
	runScript(t, nil, []exchange{
		{"POST", "/packet/analyzers", anBody("a", "nope"), 400, `source_id: "nope" is neither a port nor an interface: invalid analyzer config`},
		{"POST", "/packet/analyzers/x/bulk-create", items(anBody("a", "0"), anBody("b", "nope")), 400, `items[1]: source_id: "nope" is neither a port nor an interface: invalid analyzer config`},
		{"POST", "/packet/analyzers/x/bulk-create", items(anBody("a", "0"), anBody("a", "1")), 400, `items[1].id: "a" already exists: in use`},
		{"POST", "/packet/analyzers", anBody("a", "0"), 201, ""},
		{"POST", "/packet/analyzers", anBody("a", "0"), 400, `id: "a" already exists: in use`},
		{"POST", "/packet/analyzers/x/bulk-create", items(anBody("a", "0")), 400, `items[0].id: "a" already exists: in use`},
		{"POST", "/packet/analyzers/x/bulk-create", items(anBody("b", "0"), anBody("a", "1")), 400, `items[1].id: "a" already exists: in use`},
		{"GET", "/packet/analyzers/nope", "", 404, `analyzer nope: not found`},
		{"POST", "/packet/analyzers/nope/start", "", 404, `analyzer nope: not found`},
		{"POST", "/packet/analyzers/nope/stop", "", 204, ""},
		{"POST", "/packet/analyzers/a/reset", "", 400, `analyzer a is not running: in use`},
		{"POST", "/packet/analyzers/nope/reset", "", 404, `analyzer nope: not found`},
		{"POST", "/packet/analyzers/a/start", "", 201, ""},
		{"POST", "/packet/analyzers/a/start", "", 400, `analyzer a is already running: in use`},
		{"POST", "/packet/analyzers", anBody("b", "1"), 201, ""},
		{"POST", "/packet/analyzers/x/bulk-start", `{"ids":["b","b"]}`, 400, `ids: b is listed twice: invalid analyzer config`},
		{"POST", "/packet/analyzers/x/bulk-start", `{"ids":["b","nope"]}`, 404, `analyzer nope: not found`},
		{"DELETE", "/packet/analyzers/a", "", 400, `analyzer a is running; stop it first: in use`},
		{"DELETE", "/packet/analyzer-results/$r", "", 400, `analyzer result <uuid> is active; stop analyzer a first: in use`},
		{"GET", "/packet/analyzer-results/nope", "", 404, `analyzer result nope: not found`},
		{"GET", "/packet/rx-flows/nope-s1-2", "", 404, `rx flow nope-s1-2: not found`},
		{"POST", "/packet/analyzers/x/bulk-delete", `{"ids":["a","b","nope"]}`, 204, ""},
		{"GET", "/packet/analyzers/a", "", 200, ""},
		{"GET", "/packet/analyzers/b", "", 404, `analyzer b: not found`},
		{"POST", "/packet/analyzers/a/stop", "", 204, ""},
		{"DELETE", "/packet/analyzer-results/$r", "", 204, ""},
		{"DELETE", "/packet/analyzers/a", "", 204, ""},
	})
}

func TestAnalyzerBudgetMessages(t *testing.T) {
	runScript(t, memory.NewBudget(100<<20), []exchange{
		{"POST", "/packet/analyzers/x/bulk-create", items(anBody("a1", "0"), anBody("a2", "1")), 200, ""},
		{"POST", "/packet/analyzers/a1/start", "", 201, ""},
		{"POST", "/packet/analyzers/a2/start", "", 400, `flow table of 65536 flows: analyzer a2 (result <uuid>) needs 64.0 MiB, but only 36.0 MiB of the 100.0 MiB memory budget is free (--modules.packetio.memory-budget): over the memory budget: invalid analyzer config`},
		{"POST", "/packet/analyzers/a1/stop", "", 204, ""},
		{"POST", "/packet/analyzers/x/bulk-start", `{"ids":["a1","a2"]}`, 400, `flow table of 65536 flows: analyzer a2 (result <uuid>) needs 64.0 MiB, but only 36.0 MiB of the 100.0 MiB memory budget is free (--modules.packetio.memory-budget): over the memory budget: invalid analyzer config`},
		{"GET", "/packet/analyzer-results?analyzer_id=a1", "", 200, ""},
		{"POST", "/packet/analyzers/a2/start", "", 201, ""},
	})
}

func TestCaptureErrorMessages(t *testing.T) {
	runScript(t, nil, []exchange{
		{"POST", "/packet/captures", capBody("c", "nope", 65536), 400, `source_id: "nope" is neither a port nor an interface: invalid capture configuration`},
		{"POST", "/packet/captures/x/bulk-create", items(capBody("c", "0", 65536), capBody("d", "nope", 65536)), 400, `items[1]: source_id: "nope" is neither a port nor an interface: invalid capture configuration`},
		{"POST", "/packet/captures/x/bulk-create", items(capBody("c", "0", 65536), capBody("d", "0", 100)), 400, `invalid request: items[1].config.buffer_size: number must be at least 4096`},
		{"POST", "/packet/captures/x/bulk-create", items(capBody("c", "0", 65536), capBody("c", "1", 65536)), 400, `items[1].id: "c" already exists: in use`},
		{"POST", "/packet/captures", capBody("c", "0", 65536), 201, ""},
		{"POST", "/packet/captures", capBody("c", "0", 65536), 400, `id: "c" already exists: in use`},
		{"GET", "/packet/captures/nope", "", 404, `capture nope: not found`},
		{"POST", "/packet/captures/nope/start", "", 404, `capture nope: not found`},
		{"POST", "/packet/captures/nope/stop", "", 204, ""},
		{"POST", "/packet/captures", capBody("huge", "1", 1<<40), 201, ""},
		{"POST", "/packet/captures/huge/start", "", 400, `capture huge: new capture "1": invalid capture configuration: buffer size 1099511627776 not in 4096..2147483648`},
		{"POST", "/packet/captures/x/bulk-start", `{"ids":["c","huge"]}`, 400, `capture huge: new capture "1": invalid capture configuration: buffer size 1099511627776 not in 4096..2147483648`},
		{"POST", "/packet/captures/x/bulk-stop", `{"ids":["c"]}`, 204, ""},
		{"POST", "/packet/captures/c/start", "", 201, ""},
		{"POST", "/packet/captures/c/start", "", 400, `capture c is already running: in use`},
		{"POST", "/packet/captures", capBody("d", "1", 65536), 201, ""},
		{"POST", "/packet/captures/x/bulk-start", `{"ids":["d","d"]}`, 400, `ids: d is listed twice: invalid capture configuration`},
		{"POST", "/packet/captures/x/bulk-start", `{"ids":["d","nope"]}`, 404, `capture nope: not found`},
		{"DELETE", "/packet/captures/c", "", 400, `capture c is running; stop it first: in use`},
		{"DELETE", "/packet/capture-results/$r", "", 400, `capture result <uuid> is active; stop capture c first: in use`},
		{"GET", "/packet/capture-results/nope", "", 404, `capture result nope: not found`},
		{"GET", "/packet/capture-results/nope/pcap", "", 404, `capture result nope: not found`},
		{"GET", "/packet/capture-results/$r/pcap?packet_start=5&packet_end=2", "", 400, `packet_start 5 is after packet_end 2: invalid capture configuration`},
		{"POST", "/packet/captures/x/bulk-delete", `{"ids":["c","d","nope"]}`, 204, ""},
		{"GET", "/packet/captures/c", "", 200, ""},
		{"GET", "/packet/captures/d", "", 404, `capture d: not found`},
		{"POST", "/packet/captures/c/stop", "", 204, ""},
		{"DELETE", "/packet/capture-results/$r", "", 204, ""},
		{"DELETE", "/packet/captures/c", "", 204, ""},
	})
}

func TestCaptureBudgetMessages(t *testing.T) {
	runScript(t, memory.NewBudget(64<<20), []exchange{
		{"POST", "/packet/captures/x/bulk-create", items(capBody("a", "0", 32<<20), capBody("b", "1", 32<<20)), 200, ""},
		{"POST", "/packet/captures/x/bulk-start", `{"ids":["a","b"]}`, 400, `config.buffer_size 33554432: capture b (result <uuid>) needs 44.0 MiB, but only 20.0 MiB of the 64.0 MiB memory budget is free (--modules.packetio.memory-budget): over the memory budget: invalid capture configuration`},
		{"POST", "/packet/captures/a/start", "", 201, ""},
		{"POST", "/packet/captures/b/start", "", 400, `config.buffer_size 33554432: capture b (result <uuid>) needs 44.0 MiB, but only 20.0 MiB of the 64.0 MiB memory budget is free (--modules.packetio.memory-budget): over the memory budget: invalid capture configuration`},
		{"POST", "/packet/captures", capBody("huge", "1", 1<<40), 201, ""},
		{"POST", "/packet/captures/huge/start", "", 400, `config.buffer_size 1099511627776: capture huge (result <uuid>) needs 1.4 TiB, but only 20.0 MiB of the 64.0 MiB memory budget is free (--modules.packetio.memory-budget): over the memory budget: invalid capture configuration`},
		{"GET", "/packet/capture-results?capture_id=b", "", 200, ""},
	})
}

func TestGeneratorErrorMessages(t *testing.T) {
	// Continuous: a generator of 1000 frames ends within the script on
	// a loaded machine, and the "is running" answers then differ.
	g := func(id, target string) string {
		return genBody(t, map[string]any{"id": id, "target_id": target, "config.duration": map[string]any{"continuous": true}})
	}
	noDst := func(id string) string {
		return genBody(t, map[string]any{"id": id, "config.traffic[0].packet.protocols[0].ethernet": map[string]any{}})
	}
	runScript(t, nil, []exchange{
		{"POST", "/packet/generators", g("g", "nope"), 400, `target_id: "nope" is neither a port nor an interface`},
		{"POST", "/packet/generators/x/bulk-create", items(g("g", "0"), g("h", "nope")), 400, `items[1].target_id: "nope" is neither a port nor an interface`},
		{"POST", "/packet/generators", noDst("g"), 400, `config.traffic[0].packet.protocols[0].ethernet.destination: required when the target is a port (only generators on interfaces learn destination MACs)`},
		{"POST", "/packet/generators/x/bulk-create", items(g("g", "0"), noDst("h")), 400, `items[1].config.traffic[0].packet.protocols[0].ethernet.destination: required when the target is a port (only generators on interfaces learn destination MACs)`},
		{"POST", "/packet/generators/x/bulk-create", items(g("g", "0"), g("g", "1")), 400, `items[1].id: "g" already exists: in use`},
		{"POST", "/packet/generators", g("g", "0"), 201, ""},
		{"POST", "/packet/generators", g("g", "0"), 400, `id: "g" already exists: in use`},
		{"POST", "/packet/generators/x/bulk-create", items(g("h", "nope")), 400, `items[0].target_id: "nope" is neither a port nor an interface`},
		{"GET", "/packet/generators/nope", "", 404, `generator nope: not found`},
		{"POST", "/packet/generators/nope/start", "", 404, `generator nope: not found`},
		{"POST", "/packet/generators/nope/stop", "", 204, ""},
		{"GET", "/packet/generators/g/learning", "", 400, `learning: generator g is on port 0: only generators on interfaces learn`},
		{"POST", "/packet/generators/g/learning/stop", "", 400, `learning: generator g is on port 0: only generators on interfaces learn`},
		{"POST", "/packet/generators/nope/learning/start", "", 404, `generator nope: not found`},
		{"POST", "/packet/generators/x/toggle", `{"replace":"g","with":"nope"}`, 400, `replace: generator g is not running`},
		{"POST", "/packet/generators/x/toggle", `{"replace":"nope","with":"g"}`, 404, `generator nope: not found`},
		{"POST", "/packet/generators/g/start", "", 201, ""},
		{"POST", "/packet/generators/g/start", "", 400, `generator g is already running: in use`},
		{"POST", "/packet/generators", g("h", "1"), 201, ""},
		{"POST", "/packet/generators/x/bulk-start", `{"ids":["h","h"]}`, 400, `ids: h is listed twice`},
		{"POST", "/packet/generators/x/bulk-start", `{"ids":["h","nope"]}`, 404, `generator nope: not found`},
		{"DELETE", "/packet/generators/g", "", 400, `generator g is running; stop it first: in use`},
		{"DELETE", "/packet/generator-results/$r", "", 400, `generator result <uuid> is active; stop generator g first: in use`},
		{"GET", "/packet/generator-results/nope", "", 404, `generator result nope: not found`},
		{"GET", "/packet/tx-flows/nope-1", "", 404, `tx flow nope-1: not found`},
		{"POST", "/packet/generators/x/bulk-delete", `{"ids":["g","h","nope"]}`, 204, ""},
		{"GET", "/packet/generators/g", "", 200, ""},
		{"GET", "/packet/generators/h", "", 404, `generator h: not found`},
		{"POST", "/packet/generators/g/stop", "", 204, ""},
		{"DELETE", "/packet/generator-results/$r", "", 204, ""},
		{"DELETE", "/packet/generators/g", "", 204, ""},
	})
}

func TestGeneratorBudgetMessages(t *testing.T) {
	// genBody has 12 flows: 192 bytes compiled, 96 per run.
	g := func(id string) string { return genBody(t, map[string]any{"id": id}) }
	runScript(t, memory.NewBudget(300), []exchange{
		{"POST", "/packet/generators", g("g"), 201, ""},
		{"POST", "/packet/generators", g("h"), 400, `12 flows: generator h needs 192 B, but only 108 B of the 300 B memory budget is free (--modules.packetio.memory-budget): over the memory budget: generator: invalid traffic definition`},
		{"POST", "/packet/generators/x/bulk-create", items(g("h"), g("i")), 400, `items[0]: 12 flows: generator h needs 192 B, but only 108 B of the 300 B memory budget is free (--modules.packetio.memory-budget): over the memory budget: generator: invalid traffic definition`},
		{"POST", "/packet/generators/g/start", "", 201, ""},
		{"POST", "/packet/generators/g/stop", "", 204, ""},
		{"POST", "/packet/generators/g/start", "", 400, `12 flows: generator g (result <uuid>) needs 96 B, but only 12 B of the 300 B memory budget is free (--modules.packetio.memory-budget): over the memory budget: generator: invalid traffic definition`},
		{"DELETE", "/packet/generator-results", "", 204, ""},
		{"POST", "/packet/generators/g/start", "", 201, ""},
	})
}

func TestPortAndInterfaceErrorMessages(t *testing.T) {
	bond := `{"id":"bond0","kind":"bond","config":{"bond":{"mode":"lag_802_3_ad","ports":["0","1"]}}}`
	runScript(t, nil, []exchange{
		{"GET", "/ports/nope", "", 404, `port nope: not found`},
		{"DELETE", "/ports/0", "", 400, `port 0 is a dpdk port owned by the driver and cannot be deleted: invalid`},
		{"POST", "/ports", bond, 201, ""},
		{"POST", "/ports", bond, 400, `port bond0 already exists: invalid`},
		{"GET", "/interfaces/nope", "", 404, `interface nope: not found`},
		{"GET", "/stacks/nope", "", 404, `stack nope: not found`},
		{"POST", "/interfaces", `{"id":"i","port_id":"nope","config":{"protocols":[{"eth":{"mac_address":"02:00:00:00:00:01"}}]}}`, 400, `port_id: port "nope" does not exist: invalid`},
	})
}
