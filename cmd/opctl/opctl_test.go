package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openperfd/openperfd/api/gen"
)

// Canned bodies, as openperfd sends them (test mode, two ring ports).
const (
	portsBody = `[{"config":{"dpdk":{"device":"net_ring_0","driver":"net_ring","link":{"auto_negotiation":true},"mac_address":"02:6f:70:00:00:00"}},"id":"0","kind":"dpdk","stats":{"rx_bytes":0,"rx_errors":0,"rx_packets":0,"tx_bytes":100507084,"tx_errors":0,"tx_packets":810541},"status":{"duplex":"full","link":"up","speed":10000}},` +
		`{"config":{"dpdk":{"device":"net_ring_1","driver":"net_ring","link":{"auto_negotiation":true},"mac_address":"02:6f:70:00:00:01"}},"id":"1","kind":"dpdk","stats":{"rx_bytes":100507084,"rx_errors":0,"rx_packets":810541,"tx_bytes":0,"tx_errors":0,"tx_packets":0},"status":{"duplex":"full","link":"up","speed":10000}}]`
	interfaceBody = `{"config":{"protocols":[{"eth":{"mac_address":"02:00:00:00:00:0a"}},{"ipv4":{"method":"static","static":{"address":"10.0.0.1","prefix_length":24}}},{"ipv6":{"link_local_address":"fe80::ff:fe00:a","method":"static","static":{"address":"fd00::1","prefix_length":64}}}]},"id":"a","port_id":"0","stats":{"rx_bytes":0,"rx_errors":0,"rx_packets":3,"tx_bytes":0,"tx_errors":0,"tx_packets":1234}}`
	resultsBody   = `[ {"active":false,"flow_counters":{"errors":0,"octets_actual":12800000,"octets_dropped":0,"octets_intended":12800000,"packets_actual":100000,"packets_dropped":0,"packets_intended":100000},` +
		`"flows":["r1-0"],"generator_id":"g1","id":"r1","protocol_counters":{"ip":{"ipv4":100000,"ipv6":0}},"remaining":{"unit":"frames","value":0}} ]`
	generatorBody = `{"active":false,"config":{"duration":{"frames":100000},"flow_count":10,"load":{"burst_size":32,"rate":{"period":"second","value":1000000},"units":"frames"},` +
		`"traffic":[{"length":{"fixed":128},"packet":{"protocols":[{"ethernet":{}},{"ipv4":{}},{"udp":{}}]},"signature":{"latency":"start_of_frame","stream_id":1},"weight":1}]},"id":"g1","learning":"unsupported","target_id":"0"}`
	versionBody = `{"build_number":"7","build_time":"2026-11-22T07:00:00Z","source_commit":"abc1234","version":"0.1.0"}`
)

// reply is a canned answer of the fake API.
type reply struct {
	status int
	body   string
}

// fakeAPI answers "METHOD /path" with canned replies and records request
// bodies.
type fakeAPI struct {
	mu     sync.Mutex
	routes map[string]reply
	bodies map[string][]byte
}

