package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// defaultConfig is what Load returns without arguments.
func defaultConfig() Config {
	var c Config
	c.API.Address = "127.0.0.1"
	c.API.Port = 9000
	c.Log.Level = "info"
	c.PacketIO.DPDK.TestPortPairs = 1
	c.PacketIO.DPDK.JumboBuffers = DefaultJumboBuffers
	return c
}

// writeConfig writes a config file named cfg.yaml into a fresh temp dir.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cfg.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustLoad(t *testing.T, args ...string) *Config {
	t.Helper()
	cfg, err := Load(args)
	if err != nil {
		t.Fatalf("Load(%q): %v", args, err)
	}
	return cfg
}

func checkConfig(t *testing.T, got *Config, want Config) {
	t.Helper()
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("config mismatch\n got: %+v\nwant: %+v", *got, want)
	}
}

func TestLoadWithoutArgumentsGivesDefaults(t *testing.T) {
	for _, args := range [][]string{nil, {}} {
		checkConfig(t, mustLoad(t, args...), defaultConfig())
	}
}

func TestLoadAppliesEachFlag(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want func(*Config)
	}{
		{"api address", []string{"--modules.api.address", "0.0.0.0"}, func(c *Config) { c.API.Address = "0.0.0.0" }},
		{"api address ipv6", []string{"--modules.api.address=::1"}, func(c *Config) { c.API.Address = "::1" }},
		{"api address host name", []string{"--modules.api.address=localhost"}, func(c *Config) { c.API.Address = "localhost" }},
		{"api token file", []string{"--modules.api.token-file", "/etc/tok"}, func(c *Config) { c.API.TokenFile = "/etc/tok" }},
		{"api tls", []string{"--modules.api.tls-cert=c.pem", "--modules.api.tls-key=k.pem"}, func(c *Config) { c.API.TLSCert, c.API.TLSKey = "c.pem", "k.pem" }},
		{"api insecure", []string{"--modules.api.insecure"}, func(c *Config) { c.API.Insecure = true }},
		{"api allowed hosts", []string{"--modules.api.allowed-hosts", "lab.example, gen1"}, func(c *Config) { c.API.AllowedHosts = []string{"lab.example", "gen1"} }},
		{"api port", []string{"--modules.api.port", "8080"}, func(c *Config) { c.API.Port = 8080 }},
		{"api port max", []string{"--modules.api.port=65535"}, func(c *Config) { c.API.Port = 65535 }},
		{"api port is decimal", []string{"--modules.api.port=010"}, func(c *Config) { c.API.Port = 10 }},
		{"log level", []string{"--core.log.level", "debug"}, func(c *Config) { c.Log.Level = "debug" }},
		{"log level trace", []string{"--core.log.level=trace"}, func(c *Config) { c.Log.Level = "trace" }},
		{"log level critical", []string{"--core.log.level=critical"}, func(c *Config) { c.Log.Level = "critical" }},
		{"log level warn alias", []string{"--core.log.level=warn"}, func(c *Config) { c.Log.Level = "warning" }},
		{"log level upper case", []string{"--core.log.level=ERROR"}, func(c *Config) { c.Log.Level = "error" }},
		{"prefix", []string{"--core.prefix", "op-1.a_b"}, func(c *Config) { c.Prefix = "op-1.a_b" }},
		{"cpu mask with 0x", []string{"--modules.packetio.cpu-mask", "0x2"}, func(c *Config) { c.PacketIO.CPUMask = "0x2" }},
		{"cpu mask without 0x", []string{"--modules.packetio.cpu-mask=fF0"}, func(c *Config) { c.PacketIO.CPUMask = "fF0" }},
		{"test mode", []string{"--modules.packetio.dpdk.test-mode"}, func(c *Config) { c.PacketIO.DPDK.TestMode = true }},
		{"test mode explicit false", []string{"--modules.packetio.dpdk.test-mode=false"}, func(c *Config) {}},
		{"test port pairs", []string{"--modules.packetio.dpdk.test-portpairs", "16"}, func(c *Config) { c.PacketIO.DPDK.TestPortPairs = 16 }},
		{"jumbo buffers", []string{"--modules.packetio.dpdk.jumbo-buffers", "511"}, func(c *Config) { c.PacketIO.DPDK.JumboBuffers = 511 }},
		{"no jumbo buffers", []string{"--modules.packetio.dpdk.jumbo-buffers=0"}, func(c *Config) { c.PacketIO.DPDK.JumboBuffers = 0 }},
		{"dpdk options", []string{"--modules.packetio.dpdk.options", "-m256m,--no-huge"}, func(c *Config) {
			c.PacketIO.DPDK.Options = []string{"-m256m", "--no-huge"}
		}},
		{"dpdk options trimmed without empties", []string{"--modules.packetio.dpdk.options= -m256m , ,--no-huge,"}, func(c *Config) {
			c.PacketIO.DPDK.Options = []string{"-m256m", "--no-huge"}
		}},
		{"dpdk options empty", []string{"--modules.packetio.dpdk.options="}, func(c *Config) {}},
		{"port ids", []string{"--modules.packetio.dpdk.port-ids", "port0=0, port1=port-one"}, func(c *Config) {
			c.PacketIO.DPDK.PortIDs = map[int]string{0: "0", 1: "port-one"}
		}},
		{"port ids max index", []string{"--modules.packetio.dpdk.port-ids=port1023=last"}, func(c *Config) {
			c.PacketIO.DPDK.PortIDs = map[int]string{1023: "last"}
		}},
		{"drop tx overruns", []string{"--modules.packetio.dpdk.drop-tx-overruns"}, func(c *Config) { c.PacketIO.DPDK.DropTxOverruns = true }},
		{"no rx interrupts", []string{"--modules.packetio.dpdk.no-rx-interrupts"}, func(c *Config) { c.PacketIO.DPDK.NoRxInterrupts = true }},
		{"force unlink", []string{"--modules.socket.force-unlink"}, func(c *Config) { c.ForceUnlink = true }},
		{"zmq max message size", []string{"--modules.zmq.max-message-size", "1048576"}, func(c *Config) { c.ZMQ.MaxMessageSize = 1 << 20 }},
		{"memory budget", []string{"--modules.packetio.memory-budget", "8589934592"}, func(c *Config) { c.PacketIO.MemoryBudget = 8 << 30 }},
		{"no cpu lending", []string{"--modules.packetio.no-cpu-lending"}, func(c *Config) { c.PacketIO.NoCPULending = true }},
		{"memory budget with a unit", []string{"--modules.packetio.memory-budget", "512MiB"}, func(c *Config) { c.PacketIO.MemoryBudget = 512 << 20 }},
		{"memory budget in G", []string{"--modules.packetio.memory-budget=12G"}, func(c *Config) { c.PacketIO.MemoryBudget = 12 << 30 }},
		{"later flag wins", []string{"-p", "1", "-p", "2"}, func(c *Config) { c.API.Port = 2 }},
		{"end of flags marker", []string{"-p", "1", "--"}, func(c *Config) { c.API.Port = 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := defaultConfig()
			tt.want(&want)
			checkConfig(t, mustLoad(t, tt.args...), want)
		})
	}
}

