package aat

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/openperfd/openperfd/api/gen"
)

// OpenPerf's own launch lines and config files (its tests/aat/spec/
// config.yaml and the files it names) must start openperfd. The harness
// picks the API port, so the lines' "-p 9000" is left out.

// ignoredWarning is the message of the one warning naming what was ignored.
const ignoredWarning = `"msg":"ignoring options openperfd has no use for"`

// warnedOnce checks that the daemon logged the ignored-options warning
// exactly once and that it names each of want.
func warnedOnce(t *testing.T, d *daemon, want ...string) {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(d.stderr.String(), "\n") {
		if strings.Contains(l, ignoredWarning) {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("%d ignored-options warnings, want 1:\n%s", len(lines), tail(d.stderr.String(), 3000))
	}
	for _, w := range want {
		if !strings.Contains(lines[0], w) {
			t.Errorf("warning %s does not name %q", lines[0], w)
		}
	}
}

// notWarned checks that nothing was reported as ignored.
func notWarned(t *testing.T, d *daemon) {
	t.Helper()
	if out := d.stderr.String(); strings.Contains(out, ignoredWarning) {
		t.Errorf("an ignored-options warning for a line with nothing to ignore:\n%s", tail(out, 3000))
	}
}

// openPerfBondFile is an OpenPerf-style config file: OpenPerf's spec file
// (a bond of the test ports, then interfaces on its members, one by DHCP)
// plus sections of OpenPerf modules openperfd does not have.
const openPerfBondFile = `core:
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
        - "--no-huge"
      test-mode: true
      port-ids:
        port0: port0
        port1: port1
  network:
    driver: dpdk
  tvlp:
    some-setting: 1
  timesync:
    ntp: {server: pool.example}
  plugins:
    load: [libopenperf_tvlp.so]
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

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOpenPerfConfigFileWithInterfacesOnBondMembersStarts(t *testing.T) {
	d := startDaemon(t, "-c", writeFile(t, "test_config_file.yaml", openPerfBondFile))
	var one, two gen.Interface
	d.get("/interfaces/interface-one", &one) // OpenPerf's init_url is interface-two
	d.get("/interfaces/interface-two", &two)
	if one.PortId != "port0" || two.PortId != "port1" {
		t.Fatalf("interfaces on ports %q and %q, want port0 and port1", one.PortId, two.PortId)
	}
	var bond gen.Port
	d.get("/ports/port-bond", &bond)
	if bond.Kind != "bond" {
		t.Fatalf("port-bond is a %s port", bond.Kind)
	}
	var onPort0 []gen.Interface
	d.get("/interfaces?port_id=port0", &onPort0)
	if len(onPort0) != 1 || onPort0[0].Id == nil || *onPort0[0].Id != "interface-one" {
		t.Fatalf("interfaces on port0: %+v", onPort0)
	}
	// The member's interface can go and come back while the bond stands.
	d.expect("DELETE", "/interfaces/interface-one", nil, 204)
	d.expect("POST", "/interfaces", map[string]any{"id": "interface-one", "port_id": "port0", "config": map[string]any{
		"protocols": []any{map[string]any{"eth": map[string]any{"mac_address": "00:10:94:ae:d6:aa"}}}}}, 201)
	warnedOnce(t, d, "modules.network", "modules.tvlp", "modules.timesync", "modules.plugins")
}

func TestOpenPerfDataplaneConfigFileStarts(t *testing.T) {
	d := startDaemon(t, "-c", writeFile(t, "test_dataplane.yaml", `core: {log: {level: debug}}
modules:
  api: {port: 9000}
  socket: {force-unlink: true}
  packetio:
    dpdk:
      options: ["--no-huge"]
      test-mode: true
      port-ids: {port0: port0, port1: port1}
  network:
    driver: dpdk
resources:
  /interfaces/server-v6:
    port_id: port0
    config:
      protocols:
        - eth: {mac_address: "00:10:94:66:1a:2b"}
        - ipv6: {method: static, static: {address: "2001:2::1", prefix_length: 64}}
  /interfaces/client-v6:
    port_id: port1
    config:
      protocols:
        - eth: {mac_address: "00:10:94:66:2b:03"}
        - ipv6: {method: static, static: {address: "2001:2::2", prefix_length: 64}}
`))
	var it gen.Interface
	d.get("/interfaces/client-v6", &it) // OpenPerf's init_url
	warnedOnce(t, d, "modules.network")
}

// needCPUs01 fails (CI) or skips a test that needs CPUs 0 and 1.
func needCPUs01(t *testing.T) {
	t.Helper()
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err == nil && set.IsSet(0) && set.IsSet(1) {
		return
	}
	unmet(t, "needs CPUs 0 and 1 (have %d CPUs)", runtime.NumCPU())
}

func TestOpenPerfLaunchLinesStart(t *testing.T) {
	common := []string{"--modules.packetio.dpdk.test-mode", "--core.log.level", "debug", "--modules.socket.force-unlink",
		"--modules.packetio.dpdk.options=--no-huge", "--modules.packetio.dpdk.port-ids=port0=0, port1=1"}
	tests := []struct {
		name   string
		args   []string
		ports  int      // how many ports /ports lists
		warned []string // what the one warning names; nil: no warning
	}{
		{"default", common, 2, nil},
		{"packet-generator-drop", append(append([]string(nil), common...), "--modules.packetio.dpdk.drop-tx-overruns"), 2, nil},
		{"packetio-args-1 empty cpu mask", []string{"--modules.packetio.cpu-mask", "0x0"}, 0, nil},
		{"packetio-args-2 no-init", []string{"--modules.packetio.dpdk.no-init"}, 0, nil},
		{"tvlp plugins", append(append([]string(nil), common...), "-L", "libopenperf_tvlp.so", "-m", "../../build/openperf-linux-x86_64-testing/plugins/"),
			2, []string{"-L/--modules.plugins.load", "-m/--modules.plugins.path"}},
		{"other OpenPerf flags", append(append([]string(nil), common...), "-M", "0x1", "--modules.packetio.dpdk.no-lro",
			"--modules.packetio.dpdk.no-rx-interrupts", "--modules.network.driver", "dpdk", "--modules.cpu.cpu-mask", "0x1"),
			2, []string{"misc-worker-mask", "no-lro", "modules.network.driver", "modules.cpu.cpu-mask"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := startDaemon(t, tt.args...)
			var ports []gen.Port
			d.get("/ports", &ports)
			if len(ports) != tt.ports {
				t.Fatalf("/ports lists %d ports, want %d", len(ports), tt.ports)
			}
			// Modules that need ports still answer without them.
			var modules []gen.Module
			d.get("/modules", &modules)
			var stacks []gen.Stack
			d.get("/stacks", &stacks)
			var ifs []gen.Interface
			d.get("/interfaces", &ifs)
			d.get("/packet/generators", &[]gen.PacketGenerator{})
			if tt.ports == 0 {
				d.expect("POST", "/interfaces", map[string]any{"port_id": "port0", "config": map[string]any{
					"protocols": []any{map[string]any{"eth": map[string]any{"mac_address": "02:00:00:00:00:01"}}}}}, 400)
			}
			if tt.warned == nil {
				notWarned(t, d)
			} else {
				warnedOnce(t, d, tt.warned...)
			}
		})
	}
}

// packetio-args-3: cpu-mask 0x3 with rx and tx worker masks 0x2 leaves one
// worker, on CPU 1, receiving and transmitting.
func TestOpenPerfWorkerMasksPickTheWorkers(t *testing.T) {
	needCPUs01(t)
	d := startDaemon(t, "--modules.packetio.cpu-mask", "0x3", "--modules.packetio.dpdk.options=--no-huge",
		"--modules.packetio.dpdk.test-mode", "--modules.packetio.dpdk.rx-worker-mask", "0x2",
		"--modules.packetio.dpdk.tx-worker-mask", "0x2")
	var ws []gen.Worker
	d.get("/x/workers", &ws)
	if len(ws) != 1 || ws[0].Cpu != 1 {
		t.Fatalf("workers %+v, want one on CPU 1", ws)
	}
	d.expect("POST", "/ports/0/x/test-frames", map[string]any{"count": 1000}, 202)
	eventually(t, "the worker carries the frames", func() (bool, string) {
		d.get("/x/workers", &ws)
		return ws[0].RxPackets == 1000 && ws[0].TxPackets == 1000, fmt.Sprintf("%+v", ws)
	})
	notWarned(t, d)

	// Split: the worker on CPU 0 receives, the one on CPU 1 transmits.
	d = startDaemon(t, "--modules.packetio.cpu-mask", "0x3", "--modules.packetio.dpdk.test-mode", "-R", "0x1", "-T", "0x2")
	d.get("/x/workers", &ws)
	if len(ws) != 2 || ws[0].RxQueues == 0 || ws[1].RxQueues != 0 {
		t.Fatalf("workers %+v, want CPU 0 polling every queue and CPU 1 none", ws)
	}
	d.expect("POST", "/ports/0/x/test-frames", map[string]any{"count": 1000}, 202)
	eventually(t, "CPU 1 sends, CPU 0 receives", func() (bool, string) {
		d.get("/x/workers", &ws)
		return ws[0].RxPackets == 1000 && ws[0].TxPackets == 0 && ws[1].TxPackets == 1000 && ws[1].RxPackets == 0,
			fmt.Sprintf("%+v", ws)
	})
}

func TestUnknownKeysAndStrayArgumentsWarnButStart(t *testing.T) {
	path := writeFile(t, "typo.yaml", "shims: {default: {trace: 0}}\ncore:\n  log:\n    levle: debug\nmodules:\n  packetio:\n    dpdk: {test-mode: true}\n")
	d := startDaemon(t, "-c", path, "--modules.packetio.dpdk.no-lro", "stray")
	var ports []gen.Port
	d.get("/ports", &ports)
	if len(ports) != 2 {
		t.Fatalf("test mode from the file was not applied: %d ports", len(ports))
	}
	warnedOnce(t, d, "shims", "core.log.levle", `argument \"stray\"`, "--modules.packetio.dpdk.no-lro")
}

func TestMalformedValuesOfUsedFlagsStillStopStartUp(t *testing.T) {
	for _, args := range [][]string{
		{"--modules.packetio.dpdk.test-portpairs=-1"},
		{"--modules.packetio.dpdk.port-ids", "port0"},
		{"--modules.packetio.dpdk.rx-worker-mask", "zz"},
		{"--modules.packetio.cpu-mask", "0xq"},
		{"-l", "loud"},
	} {
		out := runFail(t, append([]string{"-p", fmt.Sprint(freePort(t)), testMode}, args...)...)
		if !oneLine(out) || !strings.Contains(out, strings.TrimLeft(strings.SplitN(args[0], "=", 2)[0], "-")) {
			t.Errorf("%q: want one line naming the flag, got:\n%s", args, out)
		}
	}
}