func newFakeAPI(t *testing.T, routes map[string]reply) (*fakeAPI, string) {
	t.Helper()
	f := &fakeAPI{routes: routes, bodies: map[string][]byte{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Method + " " + r.URL.Path
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.bodies[key] = body
	rep, ok := f.routes[key]
	f.mu.Unlock()
	if !ok {
		rep = reply{404, `{"code":404,"message":"no route ` + key + `"}`}
	}
	if b := strings.TrimSpace(rep.body); strings.HasPrefix(b, "{") || strings.HasPrefix(b, "[") {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(rep.status)
	io.WriteString(w, rep.body)
}

func (f *fakeAPI) body(key string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[key]
}

// opctl runs the command with the environment env and returns what it
// printed and its exit code.
func opctl(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errOut, func(k string) string { return env[k] })
	return out.String(), errOut.String(), code
}

// closedAddr is an address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + l.Addr().String()
	l.Close()
	return addr
}

func TestPortsListPrintsAlignedTableWithThousandsSeparators(t *testing.T) {
	_, url := newFakeAPI(t, map[string]reply{"GET /ports": {200, portsBody}})
	out, errOut, code := opctl(t, nil, "--server", url, "ports", "list")
	if code != 0 || errOut != "" {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	want := "" +
		"ID  KIND  LINK  SPEED    MAC                RX FRAMES  TX FRAMES  RX BYTES     TX BYTES\n" +
		"0   dpdk  up    10 Gbps  02:6f:70:00:00:00  0          810,541    0            100,507,084\n" +
		"1   dpdk  up    10 Gbps  02:6f:70:00:00:01  810,541    0          100,507,084  0\n"
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}

func TestDetailViewsShowOneFieldPerLine(t *testing.T) {
	_, url := newFakeAPI(t, map[string]reply{
		"GET /interfaces/a":                {200, interfaceBody},
		"GET /packet/generators/g1":        {200, generatorBody},
		"GET /packet/generator-results/r1": {200, strings.Trim(strings.TrimSpace(resultsBody), "[]")},
		"GET /version":                     {200, versionBody},
	})
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"interfaces", "get", "a"}, []string{"ipv4:             10.0.0.1/24", "ipv6 link-local:  fe80::ff:fe00:a", "tx frames:        1,234"}},
		{[]string{"generators", "get", "g1"}, []string{"load:", "1.00M frames/s", "100,000 frames", "ethernet/ipv4/udp, length 128, stream 1, weight 1"}},
		{[]string{"generator-results", "get", "r1"}, []string{"frames:           100,000", "ip:               ipv4=100,000", "remaining:        0 frames"}},
		{[]string{"version"}, []string{"opctl ", "openperfd  0.1.0 (commit abc1234, build 7, built 2026-11-22T07:00:00Z) at " + url}},
	} {
		out, errOut, code := opctl(t, nil, append([]string{"--server", url}, tc.args...)...)
		if code != 0 {
			t.Errorf("%v: code %d, stderr %q", tc.args, code, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
}

func TestJSONFlagPrintsTheBodyUnchanged(t *testing.T) {
	_, url := newFakeAPI(t, map[string]reply{
		"GET /ports":                    {200, portsBody},
		"GET /interfaces/a":             {200, interfaceBody},
		"GET /packet/generator-results": {200, resultsBody},
		"GET /version":                  {200, versionBody},
		"DELETE /interfaces/a":          {204, ""},
	})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--json", "ports", "list"}, portsBody + "\n"},
		{[]string{"ports", "list", "--json"}, portsBody + "\n"}, // global flags also after the verb
		{[]string{"--json", "interfaces", "get", "a"}, interfaceBody + "\n"},
		{[]string{"--json", "generator-results", "list"}, resultsBody + "\n"},
		{[]string{"--json", "version"}, versionBody + "\n"},
		{[]string{"--json", "interfaces", "delete", "a"}, ""},
	} {
		out, errOut, code := opctl(t, nil, append([]string{"--server", url}, tc.args...)...)
		if code != 0 || out != tc.want {
			t.Errorf("%v: code %d stderr %q\ngot  %q\nwant %q", tc.args, code, errOut, out, tc.want)
		}
	}
}

func TestAPIErrorsPrintOneLineAndExit1(t *testing.T) {
	_, url := newFakeAPI(t, map[string]reply{
		"GET /interfaces/nope":            {404, `{"code":404,"message":"interface nope: not found"}`},
		"POST /packet/generators/g/start": {400, `{"code":400,"message":"generator g: already running"}`},
		"GET /ports":                      {500, "boom\n"},
		"GET /packet/generators":          {503, ""},
	})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"interfaces", "get", "nope"}, "opctl: interface nope: not found (HTTP 404)\n"},
		{[]string{"generators", "start", "g"}, "opctl: generator g: already running (HTTP 400)\n"},
		{[]string{"ports", "list"}, "opctl: boom (HTTP 500)\n"},
		{[]string{"generators", "list", "--json"}, "opctl: Service Unavailable (HTTP 503)\n"},
	} {
		out, errOut, code := opctl(t, nil, append([]string{"--server", url}, tc.args...)...)
		if code != 1 || errOut != tc.want || out != "" {
			t.Errorf("%v: code %d, stdout %q, stderr %q; want 1 and %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

func TestUnreachableDaemonExits2WithAHint(t *testing.T) {
	addr := closedAddr(t)
	_, errOut, code := opctl(t, map[string]string{"OPCTL_SERVER": addr}, "ports", "list")
	want := "opctl: cannot reach openperfd at " + addr + ": connection refused; is it running? (make run)\n"
	if code != 2 || errOut != want {
		t.Errorf("code %d, stderr %q; want 2 and %q", code, errOut, want)
	}
}

func TestSlowDaemonHitsTheTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer srv.Close()
	start := time.Now()
	_, errOut, code := opctl(t, nil, "--server", srv.URL, "--timeout", "100ms", "ports", "list")
	if code != 2 || !strings.Contains(errOut, "no answer in time") {
		t.Errorf("code %d, stderr %q", code, errOut)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v despite --timeout 100ms", d)
	}
}

func TestServerComesFromFlagThenEnvThenDefault(t *testing.T) {
	_, url := newFakeAPI(t, map[string]reply{"GET /version": {200, versionBody}})
	closed := closedAddr(t)
	if _, errOut, code := opctl(t, map[string]string{"OPCTL_SERVER": url}, "version"); code != 0 {
		t.Errorf("env: code %d, %s", code, errOut)
	}
	if _, errOut, code := opctl(t, map[string]string{"OPCTL_SERVER": closed}, "--server", url, "version"); code != 0 {
		t.Errorf("flag over env: code %d, %s", code, errOut)
	}
	if _, errOut, code := opctl(t, nil, "--server", strings.TrimPrefix(url, "http://"), "version"); code != 0 {
		t.Errorf("host:port without scheme: code %d, %s", code, errOut)
	}
	if out, _, _ := opctl(t, nil, "--help"); !strings.Contains(out, `(default "http://127.0.0.1:9000")`) {
		t.Errorf("--help does not show the default server:\n%s", out)
	}
	if out, _, _ := opctl(t, map[string]string{"OPCTL_SERVER": url}, "--help"); !strings.Contains(out, `(default "`+url+`")`) {
		t.Errorf("--help does not show OPCTL_SERVER as the default:\n%s", out)
	}
}

func TestUsageErrorsExit2WithUsage(t *testing.T) {
	_, url := newFakeAPI(t, nil)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "missing command"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"ports"}, "ports: missing verb"},
		{[]string{"ports", "explode"}, `ports: unknown verb "explode"`},
		{[]string{"ports", "list", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"--bogus", "ports", "list"}, "unknown flag: --bogus"},
		{[]string{"ports", "get"}, "missing ID"},
		{[]string{"ports", "list", "extra"}, `unexpected argument "extra"`},
		{[]string{"generators", "create"}, "--port is required"},
		{[]string{"generators", "create", "--port", "0", "--frames", "1", "--seconds", "1"}, "not both"},
		{[]string{"generators", "create", "-f", "x.json", "--port", "0"}, "give either -f or the quick flags (--port)"},
		{[]string{"generators", "create", "--port", "0", "--rate", "fast"}, `invalid argument "fast"`},
		{[]string{"generators", "create", "--port", "0", "--src-ip", "fd00::1"}, "not an IPv4 address"},
		{[]string{"interfaces", "create", "--port", "0"}, "--port and --mac are required"},
		{[]string{"interfaces", "create", "--port", "0", "--mac", "02:00:00:00:00:01", "--ipv4", "10.0.0.1"}, "want address/prefix-length"},
		{[]string{"ports", "create"}, "nothing to create"},
		{[]string{"watch", "--interval", "0s"}, "--interval must be positive"},
		{[]string{"--server", "ftp://x", "ports", "list"}, "want http://host:port"},
	} {
		args := append([]string{"--server", url}, tc.args...)
		if len(tc.args) > 0 && tc.args[0] == "--server" {
			args = tc.args
		}
		out, errOut, code := opctl(t, nil, args...)
		if code != 2 || out != "" || !strings.HasPrefix(errOut, "opctl: ") || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: code %d, stdout %q, stderr %q; want 2 and %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

func TestHelpGoesToStdoutAndExits0(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"ports", "--help"}, {"ports", "list", "--help"}, {"generators", "create", "-h"}} {
		out, errOut, code := opctl(t, nil, args...)
		if code != 0 || errOut != "" || !strings.HasPrefix(out, "Usage: opctl") {
			t.Errorf("%v: code %d, stderr %q, stdout %q", args, code, errOut, out)
		}
	}
	out, _, _ := opctl(t, nil, "generators", "create", "--help")
	for _, flag := range []string{"--port", "--rate", "--frames", "--seconds", "--length", "--src-mac", "--dst-mac", "--src-ip", "--dst-ip", "--flows", "--file", "--server"} {
		if !strings.Contains(out, flag) {
			t.Errorf("generators create --help lacks %s", flag)
		}
	}
}