func TestLoadAcceptsShortFlags(t *testing.T) {
	empty := writeConfig(t, "")
	tests := []struct {
		name string
		args []string
		want func(*Config)
	}{
		{"-c", []string{"-c", empty}, func(c *Config) { c.ConfigFile = empty }},
		{"-c attached", []string{"-c" + empty}, func(c *Config) { c.ConfigFile = empty }},
		{"-p", []string{"-p", "9100"}, func(c *Config) { c.API.Port = 9100 }},
		{"-p attached", []string{"-p9100"}, func(c *Config) { c.API.Port = 9100 }},
		{"-l", []string{"-l", "trace"}, func(c *Config) { c.Log.Level = "trace" }},
		{"-P", []string{"-P", "unique"}, func(c *Config) { c.Prefix = "unique" }},
		{"-d value starting with a dash", []string{"-d", "-m256m,--no-huge"}, func(c *Config) {
			c.PacketIO.DPDK.Options = []string{"-m256m", "--no-huge"}
		}},
		{"-d=", []string{"-d=--no-pci"}, func(c *Config) { c.PacketIO.DPDK.Options = []string{"--no-pci"} }},
		{"openperf launch line", []string{
			"-p", "9001", "-l", "debug", "-P", "op9001",
			"--modules.packetio.dpdk.test-mode", "--modules.packetio.dpdk.test-portpairs", "2",
			"-d", "-m256m,--no-huge", "--modules.packetio.dpdk.port-ids", "port0=port0, port1=port1",
			"--modules.socket.force-unlink",
		}, func(c *Config) {
			c.API.Port = 9001
			c.Log.Level = "debug"
			c.Prefix = "op9001"
			c.PacketIO.DPDK.TestMode = true
			c.PacketIO.DPDK.TestPortPairs = 2
			c.PacketIO.DPDK.Options = []string{"-m256m", "--no-huge"}
			c.PacketIO.DPDK.PortIDs = map[int]string{0: "port0", 1: "port1"}
			c.ForceUnlink = true
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := defaultConfig()
			tt.want(&want)
			checkConfig(t, mustLoad(t, tt.args...), want)
		})
	}
}

