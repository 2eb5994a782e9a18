package config

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// openPerfConfigFile has the shape of OpenPerf's acceptance-spec config
// file (tests/aat/spec/test_config_file.yaml): a bond of the two test
// ports and interfaces on its members, one of them by DHCP.
const openPerfConfigFile = `core:
  log:
    level: debug
modules:
  api:
    port: 9000
  socket:
    force-unlink: true
  packetio:
    dpdk:
      options:
        - "-m256m"
        - "--no-huge"
      test-mode: true
      port-ids:
        port0: port0
        port1: port1
resources:
  /ports/port-bond:
    kind: bond
    config:
      bond:
        mode: lag_802_3_ad
        ports: [port0, port1]
  /interfaces/interface-one:
    port_id: port0
    config:
      protocols:
        - eth: {mac_address: "00:10:94:ae:d6:aa"}
        - ipv4: {method: static, static: {address: "198.51.100.10", prefix_length: 24, gateway: "198.51.100.1"}}
  /interfaces/interface-two:
    port_id: port1
    config:
      protocols:
        - eth: {mac_address: "00:10:94:ac:db:ba"}
        - ipv4: {method: dhcp, dhcp: {hostname: device-one}}
`

// openPerfDataplaneFile has the shape of OpenPerf's test_dataplane.yaml:
// a modules.network section openperfd does not have.
const openPerfDataplaneFile = `core: {log: {level: debug}}
modules:
  api: {port: 9000}
  socket: {force-unlink: true}
  packetio:
    dpdk:
      options: ["-m256m", "--no-huge"]
      test-mode: true
      port-ids: {port0: port0, port1: port1}
  network:
    driver: dpdk
resources:
  /interfaces/server-v4:
    port_id: port0
    config:
      protocols:
        - eth: {mac_address: "00:10:94:01:1a:2b"}
        - ipv4: {method: static, static: {address: "198.18.1.10", prefix_length: 15}}
`

func TestLoadTakesOpenPerfsConfigFiles(t *testing.T) {
	cfg := mustLoad(t, "-c", writeConfig(t, openPerfConfigFile))
	if len(cfg.Resources) != 3 || cfg.Resources[1].ID != "interface-one" || !cfg.PacketIO.DPDK.TestMode || !cfg.ForceUnlink {
		t.Fatalf("config file read as %+v", cfg)
	}
	if len(cfg.Ignored)+len(cfg.Unknown) != 0 {
		t.Errorf("nothing of this file is ignored, got %q %q", cfg.Ignored, cfg.Unknown)
	}

	path := writeConfig(t, openPerfDataplaneFile)
	cfg = mustLoad(t, "-c", path)
	if want := []string{path + ":10: modules.network"}; !reflect.DeepEqual(cfg.Ignored, want) {
		t.Errorf("Ignored = %q, want %q", cfg.Ignored, want)
	}
	if len(cfg.Unknown) != 0 || len(cfg.Resources) != 1 {
		t.Errorf("Unknown %q, %d resources", cfg.Unknown, len(cfg.Resources))
	}
}

// OpenPerf's acceptance specs start it with these lines (tests/aat/spec/
// config.yaml, split as the shell does); each must load.
func TestLoadTakesOpenPerfsLaunchLines(t *testing.T) {
	common := []string{"--modules.packetio.dpdk.test-mode", "--core.log.level", "debug", "--modules.socket.force-unlink",
		"--modules.packetio.dpdk.options=-m256m,--no-huge", "--modules.packetio.dpdk.port-ids=port0=0, port1=1", "-p", "9000"}
	tests := []struct {
		name    string
		args    []string
		check   func(*Config) bool
		ignored []string
	}{
		{"default", common, func(c *Config) bool {
			return c.PacketIO.DPDK.TestMode && c.Log.Level == "debug" && reflect.DeepEqual(c.PacketIO.DPDK.PortIDs, map[int]string{0: "0", 1: "1"})
		}, nil},
		{"packet-generator-drop", append(slices.Clone(common), "--modules.packetio.dpdk.drop-tx-overruns"),
			func(c *Config) bool { return c.PacketIO.DPDK.DropTxOverruns }, nil},
		{"packetio-args-1", []string{"--modules.packetio.cpu-mask", "0x0", "-p", "9000"},
			func(c *Config) bool { return c.PacketIO.Disabled() }, nil},
		{"packetio-args-2", []string{"--modules.packetio.dpdk.no-init", "-p", "9000"},
			func(c *Config) bool { return c.PacketIO.DPDK.NoInit && c.PacketIO.Disabled() }, nil},
		{"packetio-args-3", []string{"--modules.packetio.cpu-mask", "0x3", "--modules.packetio.dpdk.options=-m256m,--no-huge",
			"--modules.packetio.dpdk.test-mode", "--modules.packetio.dpdk.rx-worker-mask", "0x2",
			"--modules.packetio.dpdk.tx-worker-mask", "0x2", "-p", "9000"},
			func(c *Config) bool {
				d := c.PacketIO.DPDK
				return c.PacketIO.CPUMask == "0x3" && d.RxWorkerMask == "0x2" && d.TxWorkerMask == "0x2" && !c.PacketIO.Disabled()
			}, nil},
		{"tvlp", append(slices.Clone(common), "-L", "libopenperf_tvlp.so", "-m", "../../build/openperf-linux-x86_64-testing/plugins/"),
			func(c *Config) bool { return c.PacketIO.DPDK.TestMode },
			[]string{"-L/--modules.plugins.load", "-m/--modules.plugins.path"}},
		{"config-file", []string{"-c", writeConfig(t, openPerfConfigFile)}, func(c *Config) bool { return len(c.Resources) == 3 }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, tt.args...)
			if !tt.check(cfg) {
				t.Errorf("loaded as %+v", cfg)
			}
			if !reflect.DeepEqual(cfg.Ignored, tt.ignored) || cfg.Unknown != nil {
				t.Errorf("Ignored %q, Unknown %q; want %q and none", cfg.Ignored, cfg.Unknown, tt.ignored)
			}
		})
	}
}