// jsonEqual compares two JSON documents by value.
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("request body %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("request body\n got %s\nwant %s", gb, wb)
	}
}

// The daemon has g1 already (stream 1, 10 flows: ids 1-10): the new
// generator signs from 11 on, so the two stay apart in rx-flows.
func TestGeneratorsCreateQuickFormBuildsEthIPv4UDPWithModifierAndSignature(t *testing.T) {
	f, url := newFakeAPI(t, map[string]reply{"POST /packet/generators": {201, generatorBody}, "GET /packet/generators": {200, "[" + generatorBody + "]"}})
	out, errOut, code := opctl(t, nil, "--server", url, "generators", "create", "--id", "g1", "--port", "0",
		"--rate", "1M", "--frames", "100000", "--length", "256", "--flows", "10",
		"--src-mac", "02:00:00:00:00:0a", "--dst-mac", "02:00:00:00:00:0b", "--src-ip", "10.0.0.1", "--dst-ip", "10.0.0.2")
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	jsonEqual(t, f.body("POST /packet/generators"), `{"id": "g1", "target_id": "0", "config": {
		"duration": {"frames": 100000},
		"load": {"burst_size": 32, "rate": {"period": "second", "value": 1000000}, "units": "frames"},
		"protocol_counters": ["ethernet", "ip", "transport"],
		"traffic": [{"length": {"fixed": 256}, "signature": {"stream_id": 11, "latency": "start_of_frame"},
			"packet": {"protocols": [
				{"ethernet": {"source": "02:00:00:00:00:0a", "destination": "02:00:00:00:00:0b"}},
				{"ipv4": {"source": "10.0.0.1", "destination": "10.0.0.2"},
				 "modifiers": {"items": [{"name": "source", "permute": false, "ipv4": {"sequence": {"count": 10, "start": "10.0.0.1"}}}]}},
				{"udp": {}}]}}]}}`)
	if !strings.HasPrefix(out, "ID  TARGET  ACTIVE  RATE") || !strings.Contains(out, "g1  0       no      1.00M frames/s  100,000 frames  10") {
		t.Errorf("output:\n%s", out)
	}
}