const fullYAML = `# every key, nested
core:
  log:
    level: debug
  prefix: op
modules:
  api:
    address: 0.0.0.0
    port: 9001
  packetio:
    cpu-mask: 10          # literal text kept: decimal 10 as OpenPerf reads it, not YAML's int
    dpdk:
      test-mode: true
      test-portpairs: 4
      options:
        - -m256m
        - --vdev=net_ring0,nodeaction=r0:0:CREATE   # list items keep commas
        - "  "
      port-ids:
        port0: port0
        port1: "1"
        port2: 2
      drop-tx-overruns: true
      no-rx-interrupts: true
  socket:
    force-unlink: true
resources:
  /ports/port-bond:
    kind: bond
    config:
      bond:
        mode: lag_802_3_ad
        ports: [port0, port1]
  /interfaces/interface-one:
    port_id: port-bond
    config:
      protocols:
        - eth: {mac_address: "00:10:94:00:00:01"}
        - ipv4: {method: static, static: {address: 198.18.1.1, prefix_length: 24}}
`

func TestLoadReadsNestedYAMLFile(t *testing.T) {
	path := writeConfig(t, fullYAML)
	got := mustLoad(t, "-c", path)
	want := defaultConfig()
	want.ConfigFile = path
	want.Log.Level = "debug"
	want.Prefix = "op"
	want.API.Address = "0.0.0.0"
	want.API.Port = 9001
	want.PacketIO.CPUMask = "10"
	want.PacketIO.DPDK = DPDKConfig{
		TestMode:       true,
		TestPortPairs:  4,
		JumboBuffers:   DefaultJumboBuffers,
		Options:        []string{"-m256m", "--vdev=net_ring0,nodeaction=r0:0:CREATE"},
		PortIDs:        map[int]string{0: "port0", 1: "1", 2: "2"},
		DropTxOverruns: true,
		NoRxInterrupts: true,
	}
	want.ForceUnlink = true
	want.Resources = []Resource{
		{
			Path: "/ports/port-bond", Collection: "ports", ID: "port-bond",
			Body: json.RawMessage(`{"kind":"bond","config":{"bond":{"mode":"lag_802_3_ad","ports":["port0","port1"]}}}`),
		},
		{
			Path: "/interfaces/interface-one", Collection: "interfaces", ID: "interface-one",
			Body: json.RawMessage(`{"port_id":"port-bond","config":{"protocols":[{"eth":{"mac_address":"00:10:94:00:00:01"}},` +
				`{"ipv4":{"method":"static","static":{"address":"198.18.1.1","prefix_length":24}}}]}}`),
		},
	}
	checkConfig(t, got, want)
}

