package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap/zapcore"
)

// fakeHost writes files (path: content; content "->x" makes a symlink to x)
// under a temporary root.
func fakeHost(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(c, "->"); ok {
			err = os.Symlink(target, full)
		} else {
			err = os.WriteFile(full, []byte(c), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestDoctorReadyHost(t *testing.T) {
	root := fakeHost(t, map[string]string{
		"proc/meminfo":                            "HugePages_Total:    1024\nHugePages_Free:     1000\nHugepagesize:       2048 kB\n",
		"proc/mounts":                             "hugetlbfs /dev/hugepages hugetlbfs rw 0 0\nbpf /sys/fs/bpf bpf rw 0 0\n",
		"sys/class/iommu/dmar0/x":                 "",
		"sys/module/vfio_pci/x":                   "",
		"sys/bus/pci/devices/0000:01:00.0/driver": "->../../../bus/pci/drivers/vfio-pci",
		"sys/bus/pci/devices/0000:02:00.0/driver": "->../../../bus/pci/drivers/ixgbe",
		"usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0/librte_net_ice.so.23": "",
		"sys/devices/system/cpu/isolated":                              "2-3\n",
		"sys/devices/system/cpu/nohz_full":                             "2-3\n",
	})
	var out bytes.Buffer
	if code := doctor(&out, root); code != 0 {
		t.Errorf("exit %d on a ready host:\n%s", code, &out)
	}
	for _, want := range []string{"OK   hugepages", "1000 of 1024", "0000:01:00.0=vfio-pci", "installed: ice", "TIP  PMDs", "OK   bpffs", "test mode"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, &out)
		}
	}
	if strings.Contains(out.String(), "0000:02:00.0") {
		t.Errorf("a device on a kernel driver listed as bound:\n%s", &out)
	}
}

func TestDoctorBareHost(t *testing.T) {
	root := fakeHost(t, map[string]string{
		"proc/meminfo": "HugePages_Total:       0\nHugePages_Free:        0\nHugepagesize:       2048 kB\n",
		"proc/mounts":  "proc /proc proc rw 0 0\n",
	})
	var out bytes.Buffer
	if code := doctor(&out, root); code == 0 {
		t.Errorf("exit 0 on a bare host:\n%s", &out)
	}
	for _, want := range []string{"FIX  hugepages", "FIX  IOMMU", "FIX  vfio-pci", "FIX  bound NICs", "FIX  PMDs", "librte-net-mlx5-23", "librte-net-i40e23", "mount -t bpf"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, &out)
		}
	}
}

func TestMemoryArgsFollowHugepages(t *testing.T) {
	saved := hostHugepages
	t.Cleanup(func() { hostHugepages = saved })
	for _, tt := range []struct {
		name   string
		opts   []string
		test   bool
		huge   bool
		want   string
		refuse string
	}{
		{"no hugepages: memory added", []string{"--vdev=net_null0"}, false, false, "--no-huge -m 64 --no-pci --no-telemetry", ""},
		{"hugepages used", []string{"--vdev=net_null0"}, false, true, "--no-telemetry", "--no-huge"},
		{"PCI device named: PCI stays", []string{"-a", "0000:01:00.0"}, false, false, "--no-huge -m 64 --no-telemetry", "--no-pci"},
		{"user's memory kept", []string{"-m", "512", "--telemetry"}, false, false, "", "--no-huge"},
		{"test mode defaults", nil, true, true, "--no-huge -m 64 --no-pci --no-telemetry", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hostHugepages = func() hugepages {
				if tt.huge {
					return hugepages{total: 8, free: 8, sizeKB: 2048, mount: "/dev/hugepages"}
				}
				return hugepages{}
			}
			added, why := memoryArgs(tt.opts, tt.test, 64)
			got := strings.Join(added, " ")
			if got != tt.want || tt.refuse != "" && strings.Contains(got, tt.refuse) {
				t.Errorf("added %q, want %q", got, tt.want)
			}
			if !tt.huge && len(tt.opts) > 0 && tt.opts[0] == "--vdev=net_null0" && !strings.Contains(why, "hugepages") {
				t.Errorf("why %q does not name hugepages", why)
			}
		})
	}
}

func TestRemoveRuntimeDirSparesLiveOnes(t *testing.T) {
	base := t.TempDir()
	dead := filepath.Join(base, "dead")
	if err := os.MkdirAll(dead, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dead, "config"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if gone, err := removeRuntimeDir(base, "dead"); !gone || err != nil {
		t.Errorf("dead instance's dir: gone %v, %v", gone, err)
	}
	if _, err := os.Stat(dead); err == nil {
		t.Error("dead instance's dir still there")
	}
	for _, bad := range []string{"", "..", "a/b"} {
		if gone, _ := removeRuntimeDir(base, bad); gone {
			t.Errorf("prefix %q accepted", bad)
		}
	}
}

func FuzzHostParsers(f *testing.F) {
	f.Add([]byte("HugePages_Total: 4\nHugePages_Free: 2\nHugepagesize: 2048 kB\n"))
	f.Add([]byte("none /dev/hugepages hugetlbfs rw 0 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h := parseMeminfo(b)
		_ = h.usable()
		if m := mountIn(b, "hugetlbfs"); strings.ContainsAny(m, " \n") {
			t.Errorf("mount point %q has a separator", m)
		}
	})
}

func TestStartErrorSaysCauseAndFix(t *testing.T) {
	dl := &dpdkLog{errors: []string{"No free 2048 kB hugepages reported on node 0", "FATAL: Cannot get hugepage information."}}
	err := startError(errors.New("EAL: FATAL: Cannot get hugepage information."), dl, "p")
	lines := strings.Split(err.Error(), "; fix: ")
	if strings.Contains(err.Error(), "\n") || len(lines) != 2 || !strings.Contains(lines[0], "No free 2048 kB") || !strings.Contains(lines[1], "--no-huge") {
		t.Errorf("error %q: want the cause and the fix in one line", err)
	}
}

func TestIsDoctor(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want bool
	}{
		{[]string{"doctor"}, true},
		{[]string{"--modules.api.address", "0.0.0.0", "doctor"}, true},
		{[]string{"-P", "doctor"}, false},
		{[]string{"-p", "9000"}, false},
		{nil, false},
	} {
		if got := isDoctor(tt.args); got != tt.want {
			t.Errorf("isDoctor(%q) = %v", tt.args, got)
		}
	}
}

func TestFixForNamesTheRemedy(t *testing.T) {
	for _, tt := range []struct{ what, want string }{
		{"EAL: Cannot get hugepage information.", "--no-huge"},
		{"EAL: Cannot init config (Cannot create lock on '/var/run/dpdk/p/config'. Is another primary process running?)", `prefix "p"`},
		{"EAL: openperfd: unrecognized option '--x'", "EAL options"},
		{"EAL made 0 ports (net_af_packet0: ioctl failed (SIOCGIFINDEX):No such device)", "ip link"},
		{`EAL: No such device (failed to parse device "net_bogus0")`, "driver name"},
		{"EAL: VFIO group is not viable", "vfio-pci"},
		{"something new", "openperfd doctor"},
	} {
		if got := fixFor(tt.what, "p"); !strings.Contains(got, tt.want) {
			t.Errorf("fixFor(%q) = %q, want it to mention %q", tt.what, got, tt.want)
		}
	}
	if zapLevel(1) != zapcore.ErrorLevel || zapLevel(5) != zapcore.WarnLevel || zapLevel(6) != zapcore.InfoLevel || zapLevel(8) != zapcore.DebugLevel {
		t.Error("rte_log levels map wrongly onto zap's")
	}
}
