package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// FuzzLoadYAML loads fuzzed bytes as a config file: Load must not panic,
// and must return either a one-line error or a configuration that meets
// every documented constraint and that the same settings given as flags
// reproduce.
func FuzzLoadYAML(f *testing.F) {
	for _, seed := range []string{
		fullYAML,
		"",
		"core:\n  log:\n    level: warn\n  prefix: op\n",
		"modules:\n  api: {port: 9001, address: \"::1\"}\n  packetio:\n    cpu-mask: 0x3\n",
		"modules:\n  packetio:\n    dpdk:\n      options: \"-m256m, --no-huge\"\n      port-ids: \"port0=a, port1=b\"\n",
		"core.log.level: trace\nmodules.packetio.dpdk.test-mode: yes\n",
		"base: &b {port: 1}\n",
		"modules:\n  api:\n    <<: {port: 9200}\n    address: 10.0.0.1\n",
		"resources:\n  /ports/a: &a {kind: bond, config: {bond: {ports: [p0, p1]}}}\n  /ports/b: *a\n  /interfaces/i: {port_id: a, n: 1.5, x: ~, y: [true, 0x10]}\n",
		"resources:\n  /ports/a: {id: a}\n  /packet/generators/g: {}\n",
		"modules: {api: {port: 0}}\n",
		"modules: {packetio: {memory-budget: 8589934592}}\n",
		"modules: {packetio: {memory-budget: 4GiB}}\n",
		"modules: {api: {port: 70000}}\n",
		"core: {log: {level: loud}}\n",
		"modules: {packetio: {dpdk: {port-ids: {foo: 1}}}}\n",
		"modules: {packetio: {dpdk: {port-ids: {port0: }}}}\n",
		"core:\n  log: [unclosed\n",
		"resources:\n  /ports/a: &a {self: *a}\n",
		"core: &c\n  <<: *c\n",
		"- a\n- b\n",
		"a: b\n---\nc: d\n",
		openPerfConfigFile,
		openPerfDataplaneFile,
		"modules:\n  tvlp: {enabled: true}\n  timesync: {ntp: [{host: x}]}\n  plugins: {path: /p, load: [a.so]}\n  packetio:\n    dpdk: {no-init: true, rx-worker-mask: 0x2, tx-worker-mask: \"4\", no-lro: true, tx-queues: \"port0=0-1\"}\n",
		"modules: {packetio: {cpu-mask: 0x0, dpdk: {misc-worker-mask: 0x1, ports-required: true}}}\n",
		"extra: 1\ncore: {log: {level: 5}}\n",
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	path := filepath.Join(dir, "cfg.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		args := []string{"-c", path}
		cfg, err := Load(args)
		if err != nil {
			checkLoadError(t, cfg, err, false)
			return
		}
		checkConfigInvariants(t, cfg)
		if cfg.ConfigFile != path {
			t.Errorf("ConfigFile = %q, want %q", cfg.ConfigFile, path)
		}
		again, err := Load(args)
		if err != nil || !reflect.DeepEqual(cfg, again) {
			t.Fatalf("second Load differs: %+v, %v", again, err)
		}
		checkFlagsReproduce(t, cfg)
	})
}

// fuzzFiles are the only config files FuzzLoadArgs can read, so that fuzzed
// -c arguments never open real files such as /dev/zero or /proc/kmsg.
var fuzzFiles = map[string]string{
	"good.yaml": fullYAML,
	"bad.yaml":  "core: [\n",
	"port.yaml": "modules: {api: {port: 9100}}\n",
}

func fuzzReadFile(path string) ([]byte, error) {
	if s, ok := fuzzFiles[path]; ok {
		return []byte(s), nil
	}
	return nil, &os.PathError{Op: "open", Path: path, Err: os.ErrNotExist}
}