func TestLoadAcceptsOtherYAMLForms(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want func(*Config)
	}{
		{"empty file", "", func(c *Config) {}},
		{"comments only", "# nothing\n", func(c *Config) {}},
		{"explicit null document", "---\n~\n", func(c *Config) {}},
		{"empty sections", "core:\nmodules:\nresources:\n", func(c *Config) {}},
		{"null value means default", "modules:\n  api:\n    port: ~\n", func(c *Config) {}},
		{"dotted key at top level", "core.log.level: trace\n", func(c *Config) { c.Log.Level = "trace" }},
		{"dotted key inside a section", "modules:\n  packetio.dpdk.test-mode: true\n", func(c *Config) { c.PacketIO.DPDK.TestMode = true }},
		{"options as comma-separated string", "modules: {packetio: {dpdk: {options: \"-m256m, --no-huge\"}}}\n", func(c *Config) {
			c.PacketIO.DPDK.Options = []string{"-m256m", "--no-huge"}
		}},
		{"options empty list", "modules: {packetio: {dpdk: {options: []}}}\n", func(c *Config) {}},
		{"port ids as command line string", "modules: {packetio: {dpdk: {port-ids: \"port0=a, port1=b\"}}}\n", func(c *Config) {
			c.PacketIO.DPDK.PortIDs = map[int]string{0: "a", 1: "b"}
		}},
		{"quoted integer", "modules: {api: {port: \"9100\"}}\n", func(c *Config) { c.API.Port = 9100 }},
		{"yes as boolean", "modules: {socket: {force-unlink: yes}}\n", func(c *Config) { c.ForceUnlink = true }},
		{"cpu mask written as hex", "modules: {packetio: {cpu-mask: 0x3}}\n", func(c *Config) { c.PacketIO.CPUMask = "0x3" }},
		{"numeric prefix keeps its text", "core: {prefix: 0123}\n", func(c *Config) { c.Prefix = "0123" }},
		{"merge key", "modules:\n  api:\n    <<: {port: 9200, address: \"::1\"}\n    address: 10.0.0.1\n", func(c *Config) {
			c.API.Port = 9200
			c.API.Address = "10.0.0.1"
		}},
		{"alias", "core:\n  log: &l {level: error}\nmodules:\n  packetio:\n    dpdk:\n      options: &o [a, b]\n", func(c *Config) {
			c.Log.Level = "error"
			c.PacketIO.DPDK.Options = []string{"a", "b"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.yaml)
			want := defaultConfig()
			want.ConfigFile = path
			tt.want(&want)
			checkConfig(t, mustLoad(t, "-c", path), want)
		})
	}
}

func TestLoadKeepsResourcesInFileOrder(t *testing.T) {
	// Deliberately not in sorted order, with a nested collection.
	path := writeConfig(t, `resources:
  /ports/zz: {kind: bond}
  /interfaces/b: {port_id: zz}
  /ports/aa: {}
  /interfaces/a: {port_id: aa}
  /packet/generators/gen-1:
    id: gen-1
    config: {duration: {continuous: true}, count: 0x10, ratio: 1.5e3, none: ~, text: "yes", base: &b {k: v}, copy: *b}
`)
	got := mustLoad(t, "-c", path).Resources
	want := []Resource{
		{"/ports/zz", "ports", "zz", json.RawMessage(`{"kind":"bond"}`)},
		{"/interfaces/b", "interfaces", "b", json.RawMessage(`{"port_id":"zz"}`)},
		{"/ports/aa", "ports", "aa", json.RawMessage(`{}`)},
		{"/interfaces/a", "interfaces", "a", json.RawMessage(`{"port_id":"aa"}`)},
		{"/packet/generators/gen-1", "packet/generators", "gen-1", json.RawMessage(
			`{"config":{"duration":{"continuous":true},"count":16,"ratio":1500,"none":null,"text":"yes","base":{"k":"v"},"copy":{"k":"v"}}}`)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("resources mismatch\n got: %s\nwant: %s", dumpResources(got), dumpResources(want))
	}
	for _, r := range got {
		if !json.Valid(r.Body) {
			t.Errorf("%s: invalid JSON %s", r.Path, r.Body)
		}
	}
}

func dumpResources(rs []Resource) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.Path + " " + r.Collection + " " + r.ID + " " + string(r.Body) + "; ")
	}
	return b.String()
}

