package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// check is one line of openperfd doctor's table.
type check struct {
	name   string
	status string // "OK", "FIX" (real NICs need it) or "TIP" (advice)
	detail string
	fix    string
}

// nicPMDs are the NIC drivers the image ships; vdevPMDs the virtual ones.
var (
	nicPMDs  = []string{"i40e", "ice", "ixgbe", "mlx5", "virtio", "vmxnet3"}
	vdevPMDs = []string{"af_packet", "af_xdp", "memif", "tap", "null"}
)

// dpdkBinders are the kernel drivers a NIC is bound to for DPDK.
var dpdkBinders = []string{"vfio-pci", "uio_pci_generic", "igb_uio"}

// isDoctor reports whether the command line asks for openperfd doctor:
// "doctor" first, or last after flags (the image's entrypoint puts
// --modules.api.address 0.0.0.0 before whatever docker run adds), but
// not as a flag's value (-P doctor).
func isDoctor(args []string) bool {
	n := len(args)
	switch {
	case n == 0:
		return false
	case args[0] == "doctor":
		return true
	}
	return args[n-1] == "doctor" && !strings.HasPrefix(args[n-2], "-")
}

// doctor checks whether the host under root is ready for DPDK on real
// NICs and prints what to fix. It returns 0 only when nothing needs one.
func doctor(w io.Writer, root string) int {
	checks := hostChecks(root)
	fmt.Fprintln(w, "openperfd doctor: is this host ready for DPDK on real NICs?")
	fmt.Fprintln(w, "(test mode and the net_af_packet, net_tap and net_null vdevs need none of this)")
	code := 0
	for _, c := range checks {
		fmt.Fprintf(w, "%-4s %-16s %s\n", c.status, c.name, c.detail)
		if c.fix != "" {
			fmt.Fprintf(w, "     %-16s fix: %s\n", "", c.fix)
		}
		if c.status == "FIX" {
			code = 1
		}
	}
	if code == 0 {
		fmt.Fprintln(w, "ready: name the bound NICs with -d \"-a,<pci address>\" or let EAL probe them all")
	}
	return code
}

// hostChecks runs every check against the tree under root.
func hostChecks(root string) []check {
	return []check{
		checkHugepages(root), checkIOMMU(root), checkVFIO(root), checkBound(root),
		checkPMDs(root), checkIsolation(root), checkBPFFS(root),
	}
}

func checkHugepages(root string) check {
	h := readHugepages(root)
	c := check{name: "hugepages", status: "OK",
		detail: fmt.Sprintf("%d of %d free (%d kB each), hugetlbfs at %q", h.free, h.total, h.sizeKB, h.mount)}
	if !h.usable() {
		c.status = "FIX"
		c.fix = "echo 1024 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages; mount -t hugetlbfs none /dev/hugepages (openperfd falls back to --no-huge, enough for vdevs only)"
	}
	return c
}

func checkIOMMU(root string) check {
	if n := entries(root, "sys/class/iommu"); len(n) > 0 {
		return check{name: "IOMMU", status: "OK", detail: strings.Join(n, " ")}
	}
	if b, err := os.ReadFile(filepath.Join(root, "sys/module/vfio/parameters/enable_unsafe_noiommu_mode")); err == nil && strings.TrimSpace(string(b)) == "Y" {
		return check{name: "IOMMU", status: "OK", detail: "none, vfio in unsafe no-IOMMU mode"}
	}
	return check{name: "IOMMU", status: "FIX", detail: "no IOMMU enabled",
		fix: "turn on VT-d/AMD-Vi in the firmware and boot with intel_iommu=on iommu=pt (or, in a VM without one: echo Y > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode)"}
}

func checkVFIO(root string) check {
	if exists(root, "sys/bus/pci/drivers/vfio-pci") || exists(root, "sys/module/vfio_pci") {
		return check{name: "vfio-pci", status: "OK", detail: "module loaded"}
	}
	return check{name: "vfio-pci", status: "FIX", detail: "module not loaded", fix: "modprobe vfio-pci"}
}