// A stream id given is sent as it is, without asking the daemon for the
// ids in use (the fake has no GET /packet/generators).
func TestGeneratorsCreateQuickFormTakesTheStreamIDGiven(t *testing.T) {
	f, url := newFakeAPI(t, map[string]reply{"POST /packet/generators": {201, generatorBody}})
	if _, errOut, code := opctl(t, nil, "--server", url, "generators", "create", "--port", "0", "--stream-id", "1"); code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	var g gen.PacketGenerator
	if err := json.Unmarshal(f.body("POST /packet/generators"), &g); err != nil || g.Config.Traffic[0].Signature.StreamId != 1 {
		t.Errorf("body %s: %v", f.body("POST /packet/generators"), err)
	}
}

func TestNextStreamIDFollowsEveryGeneratorsStreams(t *testing.T) {
	sg := func(first, flows int64) gen.PacketGenerator {
		return gen.PacketGenerator{Config: gen.PacketGeneratorConfig{FlowCount: &flows,
			Traffic: []gen.TrafficDefinition{{Signature: &gen.SpirentSignature{StreamId: first}}, {}}}}
	}
	for _, tc := range []struct {
		gens []gen.PacketGenerator
		want int64
	}{
		{nil, 1},
		{[]gen.PacketGenerator{sg(1, 10)}, 11},
		{[]gen.PacketGenerator{sg(100, 4), sg(1, 1)}, 104},
		{[]gen.PacketGenerator{{Config: gen.PacketGeneratorConfig{Traffic: []gen.TrafficDefinition{{}}}}}, 1}, // unsigned
	} {
		if got := nextStreamID(tc.gens); got != tc.want {
			t.Errorf("%d generators: %d, want %d", len(tc.gens), got, tc.want)
		}
	}
}