func TestLoadFlagsOverrideFile(t *testing.T) {
	path := writeConfig(t, fullYAML)
	tests := []struct {
		name string
		args []string
		want func(*Config)
	}{
		{"nothing overridden", nil, func(c *Config) {}},
		{"port", []string{"-p", "9500"}, func(c *Config) { c.API.Port = 9500 }},
		{"address", []string{"--modules.api.address=127.0.0.2"}, func(c *Config) { c.API.Address = "127.0.0.2" }},
		{"log level", []string{"-l", "warn"}, func(c *Config) { c.Log.Level = "warning" }},
		{"prefix", []string{"-P", "other"}, func(c *Config) { c.Prefix = "other" }},
		{"cpu mask", []string{"--modules.packetio.cpu-mask=0x4"}, func(c *Config) { c.PacketIO.CPUMask = "0x4" }},
		{"test mode off", []string{"--modules.packetio.dpdk.test-mode=false"}, func(c *Config) { c.PacketIO.DPDK.TestMode = false }},
		{"test port pairs", []string{"--modules.packetio.dpdk.test-portpairs=1"}, func(c *Config) { c.PacketIO.DPDK.TestPortPairs = 1 }},
		{"options replace the list", []string{"-d", "--no-pci"}, func(c *Config) { c.PacketIO.DPDK.Options = []string{"--no-pci"} }},
		{"options cleared", []string{"-d", ""}, func(c *Config) { c.PacketIO.DPDK.Options = nil }},
		{"port ids replace the map", []string{"--modules.packetio.dpdk.port-ids", "port7=seven"}, func(c *Config) {
			c.PacketIO.DPDK.PortIDs = map[int]string{7: "seven"}
		}},
		{"drop tx overruns off", []string{"--modules.packetio.dpdk.drop-tx-overruns=false"}, func(c *Config) { c.PacketIO.DPDK.DropTxOverruns = false }},
		{"flags before -c still win", []string{"-p", "9600", "-c", path}, func(c *Config) { c.API.Port = 9600 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := mustLoad(t, "-c", path)
			want := *base
			tt.want(&want)
			got := mustLoad(t, append([]string{"-c", path}, tt.args...)...)
			checkConfig(t, got, want)
		})
	}
}

func TestLoadRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		yaml string // when set, written to a file passed with -c before args
		want string // substring of the error
	}{
		{"port 0", []string{"-p", "0"}, "", "-p/--modules.api.port: 0 is out of range 1..65535"},
		{"port 70000", []string{"-p", "70000"}, "", "-p/--modules.api.port: 70000 is out of range"},
		{"port negative", []string{"--modules.api.port=-1"}, "", "out of range"},
		{"port not a number", []string{"-p", "http"}, "", `invalid argument "http"`},
		{"port huge", []string{"-p", "99999999999999999999"}, "", "out of range"},
		{"port missing value", []string{"-p"}, "", "flag needs an argument"},
		{"zmq max message size negative", []string{"--modules.zmq.max-message-size=-1"}, "", "--modules.zmq.max-message-size: -1: must be 0"},
		{"memory budget negative", []string{"--modules.packetio.memory-budget=-1"}, "", `--modules.packetio.memory-budget: "-1" is not a size`},
		{"memory budget bad unit", []string{"--modules.packetio.memory-budget", "8X"}, "", `"8X" is not a size`},
		{"memory budget overflow", []string{"--modules.packetio.memory-budget", "99999999999T"}, "", "is not a size"},
		{"bad log level", []string{"-l", "verbose"}, "", `-l/--core.log.level: unknown log level "verbose"`},
		{"empty log level", []string{"-l", ""}, "", "unknown log level"},
		{"cpu mask not hex", []string{"--modules.packetio.cpu-mask", "0xg"}, "", `--modules.packetio.cpu-mask: "0xg" is not a CPU mask`},
		{"cpu mask bare 0x", []string{"--modules.packetio.cpu-mask=0x"}, "", "is not a CPU mask"},
		{"cpu mask decimal list", []string{"--modules.packetio.cpu-mask=1,2"}, "", "is not a CPU mask"},
		{"test port pairs 0", []string{"--modules.packetio.dpdk.test-portpairs=0"}, "", "0 is out of range 1..16"},
		{"jumbo buffers negative", []string{"--modules.packetio.dpdk.jumbo-buffers=-1"}, "", "-1 is out of range 0..1048575"},
		{"test port pairs 17", []string{"--modules.packetio.dpdk.test-portpairs=17"}, "", "17 is out of range 1..16"},
		{"port ids bad key", []string{"--modules.packetio.dpdk.port-ids", "foo=1"}, "", `--modules.packetio.dpdk.port-ids: key "foo": want port<N>`},
		{"port ids empty id", []string{"--modules.packetio.dpdk.port-ids", "port0="}, "", "port0: empty port id"},
		{"port ids no equals", []string{"--modules.packetio.dpdk.port-ids", "port0"}, "", `"port0": want portN=id`},
		{"port ids index too big", []string{"--modules.packetio.dpdk.port-ids", "port1024=x"}, "", "out of range 0..1023"},
		{"port ids leading zero", []string{"--modules.packetio.dpdk.port-ids", "port01=x"}, "", `key "port01"`},
		{"port ids bad characters", []string{"--modules.packetio.dpdk.port-ids", "port0=a b"}, "", `port id "a b" may hold only`},
		{"port ids duplicate port", []string{"--modules.packetio.dpdk.port-ids", "port0=a,port0=b"}, "", "port0 given twice"},
		{"port ids duplicate id", []string{"--modules.packetio.dpdk.port-ids", "port0=a,port1=a"}, "", `port id "a" given to both port0 and port1`},
		{"empty address", []string{"--modules.api.address="}, "", "empty address"},
		{"tls cert without key", []string{"--modules.api.tls-cert=c.pem"}, "", "--modules.api.tls-cert: give both --modules.api.tls-cert and --modules.api.tls-key, or neither"},
		{"tls key without cert", []string{"--modules.api.tls-key=k.pem"}, "", "--modules.api.tls-key: give both"},
		{"bad address", []string{"--modules.api.address=not an address"}, "", "neither an IP address nor a host name"},
		{"bad prefix", []string{"-P", "../x"}, "", `-P/--core.prefix: "../x"`},
		{"unknown flag", []string{"--modules.api.prot", "1"}, "", "unknown flag: --modules.api.prot"},
		{"unknown short flag", []string{"-x"}, "", "unknown shorthand flag: 'x'"},
		{"nonexistent config file", []string{"-c", filepath.Join(dir, "missing.yaml")}, "", "-c/--config: open "},
		{"empty config file name", []string{"-c", ""}, "", "-c/--config: empty file name"},
		{"config file is a directory", []string{"-c", dir}, "", "is not a regular file"},

		{"malformed YAML", nil, "core:\n  log: [unclosed\n", "cfg.yaml: yaml: line"},
		{"tab indentation", nil, "core:\n\tprefix: x\n", "cfg.yaml: yaml:"},
		{"top level not a map", nil, "- a\n- b\n", "cfg.yaml:1: the top level must be a map"},
		{"two documents", nil, "core: {}\n---\ncore: {}\n", "more than one YAML document"},
		{"section not a map", nil, "modules: 3\n", "cfg.yaml:1: modules must be a map"},
		{"duplicate key", nil, "core:\n  prefix: a\n  prefix: b\n", `cfg.yaml:3: key "prefix" given twice`},
		{"duplicate key via dotted form", nil, "core:\n  prefix: a\ncore.prefix: b\n", "core.prefix given twice (also on line 2)"},
		{"file port 0", nil, "modules:\n  api:\n    port: 0\n", "cfg.yaml:3: modules.api.port: 0 is out of range 1..65535"},
		{"file port 70000", nil, "modules: {api: {port: 70000}}\n", "modules.api.port: 70000 is out of range"},
		{"file port hex", nil, "modules: {api: {port: 0x10}}\n", `modules.api.port: "0x10" is not a decimal integer`},
		{"file port float", nil, "modules: {api: {port: 90.5}}\n", "modules.api.port must be an integer"},
		{"file port list", nil, "modules: {api: {port: [1]}}\n", "modules.api.port must be an integer"},
		{"file bad log level", nil, "core: {log: {level: loud}}\n", `cfg.yaml:1: core.log.level: unknown log level "loud"`},
		{"file log level map", nil, "core: {log: {level: {a: b}}}\n", "core.log.level must be a string"},
		{"file bad cpu mask", nil, "modules: {packetio: {cpu-mask: xyz}}\n", `modules.packetio.cpu-mask: "xyz" is not a CPU mask`},
		{"file bad bool", nil, "modules: {packetio: {dpdk: {test-mode: maybe}}}\n", "test-mode must be true or false"},
		{"file options map", nil, "modules: {packetio: {dpdk: {options: {a: b}}}}\n", "options must be a list of strings"},
		{"file options nested list", nil, "modules: {packetio: {dpdk: {options: [[a]]}}}\n", "options: item 0 must be a string"},
		{"file port ids bad key", nil, "modules:\n  packetio:\n    dpdk:\n      port-ids:\n        port0: a\n        foo: b\n", `cfg.yaml:6: modules.packetio.dpdk.port-ids: key "foo"`},
		{"file port ids empty id", nil, "modules: {packetio: {dpdk: {port-ids: {port0: \"\"}}}}\n", "port0: empty port id"},
		{"file port ids null id", nil, "modules: {packetio: {dpdk: {port-ids: {port0: }}}}\n", "port-ids.port0: port id must be a string"},
		{"file port ids list", nil, "modules: {packetio: {dpdk: {port-ids: [port0]}}}\n", "port-ids must be a map"},
		{"file port ids bad string", nil, "modules: {packetio: {dpdk: {port-ids: \"foo=1\"}}}\n", `key "foo"`},
		{"resources not a map", nil, "resources: [a]\n", "resources must be a map"},
		{"resource not a map", nil, "resources:\n  /ports/a: 3\n", `cfg.yaml:2: resource "/ports/a" must be a map`},
		{"resource null", nil, "resources:\n  /ports/a:\n", `resource "/ports/a" must be a map`},
		{"resource list", nil, "resources:\n  /ports/a: [x]\n", `resource "/ports/a" must be a map`},
		{"resource path without id", nil, "resources:\n  /ports: {}\n", `resource path "/ports": want /<collection>/<id>`},
		{"resource path without slash", nil, "resources:\n  ports/a: {}\n", `resource path "ports/a"`},
		{"resource path trailing slash", nil, "resources:\n  /ports/a/: {}\n", `resource path "/ports/a/"`},
		{"resource path dot dot", nil, "resources:\n  /ports/..: {}\n", `resource path "/ports/.."`},
		{"resource path empty segment", nil, "resources:\n  //a: {}\n", `resource path "//a"`},
		{"resource duplicate", nil, "resources:\n  /ports/a: {}\n  /ports/a: {}\n", `cfg.yaml:3: key "/ports/a" given twice`},
		{"resource id mismatch", nil, "resources:\n  /ports/a: {id: b}\n", `resource "/ports/a": id must be left out or equal "a"`},
		{"resource infinity", nil, "resources:\n  /ports/a: {x: .inf}\n", "has no JSON form"},
		{"resource complex key", nil, "resources:\n  /ports/a: {? [k] : v}\n", "map keys must be scalars"},
		{"resource self alias", nil, "resources:\n  /ports/a: &a {self: *a}\n", "nested deeper than"},
		{"merge of a scalar", nil, "core:\n  <<: 3\n", "<< wants a map or a list of maps"},
		{"self merge", nil, "core: &c\n  <<: *c\n", "<< merges nested deeper than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.yaml != "" {
				args = append([]string{"-c", writeConfig(t, tt.yaml)}, args...)
			}
			cfg, err := Load(args)
			if err == nil {
				t.Fatalf("Load(%q) = %+v, want error containing %q", args, cfg, tt.want)
			}
			if cfg != nil {
				t.Errorf("Load returned a config with the error %v", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not contain %q", msg, tt.want)
			}
			if strings.ContainsAny(msg, "\n\r") {
				t.Errorf("error is not one line: %q", msg)
			}
			if errors.Is(err, ErrHelp) {
				t.Errorf("error %v is ErrHelp", err)
			}
		})
	}
}

