package rest

import (
	"strings"
	"testing"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/memory"
)

// refusedForBudget checks a 400 whose message names the budget's flag.
func refusedForBudget(t *testing.T, what string, code int, body string) {
	t.Helper()
	if code != 400 || !strings.Contains(body, memory.BudgetFlag) || !strings.Contains(body, "memory budget") {
		t.Fatalf("%s: %d %s, want a 400 naming the memory budget", what, code, body)
	}
}

// Captures are checked against the budget when they start, not when they
// are created (OpenPerf accepts a 1 TiB buffer at create and refuses it at
// start), and a result holds its buffer until it is deleted.
func TestCaptureBuffersAreBudgetedAtStart(t *testing.T) {
	h, _ := newTestServerBudget(t, 1, 1024, memory.NewBudget(64<<20))
	create := func(id string, size int64) {
		t.Helper()
		body := `{"id":"` + id + `","source_id":"1","config":{"mode":"buffer","buffer_size":` + itoa(int(size)) + `}}`
		if rec := do(h, "POST", "/packet/captures", body); rec.Code != 201 {
			t.Fatalf("create %s: %d %s", id, rec.Code, rec.Body)
		}
	}
	create("huge", 1<<40)
	rec := do(h, "POST", "/packet/captures/huge/start", "")
	refusedForBudget(t, "start a 1 TiB capture", rec.Code, rec.Body.String())
	if !strings.Contains(rec.Body.String(), "buffer_size") {
		t.Errorf("refusal does not name buffer_size: %s", rec.Body)
	}
	create("a", 32<<20) // 44 MiB with its records
	create("b", 32<<20)
	rec = do(h, "POST", "/packet/captures/a/start", "")
	if rec.Code != 201 {
		t.Fatalf("start a: %d %s", rec.Code, rec.Body)
	}
	var res gen.PacketCaptureResult
	mustDecode(t, rec, &res)
	rec = do(h, "POST", "/packet/captures/b/start", "")
	refusedForBudget(t, "start b while a holds its buffer", rec.Code, rec.Body.String())
	if rec := do(h, "POST", "/packet/captures/x/bulk-start", `{"ids":["b","huge"]}`); rec.Code != 400 {
		t.Fatalf("bulk-start over budget: %d %s", rec.Code, rec.Body)
	}
	// Stopped, a still holds its packets; deleted, its buffer is free.
	if rec := do(h, "POST", "/packet/captures/a/stop", ""); rec.Code != 204 {
		t.Fatalf("stop a: %d %s", rec.Code, rec.Body)
	}
	rec = do(h, "POST", "/packet/captures/b/start", "")
	refusedForBudget(t, "start b while a's result is kept", rec.Code, rec.Body.String())
	t.Logf("refusal: %s", rec.Body)
	if rec := do(h, "DELETE", "/packet/capture-results/"+res.Id, ""); rec.Code != 204 {
		t.Fatalf("delete result: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "POST", "/packet/captures/b/start", ""); rec.Code != 201 {
		t.Fatalf("start b after a's result went: %d %s", rec.Code, rec.Body)
	}
}

// Without a budget a buffer over the maximum is still created and refused
// at start.
func TestCaptureOverMaximumIsRefusedAtStart(t *testing.T) {
	h := newTestServer(t)
	if rec := do(h, "POST", "/packet/captures", `{"id":"c","source_id":"1","config":{"mode":"buffer","buffer_size":1099511627776}}`); rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "POST", "/packet/captures/c/start", ""); rec.Code != 400 || !strings.Contains(rec.Body.String(), "buffer size") {
		t.Fatalf("start: %d %s, want a 400 naming the buffer size", rec.Code, rec.Body)
	}
}

// An analyzer reserves its flow limit while it runs and only the flows it
// has once stopped.
func TestAnalyzerFlowTablesAreBudgeted(t *testing.T) {
	// The default flow limit, 65536 flows of 1 KiB, is 64 MiB.
	h, _ := newTestServerBudget(t, 1, 1024, memory.NewBudget(100<<20))
	for _, id := range []string{"a1", "a2"} {
		if rec := do(h, "POST", "/packet/analyzers", `{"id":"`+id+`","source_id":"1","config":{"protocol_counters":["ethernet"],"flow_counters":["frame_count"]}}`); rec.Code != 201 {
			t.Fatalf("create %s: %d %s", id, rec.Code, rec.Body)
		}
	}
	if rec := do(h, "POST", "/packet/analyzers/a1/start", ""); rec.Code != 201 {
		t.Fatalf("start a1: %d %s", rec.Code, rec.Body)
	}
	rec := do(h, "POST", "/packet/analyzers/a2/start", "")
	refusedForBudget(t, "start a2 while a1 runs", rec.Code, rec.Body.String())
	if rec := do(h, "POST", "/packet/analyzers/a1/stop", ""); rec.Code != 204 {
		t.Fatalf("stop a1: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "POST", "/packet/analyzers/a2/start", ""); rec.Code != 201 {
		t.Fatalf("start a2 once a1 stopped: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "POST", "/packet/analyzers/x/bulk-start", `{"ids":["a1"]}`); rec.Code != 400 {
		t.Fatalf("bulk-start a1 while a2 runs: %d %s", rec.Code, rec.Body)
	}
}

// A generator's compiled flows are budgeted at create, a run's flow state
// at start.
func TestGeneratorFlowsAreBudgeted(t *testing.T) {
	// genBody has 12 flows: 192 bytes compiled, 96 per run.
	h, _ := newTestServerBudget(t, 1, 1024, memory.NewBudget(100))
	rec := do(h, "POST", "/packet/generators", genBody(t, nil))
	refusedForBudget(t, "create", rec.Code, rec.Body.String())

	h, _ = newTestServerBudget(t, 1, 1024, memory.NewBudget(250))
	if rec := do(h, "POST", "/packet/generators", genBody(t, nil)); rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	rec = do(h, "POST", "/packet/generators/g/start", "")
	refusedForBudget(t, "start", rec.Code, rec.Body.String())
	if rec := do(h, "DELETE", "/packet/generators/g", ""); rec.Code != 204 {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "POST", "/packet/generators", genBody(t, nil)); rec.Code != 201 {
		t.Fatalf("create after delete released the budget: %d %s", rec.Code, rec.Body)
	}
}