func checkBound(root string) check {
	var bound []string
	for _, dev := range entries(root, "sys/bus/pci/devices") {
		link, err := os.Readlink(filepath.Join(root, "sys/bus/pci/devices", dev, "driver"))
		if err == nil && slices.Contains(dpdkBinders, filepath.Base(link)) {
			bound = append(bound, dev+"="+filepath.Base(link))
		}
	}
	if len(bound) == 0 {
		return check{name: "bound NICs", status: "FIX", detail: "no PCI device bound to vfio-pci or uio",
			fix: "dpdk-devbind.py --status; ip link set <if> down; dpdk-devbind.py -b vfio-pci <pci address>"}
	}
	return check{name: "bound NICs", status: "OK", detail: strings.Join(bound, " ")}
}

func checkPMDs(root string) check {
	var have, missing []string
	for _, p := range append(slices.Clone(nicPMDs), vdevPMDs...) {
		if pmdInstalled(root, p) {
			have = append(have, p)
		} else {
			missing = append(missing, p)
		}
	}
	c := check{name: "PMDs", status: "OK", detail: "installed: " + strings.Join(have, " ")}
	if len(have) == 0 {
		c.detail = "none installed"
	}
	if len(missing) > 0 {
		var pkgs []string
		for _, m := range missing {
			pkgs = append(pkgs, pmdPackage(m))
		}
		c.detail += "; missing: " + strings.Join(missing, " ")
		c.fix = "apt-get install " + strings.Join(pkgs, " ")
		if !slices.ContainsFunc(have, func(p string) bool { return slices.Contains(nicPMDs, p) }) {
			c.status = "FIX"
		} else {
			c.status = "TIP"
		}
	}
	return c
}

// pmdInstalled looks for the driver's shared object where Debian's DPDK
// keeps its plugins, or next to the libraries.
func pmdInstalled(root, pmd string) bool {
	for _, pat := range []string{"usr/lib/*/dpdk/pmds-*/librte_net_%s.so*", "usr/lib/*/librte_net_%s.so*", "usr/local/lib*/librte_net_%s.so*"} {
		if m, _ := filepath.Glob(filepath.Join(root, fmt.Sprintf(pat, pmd))); len(m) > 0 {
			return true
		}
	}
	return false
}

// pmdPackage is the Debian package of a PMD (DPDK 22.11: ABI 23).
func pmdPackage(pmd string) string {
	name := "librte-net-" + strings.ReplaceAll(pmd, "_", "-")
	if name[len(name)-1] >= '0' && name[len(name)-1] <= '9' {
		return name + "-23"
	}
	return name + "23"
}

func checkIsolation(root string) check {
	iso := strings.TrimSpace(readString(root, "sys/devices/system/cpu/isolated"))
	nohz := strings.TrimSpace(readString(root, "sys/devices/system/cpu/nohz_full"))
	if iso == "" || nohz == "" || nohz == "(null)" {
		return check{name: "CPU isolation", status: "TIP", detail: fmt.Sprintf("isolated %q, nohz_full %q", iso, nohz),
			fix: "for steady rates boot with isolcpus=<worker cpus> nohz_full=<worker cpus> and give them with --modules.packetio.cpu-mask"}
	}
	return check{name: "CPU isolation", status: "OK", detail: fmt.Sprintf("isolated %s, nohz_full %s", iso, nohz)}
}

func checkBPFFS(root string) check {
	if m := mountOf(root, "bpf"); m != "" {
		return check{name: "bpffs (af_xdp)", status: "OK", detail: "mounted at " + m}
	}
	return check{name: "bpffs (af_xdp)", status: "TIP", detail: "not mounted; net_af_xdp needs it",
		fix: "mount -t bpf bpf /sys/fs/bpf"}
}

func entries(root, dir string) []string {
	es, _ := os.ReadDir(filepath.Join(root, dir))
	var n []string
	for _, e := range es {
		n = append(n, e.Name())
	}
	return n
}

func exists(root, path string) bool {
	_, err := os.Stat(filepath.Join(root, path))
	return err == nil
}

func readString(root, path string) string {
	b, _ := os.ReadFile(filepath.Join(root, path))
	return string(b)
}