func TestLoadReportsNotFoundAsErrNotExist(t *testing.T) {
	_, err := Load([]string{"-c", filepath.Join(t.TempDir(), "nope.yaml")})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v is not os.ErrNotExist", err)
	}
}

func TestLoadRejectsAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("x0: &a0 [v, v, v, v, v, v, v, v, v, v]\n")
	for i := 1; i < 12; i++ {
		b.WriteString("x" + strconv.Itoa(i) + ": &a" + strconv.Itoa(i) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + strconv.Itoa(i-1))
		}
		b.WriteString("]\n")
	}
	yaml := "resources:\n  /ports/a:\n    " + strings.ReplaceAll(b.String(), "\n", "\n    ")
	_, err := Load([]string{"-c", writeConfig(t, yaml)})
	if err == nil || !strings.Contains(err.Error(), "alias expansion") {
		t.Errorf("err = %v, want an alias expansion limit error", err)
	}
}

func TestLoadReturnsErrHelpForHelpFlags(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-p", "1", "--help"}, {"-l", "debug", "-h", "-p", "0"}} {
		cfg, err := Load(args)
		if err != ErrHelp || cfg != nil {
			t.Errorf("Load(%q) = %v, %v; want nil, ErrHelp", args, cfg, err)
		}
	}
}