// FuzzLoadArgs loads a command line made by splitting the fuzzed string at
// spaces (commas stay inside arguments so -d and port-ids lists are
// exercised). Config files come from fuzzFiles.
func FuzzLoadArgs(f *testing.F) {
	for _, seed := range []string{
		"",
		"-h",
		"--help -p 1",
		"-p 9001 -l debug -P op --modules.packetio.dpdk.test-mode --modules.packetio.dpdk.test-portpairs 2",
		"-d -m256m,--no-huge --modules.packetio.dpdk.port-ids port0=port0,port1=port1",
		"--modules.packetio.dpdk.port-ids=port0=0,,port1=port-one",
		"--modules.api.address=::1 --modules.packetio.cpu-mask=0xff --modules.socket.force-unlink",
		"-c good.yaml -p 9500",
		"-c good.yaml -d  --modules.packetio.dpdk.port-ids=port7=seven",
		"-cport.yaml -p7",
		"-c bad.yaml",
		"-c missing.yaml",
		"-c",
		"-p 0",
		"-p 70000",
		"-l verbose",
		"--modules.packetio.cpu-mask 0x0",
		"--modules.packetio.memory-budget 12G --modules.packetio.memory-budget=512MiB",
		"--modules.packetio.memory-budget 99999999999T",
		"--modules.packetio.dpdk.port-ids foo=1",
		"--modules.packetio.dpdk.port-ids port0=",
		"--nope",
		"positional",
		"--modules.packetio.dpdk.test-mode false",
		"-p 1 -- -p 2",
		// OpenPerf's acceptance-spec launch lines (tests/aat/spec/config.yaml).
		"--modules.packetio.dpdk.test-mode --core.log.level debug --modules.socket.force-unlink --modules.packetio.dpdk.options=-m256m,--no-huge --modules.packetio.dpdk.port-ids=port0=0,port1=1 -p 9000",
		"--modules.packetio.dpdk.test-mode --modules.packetio.dpdk.drop-tx-overruns -p 9000",
		"--modules.packetio.cpu-mask 0x0 -p 9000",
		"--modules.packetio.dpdk.no-init -p 9000",
		"--modules.packetio.cpu-mask 0x3 --modules.packetio.dpdk.options=-m256m,--no-huge --modules.packetio.dpdk.test-mode --modules.packetio.dpdk.rx-worker-mask 0x2 --modules.packetio.dpdk.tx-worker-mask 0x2 -p 9000",
		"--modules.packetio.dpdk.test-mode -p 9000 -L libopenperf_tvlp.so -m ../../build/plugins/",
		"-R 0x2 -T 4 -M 0x1 -f -v",
		"--modules.packetio.dpdk.no-rx-interrupts --modules.packetio.dpdk.no-link-interrupts --modules.packetio.dpdk.no-lro --modules.network.driver dpdk",
		"--modules.packetio.dpdk.ports-required --modules.packetio.dpdk.tx-queues port0=0-3 -l 6",
		"--modules.packetio.dpdk.test-portpairs=-1",
		"--modules.packetio.dpdk.rx-worker-mask zz",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var args []string
		if line != "" {
			args = strings.Split(line, " ")
		}
		cfg, err := load(args, fuzzReadFile)
		if err != nil {
			checkLoadError(t, cfg, err, true)
			return
		}
		checkConfigInvariants(t, cfg)
		if cfg.ConfigFile != "" {
			if _, ok := fuzzFiles[cfg.ConfigFile]; !ok {
				t.Errorf("ConfigFile = %q, not a file that exists", cfg.ConfigFile)
			}
		}
		again, err := load(args, fuzzReadFile)
		if err != nil || !reflect.DeepEqual(cfg, again) {
			t.Fatalf("second load differs: %+v, %v", again, err)
		}
		checkFlagsReproduce(t, cfg)
	})
}

func checkLoadError(t *testing.T, cfg *Config, err error, helpOK bool) {
	t.Helper()
	if cfg != nil {
		t.Errorf("config %+v returned with error %v", cfg, err)
	}
	if errors.Is(err, ErrHelp) {
		if !helpOK {
			t.Errorf("unexpected ErrHelp")
		}
		return
	}
	msg := err.Error()
	if msg == "" || strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error message is not one non-empty line: %q", msg)
	}
}

