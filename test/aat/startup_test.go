package aat

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Start-up on real hosts: EAL options added where the host lacks
// hugepages, failed starts that explain themselves and leave nothing
// behind, stale runtime directories of dead instances, openperfd doctor.

// hostHasHugepages reports whether hugepages are free and hugetlbfs is
// mounted: then openperfd uses them and adds no --no-huge.
func hostHasHugepages(t *testing.T) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		unmet(t, "read /proc/meminfo: %v", err)
	}
	free := 0
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "HugePages_Free:"); ok {
			free, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	mounts, _ := os.ReadFile("/proc/mounts")
	return free > 0 && strings.Contains(string(mounts), " hugetlbfs ")
}

func TestStartupVdevWithoutMemoryOptions(t *testing.T) {
	requireRoot(t, "EAL's runtime directory under /var/run/dpdk")
	d := startDaemon(t, "-l", "info", "-d", "--vdev=net_null0")
	var ports []map[string]any
	d.get("/ports", &ports)
	if len(ports) != 1 {
		t.Errorf("%d ports, want the one net_null0", len(ports))
	}
	out := d.stderr.String()
	if hostHasHugepages(t) {
		if strings.Contains(out, `"--no-huge"`) {
			t.Errorf("--no-huge added on a host with hugepages:\n%s", tail(out, 3000))
		}
		return
	}
	if !strings.Contains(out, `"msg":"EAL options added","options":["--no-huge","-m",`) || !strings.Contains(out, "no usable hugepages") {
		t.Errorf("no log line naming the added --no-huge -m and why:\n%s", tail(out, 3000))
	}
}

func TestStartupFailureExplainsAndLeavesNothing(t *testing.T) {
	requireRoot(t, "EAL's runtime directory under /var/run/dpdk")
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown PMD", []string{"-d", "--vdev=net_bogus0"}, []string{"net_bogus0", "fix: "}},
		{"missing interface", []string{"-d", "--vdev=net_af_packet0,iface=opd_nosuch0"}, []string{"SIOCGIFINDEX", "ip link"}},
		{"hugepages asked for", []string{"-d", "--socket-mem,64,--vdev=net_null0"}, []string{"hugepage", "--no-huge"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "hugepages asked for" && hostHasHugepages(t) {
				// With hugepages the same options must work instead.
				startDaemon(t, c.args...)
				return
			}
			prefix := uniquePrefix()
			dir := filepath.Join("/var/run/dpdk", prefix)
			t.Cleanup(func() { _ = os.RemoveAll(dir) })
			out := runFail(t, append([]string{"-p", strconv.Itoa(freePort(t)), "-P", prefix}, c.args...)...)
			if n := strings.Count(strings.TrimSpace(out), "\n") + 1; n > 2 {
				t.Errorf("%d lines on stderr, want one or two:\n%s", n, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("stderr %q lacks %q", out, w)
				}
			}
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("the failed start left %s behind", dir)
			}
		})
	}
}

func TestStartupCleansStaleRuntimeDir(t *testing.T) {
	requireRoot(t, "EAL's runtime directory under /var/run/dpdk")
	d := startDaemon(t, "-d", "--vdev=net_null0")
	dir := filepath.Join("/var/run/dpdk", d.prefix)
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-d.waited
	d.exited = true
	if _, err := os.Stat(filepath.Join(dir, "config")); err != nil {
		unmet(t, "kill -9 left no runtime directory to clean (%v): nothing to test", err)
	}
	// A live instance's directory is never taken: a second start on it fails.
	livePrefix := d.prefix + "_live"
	live := startDaemon(t, "-P", livePrefix, "-d", "--vdev=net_null0")
	out := runFail(t, "-p", strconv.Itoa(freePort(t)), "-P", livePrefix, "-d", "--vdev=net_null0")
	if !strings.Contains(out, "another DPDK process") {
		t.Errorf("second start on a live prefix: %q, want it named as in use", out)
	}
	if _, err := os.Stat(filepath.Join("/var/run/dpdk", livePrefix, "config")); err != nil {
		t.Errorf("the failed start removed the live instance's runtime directory: %v", err)
	}
	live.stop()
	_ = os.RemoveAll(filepath.Join("/var/run/dpdk", livePrefix))

	again := startDaemon(t, "-P", d.prefix, "-l", "info", "-d", "--vdev=net_null0")
	if !strings.Contains(again.stderr.String(), "removed the runtime directory a dead instance left") {
		t.Errorf("no log of the stale directory removed:\n%s", tail(again.stderr.String(), 3000))
	}
	if code, _ := again.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("%s left after a clean stop", dir)
	}
}

func TestStartupDoctor(t *testing.T) {
	cmd := exec.Command(binPath, "doctor")
	out, err := cmd.CombinedOutput()
	code := cmd.ProcessState.ExitCode()
	if err != nil && code <= 0 {
		t.Fatalf("openperfd doctor: %v\n%s", err, out)
	}
	for _, name := range []string{"hugepages", "IOMMU", "vfio-pci", "bound NICs", "PMDs", "CPU isolation", "bpffs", "test mode"} {
		if !strings.Contains(string(out), name) {
			t.Errorf("doctor's output lacks the %s check:\n%s", name, out)
		}
	}
	if !hostHasHugepages(t) {
		if !strings.Contains(string(out), "FIX  hugepages") || code == 0 {
			t.Errorf("a host without hugepages: exit %d, want non-zero and a FIX hugepages line:\n%s", code, out)
		}
	}
}