func TestGeneratorsCreateDurations(t *testing.T) {
	f, url := newFakeAPI(t, map[string]reply{"POST /packet/generators": {201, generatorBody}, "GET /packet/generators": {200, "[]"}})
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{nil, `{"continuous": true}`},
		{[]string{"--seconds", "5"}, `{"time": {"units": "seconds", "value": 5}}`},
		{[]string{"--frames", "7"}, `{"frames": 7}`},
	} {
		args := append([]string{"--server", url, "generators", "create", "--port", "1"}, tc.flags...)
		if _, errOut, code := opctl(t, nil, args...); code != 0 {
			t.Fatalf("%v: code %d: %s", tc.flags, code, errOut)
		}
		var g struct {
			Config struct{ Duration json.RawMessage } `json:"config"`
		}
		json.Unmarshal(f.body("POST /packet/generators"), &g)
		jsonEqual(t, g.Config.Duration, tc.want)
	}
}

func TestCreateFromFileSendsTheFileUnchanged(t *testing.T) {
	f, url := newFakeAPI(t, map[string]reply{
		"POST /packet/generators": {201, generatorBody},
		"POST /interfaces":        {201, interfaceBody},
		"POST /ports":             {201, `{"config":{"bond":{"mode":"lag_802_3_ad","ports":["2","3"]}},"id":"bond0","kind":"bond"}`},
	})
	dir := t.TempDir()
	for _, tc := range []struct{ noun, path, body string }{
		{"generators", "POST /packet/generators", `{"target_id": "0", "config": {"x-unknown": 1}}`},
		{"interfaces", "POST /interfaces", `{"port_id": "0", "config": {"protocols": []}}`},
		{"ports", "POST /ports", `{"kind": "bond", "config": {"bond": {"mode": "lag_802_3_ad", "ports": ["2", "3"]}}}`},
	} {
		file := filepath.Join(dir, tc.noun+".json")
		os.WriteFile(file, []byte(tc.body), 0o644)
		if _, errOut, code := opctl(t, nil, "--server", url, tc.noun, "create", "-f", file); code != 0 {
			t.Errorf("%s: code %d: %s", tc.noun, code, errOut)
		}
		if got := string(f.body(tc.path)); got != tc.body {
			t.Errorf("%s: sent %q, want %q", tc.noun, got, tc.body)
		}
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{nope"), 0o644)
	if _, errOut, code := opctl(t, nil, "--server", url, "generators", "create", "-f", bad); code != 2 || !strings.Contains(errOut, "not valid JSON") {
		t.Errorf("bad JSON: code %d, %q", code, errOut)
	}
	if _, errOut, code := opctl(t, nil, "--server", url, "generators", "create", "-f", filepath.Join(dir, "missing.json")); code != 1 || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing file: code %d, %q", code, errOut)
	}
}

func TestInterfacesCreateFromFlags(t *testing.T) {
	f, url := newFakeAPI(t, map[string]reply{"POST /interfaces": {201, interfaceBody}})
	out, errOut, code := opctl(t, nil, "--server", url, "interfaces", "create", "--id", "a", "--port", "0",
		"--mac", "02:00:00:00:00:0a", "--ipv4", "10.0.0.1/24", "--gateway", "10.0.0.254", "--ipv6", "fd00::1/64")
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	jsonEqual(t, f.body("POST /interfaces"), `{"id": "a", "port_id": "0", "config": {"protocols": [
		{"eth": {"mac_address": "02:00:00:00:00:0a"}},
		{"ipv4": {"method": "static", "static": {"address": "10.0.0.1", "prefix_length": 24, "gateway": "10.0.0.254"}}},
		{"ipv6": {"method": "static", "static": {"address": "fd00::1", "prefix_length": 64}}}]}}`)
	if !strings.Contains(out, "a   0     02:00:00:00:00:0a  10.0.0.1/24  fd00::1/64  3          1,234") {
		t.Errorf("output:\n%s", out)
	}

	if _, errOut, code := opctl(t, nil, "--server", url, "interfaces", "create", "--port", "1",
		"--mac", "02:00:00:00:00:0b", "--ipv6", "auto"); code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	jsonEqual(t, f.body("POST /interfaces"), `{"port_id": "1", "config": {"protocols": [
		{"eth": {"mac_address": "02:00:00:00:00:0b"}}, {"ipv6": {"method": "auto", "auto": {}}}]}}`)
}

func TestPortsCreateBond(t *testing.T) {
	f, url := newFakeAPI(t, map[string]reply{"POST /ports": {201, `{"config":{"bond":{"mode":"lag_802_3_ad","ports":["2","3"]}},"id":"bond0","kind":"bond"}`}})
	out, errOut, code := opctl(t, nil, "--server", url, "ports", "create", "--id", "bond0", "--members", "2,3")
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	jsonEqual(t, f.body("POST /ports"), `{"id": "bond0", "kind": "bond", "config": {"bond": {"mode": "lag_802_3_ad", "ports": ["2", "3"]}}}`)
	if !strings.Contains(out, "bond0  bond") {
		t.Errorf("output:\n%s", out)
	}
}

func TestStartStopDeleteTakeSeveralIDs(t *testing.T) {
	result := strings.Trim(strings.TrimSpace(resultsBody), "[] ")
	_, url := newFakeAPI(t, map[string]reply{
		"POST /packet/generators/g1/start": {201, result},
		"POST /packet/generators/g2/start": {201, result},
		"POST /packet/generators/g1/stop":  {204, ""},
		"POST /packet/generators/g2/stop":  {204, ""},
		"DELETE /packet/generators/g1":     {204, ""},
		"DELETE /packet/generators/g2":     {204, ""},
	})
	out, _, code := opctl(t, nil, "--server", url, "generators", "start", "g1", "g2")
	if code != 0 || strings.Count(out, "r1  g1") != 2 {
		t.Errorf("start: code %d\n%s", code, out)
	}
	out, _, code = opctl(t, nil, "--server", url, "generators", "stop", "g1", "g2")
	if code != 0 || out != "stopped generator g1\nstopped generator g2\n" {
		t.Errorf("stop: code %d %q", code, out)
	}
	out, _, code = opctl(t, nil, "--server", url, "generators", "delete", "g1", "g2")
	if code != 0 || out != "deleted generator g1\ndeleted generator g2\n" {
		t.Errorf("delete: code %d %q", code, out)
	}
}
