package rest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// OpenPerf's TVLP contract (its api/schema/v1/modules/tvlp.yaml, read
// 2026-12-05) as facts a client relies on: operations and their success
// codes, the fields of each object with their types, required fields and
// enums. The spec we serve must keep every one of them; it may add x_
// fields. Objects OpenPerf writes inline are named here as our spec names
// them.
var (
	tvlpOperations = []struct{ method, path, id, code string }{
		{"get", "/tvlp", "ListTvlpConfigurations", "200"},
		{"post", "/tvlp", "CreateTvlpConfiguration", "201"},
		{"get", "/tvlp/{id}", "GetTvlpConfiguration", "200"},
		{"delete", "/tvlp/{id}", "DeleteTvlpConfiguration", "204"},
		{"post", "/tvlp/{id}/start", "StartTvlpConfiguration", "201"},
		{"post", "/tvlp/{id}/stop", "StopTvlpConfiguration", "204"},
		{"get", "/tvlp-results", "ListTvlpResults", "200"},
		{"get", "/tvlp-results/{id}", "GetTvlpResult", "200"},
		{"delete", "/tvlp-results/{id}", "DeleteTvlpResult", "204"},
	}
	// field: "type" or "type/format"; "$Name": an object of that schema;
	// "[]$Name": an array of them.
	tvlpObjects = map[string]map[string]string{
		"TvlpConfiguration": {"id": "string", "state": "string", "time": "$TvlpTime",
			"profile": "$TvlpProfile", "error": "string"},
		"TvlpTime": {"start": "string/date-time", "length": "integer/int64", "offset": "integer/int64"},
		"TvlpProfile": {"packet": "$TvlpPacketSeries", "block": "object", "cpu": "object",
			"memory": "object", "network": "object"},
		"TvlpPacketSeries": {"series": "[]$TvlpPacketStep"},
		"TvlpPacketStep":   {"target_id": "string", "length": "integer/int64", "config": "$PacketGeneratorConfig"},
		"TvlpResult": {"id": "string", "tvlp_id": "string", "packet": "[]$PacketGeneratorResult",
			"memory": "array", "block": "array", "cpu": "array", "network": "array"},
		"TvlpStartConfiguration": {"start_time": "string/date-time", "packet": "$TvlpStartSeriesConfiguration",
			"cpu": "object", "memory": "object", "block": "object", "network": "object"},
		"TvlpStartSeriesConfiguration": {"load_scale": "number/double", "time_scale": "number/double",
			"dynamic_results": "object"},
	}
	// What OpenPerf requires of the objects its server returns; our spec
	// may require less of a request (the server fills id, state and time).
	tvlpResponseRequired = map[string][]string{
		"TvlpConfiguration": {"id", "state", "time", "profile"},
		"TvlpTime":          {"length"},
		"TvlpPacketSeries":  {"series"},
		"TvlpPacketStep":    {"target_id", "length", "config"},
		"TvlpResult":        {"id", "tvlp_id"},
	}
	tvlpStates = []string{"ready", "countdown", "running", "error"}
)

