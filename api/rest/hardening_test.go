package rest

import (
	"encoding/json"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestStateChangesNeedJSON(t *testing.T) {
	h := newTestServer(t)
	for _, tc := range []struct {
		name, method, path, ct, body string
		want415                      bool
	}{
		{"form post without body (a web page)", "POST", "/packet/generators/x/bulk-start", "application/x-www-form-urlencoded", "", true},
		{"text body", "POST", "/packet/generators/x/bulk-start", "text/plain", `{"ids":[]}`, true},
		{"untyped body (a blob)", "POST", "/packet/generators/x/bulk-start", "", `{"ids":[]}`, true},
		{"multipart", "DELETE", "/packet/generators", "multipart/form-data; boundary=x", "", true},
		{"no body, no type (curl -X POST, opctl)", "POST", "/packet/generators/x/bulk-start", "", "", false},
		{"no body, JSON type (OpenPerf's client)", "POST", "/packet/generators/x/bulk-start", "application/json", "", false},
		{"JSON with charset", "POST", "/packet/generators/x/bulk-start", "application/json; charset=utf-8", `{"ids":[]}`, false},
		{"GET with any type", "GET", "/version", "text/plain", "", false},
	} {
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		if tc.ct != "" {
			req.Header.Set("Content-Type", tc.ct)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if got := rec.Code == 415; got != tc.want415 {
			t.Errorf("%s: %d %s", tc.name, rec.Code, rec.Body)
		}
	}
}

func TestBodiesMustBeExactlyOneJSONValueWithoutDuplicateKeys(t *testing.T) {
	h := newTestServer(t)
	for _, tc := range []struct {
		name, body, want string
	}{
		{"trailing garbage", `{"ids":[]} x`, "unexpected data after the JSON value"},
		{"two objects", `{"ids":[]}{"ids":["a"]}`, "more than one JSON value"},
		{"two objects apart", "{\"ids\":[]}\n{\"ids\":[]}", "more than one JSON value"},
		{"duplicate top-level key", `{"ids":[],"ids":["a"]}`, `duplicate key \"ids\" in the object at the top level`},
		{"duplicate key spelt with an escape", `{"ids":[],"\u0069ds":["a"]}`, `duplicate key \"ids\"`},
		{"not JSON", `{"ids":`, "not valid JSON"},
	} {
		rec := do(h, "POST", "/packet/generators/x/bulk-start", tc.body)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: %d %s, want 400 with %q", tc.name, rec.Code, rec.Body, tc.want)
		}
	}
	rec := do(h, "POST", "/interfaces", `{"port_id":"0","config":{"protocols":[{"eth":{"mac_address":"02:00:00:00:00:0a"}},
		{"ipv4":{"method":"static","static":{"address":"10.0.0.1","prefix_length":24,"prefix_length":16}}}]}}`)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `duplicate key \"prefix_length\" in the object at config.protocols[1].ipv4.static`) {
		t.Errorf("nested duplicate: %d %s", rec.Code, rec.Body)
	}
}

func TestFindDuplicateKey(t *testing.T) {
	many := func(dup bool) string {
		var sb strings.Builder
		sb.WriteString(`{"x":{"k":1},"y":[{"k":1},{"k":2}],"big":{`)
		for i := range 40 {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(`"k` + strings.Repeat("z", i) + `":1`)
		}
		if dup {
			sb.WriteString(`,"kzzz":2`)
		}
		sb.WriteString(`}}`)
		return sb.String()
	}
	for _, tc := range []struct {
		body string
		want string // "" for no error
	}{
		{`{}`, ""}, {`[]`, ""}, {`"a"`, ""}, {`{"a":{"a":{"a":1}}}`, ""},
		{`{"a":1,"b":{"a":2},"c":[{"a":1,"b":2},{"a":1}]}`, ""},
		{`{"a":"}\"{","b":"\\"}`, ""},
		{`{"a":[{"b":1,"b":2}]}`, `duplicate key "b" in the object at a[0]`},
		{`[{"a":1},{"a":1,"a":1}]`, `duplicate key "a" in the object at [1]`},
		{many(false), ""},
		{many(true), `duplicate key "kzzz" in the object at big`},
	} {
		err := checkStrictJSON([]byte(tc.body))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.body, err)
		case tc.want != "" && (err == nil || err.Error() != tc.want):
			t.Errorf("%.60s: %v, want %s", tc.body, err, tc.want)
		}
	}
}

func TestOverflowingInputsAreRefused(t *testing.T) {
	h := newTestServer(t)
	for _, tc := range []struct {
		name   string
		tweaks map[string]any
		want   string // "" for 201
	}{
		{"int64 max rate", map[string]any{"config.load.rate.value": int64(math.MaxInt64)}, "config.load.rate.value: 9223372036854775807 per second"},
		{"1e10 frames a millisecond", map[string]any{"config.load.rate.value": int64(1e10), "config.load.rate.period": "millisecond"}, "over the limit"},
		{"1e12 octets a second", map[string]any{"config.load.rate.value": int64(1e12), "config.load.units": "octets"}, ""},
		{"2e12 octets a second", map[string]any{"config.load.rate.value": int64(2e12), "config.load.units": "octets"}, "octets a second, over the limit"},
		{"1e10 frames a second", map[string]any{"config.load.rate.value": int64(1e10)}, ""},
		{"stream ids past 2^32-1", map[string]any{"config.traffic[0].signature.stream_id": int64(math.MaxUint32)},
			"config.traffic[0].signature.stream_id: 4294967295 with 12 flows would run past 4294967295"},
		{"last stream id 2^32-1", map[string]any{"config.traffic[0].signature.stream_id": int64(math.MaxUint32 - 11)}, ""},
	} {
		rec := do(h, "POST", "/packet/generators", genBody(t, tc.tweaks))
		if tc.want == "" {
			if rec.Code != 201 {
				t.Errorf("%s: %d %s, want 201", tc.name, rec.Code, rec.Body)
			}
			do(h, "DELETE", "/packet/generators/g", "")
			continue
		}
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: %d %s, want 400 with %q", tc.name, rec.Code, rec.Body, tc.want)
		}
	}
}