func TestUsageListsEveryFlag(t *testing.T) {
	var buf bytes.Buffer
	Usage(&buf)
	out := buf.String()
	for _, o := range options {
		if !strings.Contains(out, "--"+o.key) {
			t.Errorf("usage lacks --%s:\n%s", o.key, out)
		}
		if o.short != "" && !strings.Contains(out, "-"+o.short+", --"+o.key) {
			t.Errorf("usage lacks -%s for --%s", o.short, o.key)
		}
	}
	if !strings.Contains(out, "-h, --help") {
		t.Errorf("usage lacks -h, --help")
	}
}

func TestEALOptionsKeepDeviceArgumentCommas(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"-m256m,--no-huge", []string{"-m256m", "--no-huge"}},
		{"--vdev=net_af_packet0,iface=veth0,--no-huge", []string{"--vdev=net_af_packet0,iface=veth0", "--no-huge"}},
		{"--no-huge,--vdev,net_af_packet0,iface=veth0,qpairs=1,-m,128", []string{"--no-huge", "--vdev", "net_af_packet0,iface=veth0,qpairs=1", "-m", "128"}},
		{"-m,256,--no-pci", []string{"-m", "256", "--no-pci"}},
	}
	for _, c := range cases {
		cfg, err := Load([]string{"-d", c.in})
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if fmt.Sprint(cfg.PacketIO.DPDK.Options) != fmt.Sprint(c.want) {
			t.Errorf("%q: got %q, want %q", c.in, cfg.PacketIO.DPDK.Options, c.want)
		}
	}
}