// checkConfigInvariants checks every constraint the Config documents.
func checkConfigInvariants(t *testing.T, c *Config) {
	t.Helper()
	if validAddress(c.API.Address) != nil {
		t.Errorf("bad API address %q", c.API.Address)
	}
	if c.API.Port < 1 || c.API.Port > 65535 {
		t.Errorf("API port %d out of range", c.API.Port)
	}
	if !slices.Contains(LogLevels, c.Log.Level) {
		t.Errorf("log level %q", c.Log.Level)
	}
	if validPrefix(c.Prefix) != nil {
		t.Errorf("bad prefix %q", c.Prefix)
	}
	for _, m := range []string{c.PacketIO.CPUMask, c.PacketIO.DPDK.RxWorkerMask, c.PacketIO.DPDK.TxWorkerMask} {
		if m != "" && validCPUMask(m) != nil {
			t.Errorf("bad cpu mask %q", m)
		}
	}
	for _, s := range slices.Concat(c.Ignored, c.Unknown) {
		if s == "" || strings.ContainsAny(s, "\n\r") {
			t.Errorf("ignored item %q is not one non-empty line", s)
		}
	}
	d := c.PacketIO.DPDK
	if d.TestPortPairs < 1 || d.TestPortPairs > MaxTestPortPairs {
		t.Errorf("test port pairs %d out of range", d.TestPortPairs)
	}
	if d.JumboBuffers < 0 || d.JumboBuffers > MaxJumboBuffers {
		t.Errorf("jumbo buffers %d out of range", d.JumboBuffers)
	}
	for _, o := range d.Options {
		if o == "" || o != strings.TrimSpace(o) || strings.IndexByte(o, 0) >= 0 {
			t.Errorf("bad option %q", o)
		}
	}
	if d.PortIDs != nil && len(d.PortIDs) == 0 {
		t.Errorf("empty non-nil PortIDs")
	}
	seen := map[string]bool{}
	for n, id := range d.PortIDs {
		if n < 0 || n > MaxDPDKPortIndex || !idRE.MatchString(id) || seen[id] {
			t.Errorf("bad port id %d=%q", n, id)
		}
		seen[id] = true
	}
	paths := map[string]bool{}
	for _, r := range c.Resources {
		if paths[r.Path] {
			t.Errorf("resource %q twice", r.Path)
		}
		paths[r.Path] = true
		coll, id, err := splitResourcePath(r.Path)
		if err != nil || coll != r.Collection || id != r.ID || r.Path != "/"+r.Collection+"/"+r.ID {
			t.Errorf("resource %+v: path, collection and id disagree (%v)", r, err)
		}
		var body map[string]json.RawMessage
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Errorf("resource %q: body %s is not a JSON object: %v", r.Path, r.Body, err)
		}
		if _, ok := body["id"]; ok {
			t.Errorf("resource %q: body %s has an id", r.Path, r.Body)
		}
	}
}

// checkFlagsReproduce gives c's settings as flags and expects the same
// configuration back (without file and resources).
func checkFlagsReproduce(t *testing.T, c *Config) {
	t.Helper()
	d := c.PacketIO.DPDK
	for _, o := range d.Options {
		if strings.ContainsFunc(o, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
			return // a YAML list item with a comma or space has no flag form
		}
	}
	if joined := splitEALArgs(strings.Join(d.Options, ",")); !reflect.DeepEqual(joined, d.Options) && len(d.Options) > 0 {
		return // list items that look like device-argument continuations join on the command line
	}
	args := []string{
		"--modules.api.address=" + c.API.Address,
		"-p", strconv.Itoa(c.API.Port),
		"-l", c.Log.Level,
		"-P", c.Prefix,
		"--modules.packetio.dpdk.test-mode=" + strconv.FormatBool(d.TestMode),
		"--modules.packetio.dpdk.test-portpairs", strconv.Itoa(d.TestPortPairs),
		"--modules.packetio.dpdk.jumbo-buffers", strconv.Itoa(d.JumboBuffers),
		"-d", strings.Join(d.Options, ","),
		"--modules.packetio.dpdk.drop-tx-overruns=" + strconv.FormatBool(d.DropTxOverruns),
		"--modules.packetio.dpdk.no-rx-interrupts=" + strconv.FormatBool(d.NoRxInterrupts),
		"--modules.socket.force-unlink=" + strconv.FormatBool(c.ForceUnlink),
		"--modules.packetio.dpdk.no-init=" + strconv.FormatBool(d.NoInit),
		"--modules.packetio.dpdk.ports-required=" + strconv.FormatBool(d.PortsRequired),
	}
	if d.RxWorkerMask != "" {
		args = append(args, "-R", d.RxWorkerMask)
	}
	if d.TxWorkerMask != "" {
		args = append(args, "-T", d.TxWorkerMask)
	}
	if c.PacketIO.CPUMask != "" {
		args = append(args, "--modules.packetio.cpu-mask", c.PacketIO.CPUMask)
	}
	if c.PacketIO.MemoryBudget != 0 {
		args = append(args, "--modules.packetio.memory-budget", strconv.FormatInt(c.PacketIO.MemoryBudget, 10))
	}
	if c.Stack.RxStrategy != "" {
		args = append(args, "--modules.stack.rx-strategy", c.Stack.RxStrategy)
	}
	if c.ZMQ.Endpoint != "" {
		args = append(args, "--modules.zmq.endpoint", c.ZMQ.Endpoint)
	}
	if len(d.PortIDs) > 0 {
		var ids []string
		for n, id := range d.PortIDs {
			ids = append(ids, fmt.Sprintf("port%d=%s", n, id))
		}
		sort.Strings(ids)
		args = append(args, "--modules.packetio.dpdk.port-ids", strings.Join(ids, ","))
	}
	got, err := Load(args)
	if err != nil {
		t.Fatalf("Load(%q) of the settings as flags: %v", args, err)
	}
	want := *c
	want.ConfigFile = ""
	want.Resources = nil
	want.Ignored, want.Unknown = nil, nil // what was ignored is not a setting
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("settings as flags %q give\n %+v\nwant %+v", args, *got, want)
	}
}