func TestLoadIgnoresOpenPerfFlagsItHasNoUseFor(t *testing.T) {
	tests := []struct {
		args    []string
		ignored string
	}{
		{[]string{"-L", "libopenperf_tvlp.so"}, "-L/--modules.plugins.load"},
		{[]string{"--modules.plugins.load=a.so,b.so"}, "-L/--modules.plugins.load"},
		{[]string{"-m", "/usr/lib/openperf"}, "-m/--modules.plugins.path"},
		{[]string{"-M", "0x1"}, "-M/--modules.packetio.dpdk.misc-worker-mask"},
		{[]string{"--modules.packetio.dpdk.misc-worker-mask", "garbage"}, "-M/--modules.packetio.dpdk.misc-worker-mask"},
		{[]string{"--modules.packetio.dpdk.no-link-interrupts"}, "--modules.packetio.dpdk.no-link-interrupts"},
		{[]string{"--modules.packetio.dpdk.no-lro"}, "--modules.packetio.dpdk.no-lro"},
		{[]string{"--modules.packetio.dpdk.tx-queues", "port0=0-1"}, "--modules.packetio.dpdk.tx-queues"},
		{[]string{"--modules.packetio.dpdk.tx-mempool", "pool0"}, "--modules.packetio.dpdk.tx-mempool"},
		{[]string{"--modules.network.driver", "kernel"}, "--modules.network.driver"},
		{[]string{"--modules.network.cpu-mask", "0x4"}, "--modules.network.cpu-mask"},
		{[]string{"--modules.network.operation-timeout", "5"}, "--modules.network.operation-timeout"},
		{[]string{"--modules.block.cpu-mask", "1"}, "--modules.block.cpu-mask"},
		{[]string{"--modules.cpu.cpu-mask", "1"}, "--modules.cpu.cpu-mask"},
		{[]string{"--modules.memory.cpu-mask", "1"}, "--modules.memory.cpu-mask"},
	}
	for _, tt := range tests {
		cfg := mustLoad(t, tt.args...)
		if !reflect.DeepEqual(cfg.Ignored, []string{tt.ignored}) {
			t.Errorf("%q: Ignored = %q, want [%q]", tt.args, cfg.Ignored, tt.ignored)
		}
		cfg.Ignored = nil
		checkConfig(t, cfg, defaultConfig())
	}
}

func TestLoadActsOnOpenPerfFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want func(*Config)
	}{
		{"no-init", []string{"--modules.packetio.dpdk.no-init"}, func(c *Config) { c.PacketIO.DPDK.NoInit = true }},
		{"ports-required", []string{"--modules.packetio.dpdk.ports-required"}, func(c *Config) { c.PacketIO.DPDK.PortsRequired = true }},
		{"empty cpu mask", []string{"--modules.packetio.cpu-mask", "0x0"}, func(c *Config) { c.PacketIO.CPUMask = "0x0" }},
		{"rx worker mask", []string{"--modules.packetio.dpdk.rx-worker-mask", "0x2"}, func(c *Config) { c.PacketIO.DPDK.RxWorkerMask = "0x2" }},
		{"tx worker mask short", []string{"-T", "4"}, func(c *Config) { c.PacketIO.DPDK.TxWorkerMask = "4" }},
		{"rx worker mask short", []string{"-R0x6"}, func(c *Config) { c.PacketIO.DPDK.RxWorkerMask = "0x6" }},
		{"force unlink short", []string{"-f"}, func(c *Config) { c.ForceUnlink = true }},
		{"numeric log level", []string{"-l", "5"}, func(c *Config) { c.Log.Level = "debug" }},
		{"numeric log level 1", []string{"-l", "1"}, func(c *Config) { c.Log.Level = "critical" }},
		{"numeric log level clamped", []string{"-l", "9"}, func(c *Config) { c.Log.Level = "debug" }},
		{"EAL options with spaces", []string{"-d", "-m 256, --no-huge"}, func(c *Config) {
			c.PacketIO.DPDK.Options = []string{"-m", "256", "--no-huge"}
		}},
		{"stray argument after a flag without value", []string{"--modules.packetio.dpdk.test-mode", "false"}, func(c *Config) {
			c.PacketIO.DPDK.TestMode = true // as OpenPerf: the flag is on, "false" is skipped
			c.Unknown = []string{`argument "false"`}
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

func TestLoadIgnoresFileKeysOpenPerfWouldIgnore(t *testing.T) {
	path := writeConfig(t, `shims: {default: {trace: 0}}
core:
  log: {levle: debug}
modules:
  tvlp: {x: 1}
  timesync: {sources: [a]}
  plugins: {load: [libopenperf_tvlp.so]}
  cpu: {cpu-mask: 0x1}
  packetio:
    dpdk: {no-lro: true, testmode: true, no-init: true}
`)
	cfg := mustLoad(t, "-c", path)
	wantIgnored := []string{path + ":5: modules.tvlp", path + ":6: modules.timesync", path + ":7: modules.plugins",
		path + ":8: modules.cpu", path + ":10: modules.packetio.dpdk.no-lro"}
	if !reflect.DeepEqual(cfg.Ignored, wantIgnored) {
		t.Errorf("Ignored = %q\nwant %q", cfg.Ignored, wantIgnored)
	}
	if len(cfg.Unknown) != 3 || !strings.HasPrefix(cfg.Unknown[0], path+":1: shims (top-level keys:") ||
		!strings.HasPrefix(cfg.Unknown[1], path+":3: core.log.levle (known keys under core.log: level") ||
		!strings.HasPrefix(cfg.Unknown[2], path+":10: modules.packetio.dpdk.testmode (known keys") {
		t.Errorf("Unknown = %q", cfg.Unknown)
	}
	if !cfg.PacketIO.DPDK.NoInit {
		t.Error("a known key next to unknown ones was not read")
	}
}

func TestLoadStillRejectsMalformedValuesOfFlagsItUses(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--modules.packetio.dpdk.test-portpairs=-1"}, "-1 is out of range 1..16"},
		{[]string{"--modules.packetio.dpdk.port-ids", "port0"}, `"port0": want portN=id`},
		{[]string{"--modules.packetio.dpdk.rx-worker-mask", "zz"}, `-R/--modules.packetio.dpdk.rx-worker-mask: "zz" is not a CPU mask`},
		{[]string{"-T", "0xq"}, `-T/--modules.packetio.dpdk.tx-worker-mask: "0xq"`},
		{[]string{"--modules.packetio.cpu-mask", "0x"}, "is not a CPU mask"},
		{[]string{"-l", "loud"}, "unknown log level"},
		{[]string{"-L"}, "flag needs an argument"},
		{[]string{"--modules.packetio.no-such-flag"}, "unknown flag"},
	} {
		cfg, err := Load(tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) || cfg != nil {
			t.Errorf("Load(%q) = %v, %v; want an error containing %q", tt.args, cfg, err, tt.want)
		}
	}
}

func TestLoadReturnsErrVersionForVersionFlags(t *testing.T) {
	for _, args := range [][]string{{"-v"}, {"--version"}, {"-p", "1", "-v"}} {
		if _, err := Load(args); !errors.Is(err, ErrVersion) {
			t.Errorf("Load(%q): %v, want ErrVersion", args, err)
		}
	}
}

func TestCPUsReadsMasksAsOpenPerfDoes(t *testing.T) {
	for _, tt := range []struct {
		mask string
		want []int
	}{
		{"0x0", nil},
		{"0", nil},
		{"0x3", []int{0, 1}},
		{"0X10", []int{4}},
		{"10", []int{1, 3}}, // decimal, as OpenPerf's strtoull(s, 0)
		{"010", []int{3}},   // octal likewise
		{"ff", []int{0, 1, 2, 3, 4, 5, 6, 7}},
		{"0x10000000000000001", []int{0, 64}},
	} {
		got, err := CPUs(tt.mask)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("CPUs(%q) = %v, %v; want %v", tt.mask, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "0x", "1,2", "0xg", "-1", "08"} {
		if _, err := CPUs(bad); err == nil {
			t.Errorf("CPUs(%q) took it", bad)
		}
	}
}