func TestLinkSpeedsAreDPDKs(t *testing.T) {
	h := newTestServer(t)
	put := func(speed string) (int, string) {
		rec := do(h, "PUT", "/ports/0", `{"id":"0","kind":"dpdk","config":{"dpdk":{"link":{"auto_negotiation":false,"speed":`+speed+`,"duplex":"full"}}}}`)
		return rec.Code, rec.Body.String()
	}
	for _, s := range []string{"1000000000000000000", "0", "-1", "12345", "400000"} {
		if code, body := put(s); code != 400 || !strings.Contains(body, "config.dpdk.link.speed") {
			t.Errorf("speed %s: %d %s, want 400 naming the field", s, code, body)
		}
	}
	for _, s := range []string{"10", "1000", "10000", "100000"} {
		if code, body := put(s); code != 200 {
			t.Errorf("speed %s: %d %s, want 200", s, code, body)
		}
	}
}

func TestAProtocolEntryHoldsOneLayer(t *testing.T) {
	h := newTestServer(t)
	for _, protos := range []string{
		`[{"eth":{"mac_address":"02:00:00:00:00:0a"},"ipv4":{"method":"static","static":{"address":"10.0.0.1","prefix_length":24}}}]`,
		`[{"eth":{"mac_address":"02:00:00:00:00:0a"}},{"ipv4":{"method":"static","static":{"address":"10.0.0.1","prefix_length":24}},"ipv6":{"method":"static","static":{"address":"fd00::1","prefix_length":64}}}]`,
		`[{"eth":{"mac_address":"02:00:00:00:00:0a"}},{}]`,
	} {
		rec := do(h, "POST", "/interfaces", `{"port_id":"0","config":{"protocols":`+protos+`}}`)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "exactly one of eth, ipv4, ipv6 must be set") {
			t.Errorf("%s: %d %s", protos, rec.Code, rec.Body)
		}
	}
}

func TestCountersSaturate(t *testing.T) {
	for _, tc := range []struct {
		in   uint64
		want int64
	}{{0, 0}, {math.MaxInt64, math.MaxInt64}, {math.MaxInt64 + 1, math.MaxInt64}, {math.MaxUint64, math.MaxInt64}} {
		if got := sat64(tc.in); got != tc.want {
			t.Errorf("sat64(%d) = %d", tc.in, got)
		}
	}
}

// BenchmarkStrictJSONBulkCreate checks a bulk-create of 100k interfaces
// (about 20 MB), the largest body users send.
func BenchmarkStrictJSONBulkCreate(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"items":[`)
	for i := range 100000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"id":"interface-` + strings.Repeat("0", 6) + `","port_id":"0","config":{"protocols":[{"eth":{"mac_address":"02:00:00:00:00:0a"}},{"ipv4":{"method":"static","static":{"address":"10.0.0.1","prefix_length":24,"gateway":"10.0.0.254"}}}]}}`)
	}
	sb.WriteString(`]}`)
	body := []byte(sb.String())
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := checkStrictJSON(body); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzStrictJSON checks checkStrictJSON against a slow reference built on
// encoding/json's tokenizer: the same bodies pass and fail.
func FuzzStrictJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"a":2}`, `{"a":{"b":1},"b":{"a":1}}`, `[{"a":1},{"a":1}]`, `{"a":1} {}`,
		`{"\u0061":1,"a":2}`, `{"a\\":1,"a":2}`, `{"a":"\"}{"}`, ` 1 `, `{"a":[1,2,{"c":[]}],"b":null}`, `{"a":1,}`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got := checkStrictJSON([]byte(body)) == nil
		if want := referenceStrict(body); got != want {
			t.Fatalf("checkStrictJSON(%q) ok=%v, reference says %v", body, got, want)
		}
	})
}

// referenceStrict is checkStrictJSON's rule written plainly.
func referenceStrict(body string) bool {
	if strings.TrimSpace(body) == "" {
		return true
	}
	if !json.Valid([]byte(body)) {
		return false
	}
	dec := json.NewDecoder(strings.NewReader(body))
	type obj struct {
		keys    map[string]bool
		keyNext bool
	}
	var stack []*obj
	for {
		tok, err := dec.Token()
		if err != nil {
			return true // io.EOF: json.Valid already vouched for the rest
		}
		top := (*obj)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.keys != nil && top.keyNext {
			if d, ok := tok.(json.Delim); !ok || d != '}' {
				k := tok.(string)
				if top.keys[k] {
					return false
				}
				top.keys[k] = true
				top.keyNext = false
				continue
			}
		}
		if top != nil && top.keys != nil {
			top.keyNext = true // a value was read: the next token is a key
		}
		switch tok {
		case json.Delim('{'):
			if top != nil && top.keys != nil {
				top.keyNext = true
			}
			stack = append(stack, &obj{keys: map[string]bool{}, keyNext: true})
		case json.Delim('['):
			stack = append(stack, &obj{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
	}
}