func TestTvlpSpecKeepsOpenPerfsContract(t *testing.T) {
	h := newTestServer(t)
	var spec map[string]any
	if err := json.Unmarshal(get(t, h, "/openapi.json").Body.Bytes(), &spec); err != nil {
		t.Fatal(err)
	}
	paths, _ := spec["paths"].(map[string]any)
	for _, op := range tvlpOperations {
		o, _ := dig(paths, op.path, op.method).(map[string]any)
		if o == nil {
			t.Errorf("%s %s: missing", op.method, op.path)
			continue
		}
		if o["operationId"] != op.id {
			t.Errorf("%s %s: operationId %v, want %s", op.method, op.path, o["operationId"], op.id)
		}
		if dig(o, "responses", op.code) == nil {
			t.Errorf("%s %s: no %s response", op.method, op.path, op.code)
		}
	}
	schemas, _ := dig(spec, "components", "schemas").(map[string]any)
	for name, fields := range tvlpObjects {
		s, _ := schemas[name].(map[string]any)
		if s == nil {
			t.Errorf("schema %s: missing", name)
			continue
		}
		props, _ := s["properties"].(map[string]any)
		for field, want := range fields {
			p, _ := props[field].(map[string]any)
			if p == nil {
				t.Errorf("%s.%s: missing", name, field)
				continue
			}
			if got := shape(schemas, p); got != want && !(want == "object" && strings.HasPrefix(got, "$")) &&
				!(want == "array" && strings.HasPrefix(got, "[]")) {
				t.Errorf("%s.%s: %s, want %s", name, field, got, want)
			}
		}
	}
	enum, _ := dig(schemas, "TvlpConfiguration", "properties", "state", "enum").([]any)
	var states []string
	for _, e := range enum {
		states = append(states, e.(string))
	}
	slices.Sort(states)
	want := slices.Sorted(slices.Values(tvlpStates))
	if !slices.Equal(states, want) {
		t.Errorf("TvlpConfiguration.state enum %v, want %v", states, want)
	}
}

// A profile and a result as the server returns them hold every field
// OpenPerf's schema requires, and a start body in OpenPerf's client's
// shape (every module's series, dynamic results) is taken.
func TestTvlpResponsesHoldWhatOpenPerfRequires(t *testing.T) {
	h := newTestServer(t)
	if rec := do(h, "POST", "/tvlp", tvlpBody(t, "c", 50e6, 1000)); rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var conf map[string]any
	mustDecode(t, do(h, "GET", "/tvlp/c", ""), &conf)
	requireFields(t, "TvlpConfiguration", conf)
	requireFields(t, "TvlpTime", conf["time"].(map[string]any))
	series := dig(conf, "profile", "packet").(map[string]any)
	requireFields(t, "TvlpPacketSeries", series)
	requireFields(t, "TvlpPacketStep", series["series"].([]any)[0].(map[string]any))
	if !slices.Contains(tvlpStates, conf["state"].(string)) {
		t.Errorf("state %v", conf["state"])
	}

	start := `{"packet":{"load_scale":1.0,"time_scale":1.0,"dynamic_results":{"tdigests":[],"thresholds":[]}}}`
	rec := do(h, "POST", "/tvlp/c/start", start)
	if rec.Code != 201 {
		t.Fatalf("start in OpenPerf's client's shape: %d %s", rec.Code, rec.Body)
	}
	var res map[string]any
	mustDecode(t, rec, &res)
	requireFields(t, "TvlpResult", res)
	var list []map[string]any
	mustDecode(t, do(h, "GET", "/tvlp-results", ""), &list)
	if len(list) != 1 {
		t.Fatalf("%d results", len(list))
	}
	requireFields(t, "TvlpResult", list[0])
}

func requireFields(t *testing.T, schema string, obj map[string]any) {
	t.Helper()
	for _, f := range tvlpResponseRequired[schema] {
		if _, ok := obj[f]; !ok {
			t.Errorf("%s: no %q in %v", schema, f, obj)
		}
	}
}

// shape describes a property schema as tvlpObjects writes it.
func shape(schemas map[string]any, p map[string]any) string {
	if ref, ok := p["$ref"].(string); ok {
		return "$" + strings.TrimPrefix(ref, "#/components/schemas/")
	}
	if all, ok := p["allOf"].([]any); ok && len(all) == 1 {
		return shape(schemas, all[0].(map[string]any))
	}
	typ, _ := p["type"].(string)
	if typ == "array" {
		if items, ok := p["items"].(map[string]any); ok {
			if s := shape(schemas, items); strings.HasPrefix(s, "$") {
				return "[]" + s
			}
		}
		return "array"
	}
	if f, ok := p["format"].(string); ok {
		return typ + "/" + f
	}
	return typ
}

// dig walks nested maps by key.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
