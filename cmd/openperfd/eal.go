package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/openperfd/openperfd/cmd/openperfd/config"
	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/workers"
)

// Sizes of the data plane. Ring-pair queues hold up to ringSize packets in
// flight per direction; rx/tx descriptors are what NIC drivers ask for.
const (
	rxDesc    = 1024
	txDesc    = 1024
	ringSize  = 1024
	poolCache = 256
	reserve   = 4096 // buffers for sources and the stack beyond queue fill
	// recycleBuffers is the size of the recycle pool, where generators'
	// rings of recycled frames come from: ~3 rings of 2048 flows, 64 of
	// the least (128 buffers). Rings beyond it come from the packet pool,
	// and the pool's buffers go back to it when a port frees them.
	recycleBuffers = 8191
)

// dataplanePlan is what start-up works out before EAL runs.
type dataplanePlan struct {
	prefix      string
	workerCPUs  []int
	workerRoles []workers.Role // nil: every worker receives and transmits
	noPorts     bool           // packet I/O off: no EAL, no ports
	// controlCPUs are the available CPUs that are not worker CPUs: where
	// the Go runtime, the API, the stack and DPDK's own threads run. Empty
	// when the workers take every CPU (then nothing can be kept apart).
	controlCPUs []int
	mainCPU     int // EAL's main lcore: a control CPU when there is one
	ealArgs     []string
	added       []string // EAL options start-up added to the user's for memory
	addedWhy    string   // why, for the log; "" when the user gave no options
	expectPorts int
	poolBuffers int
	// jumboBuffers is the jumbo pool's size (0: none); its -m share is
	// memory.JumboMegabytes.
	jumboBuffers int
	// recycleBuffers is the recycle pool's size (packetio.RecyclePools).
	recycleBuffers int
}

// planDataplane picks worker CPUs, the pool size and the EAL arguments.
// When the user gives no EAL options the defaults need no hugepages and
// no PCI devices in test mode, so the daemon starts on any machine.
func planDataplane(cfg *config.Config) (*dataplanePlan, error) {
	p := &dataplanePlan{prefix: cfg.Prefix}
	if p.prefix == "" {
		p.prefix = fmt.Sprintf("openperfd_%d", os.Getpid())
	}
	if cfg.PacketIO.Disabled() {
		// OpenPerf's no-init (or an empty cpu-mask): no EAL and no ports.
		// One unpinned worker keeps the services that expect workers
		// working; with no port it only sleeps.
		p.noPorts, p.workerCPUs = true, []int{-1}
		return p, nil
	}
	var avail unix.CPUSet
	if err := unix.SchedGetaffinity(0, &avail); err != nil {
		return nil, fmt.Errorf("read CPU affinity: %w", err)
	}
	var cpus []int
	for c := 0; c < 1024; c++ {
		if avail.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) == 0 {
		return nil, fmt.Errorf("no CPUs available")
	}
	if cfg.PacketIO.CPUMask != "" {
		mask, err := config.CPUs(cfg.PacketIO.CPUMask)
		if err != nil {
			return nil, fmt.Errorf("--modules.packetio.cpu-mask: %w", err)
		}
		for _, c := range mask {
			if c >= 1024 || !avail.IsSet(c) {
				return nil, fmt.Errorf("--modules.packetio.cpu-mask %q: CPU %d is not available to this process", cfg.PacketIO.CPUMask, c)
			}
			p.workerCPUs = append(p.workerCPUs, c)
		}
	} else if len(cpus) > 1 {
		// Leave the first CPU to the API, the stack and the Go runtime.
		p.workerCPUs = cpus[1:]
	} else {
		p.workerCPUs = cpus
	}
	var err error
	p.workerCPUs, p.workerRoles, err = workerRoles(p.workerCPUs, cfg.PacketIO.DPDK.RxWorkerMask, cfg.PacketIO.DPDK.TxWorkerMask)
	if err != nil {
		return nil, err
	}
	for _, c := range cpus {
		if !slices.Contains(p.workerCPUs, c) {
			p.controlCPUs = append(p.controlCPUs, c)
		}
	}
	// EAL pins the thread that runs rte_eal_init to the main lcore's CPU
	// while it starts and gives its control threads the CPUs that thread
	// may use minus the lcores' (or the main lcore's, when none is left):
	// the main lcore belongs on a control CPU, never on a worker's.
	p.mainCPU = cpus[0]
	if len(p.controlCPUs) > 0 {
		p.mainCPU = p.controlCPUs[0]
	}

	opts := cfg.PacketIO.DPDK.Options
	for i, a := range opts {
		if a == "--vdev" && i+1 < len(opts) || strings.HasPrefix(a, "--vdev=") {
			p.expectPorts++
		}
	}
	pairs := 0
	if cfg.PacketIO.DPDK.TestMode {
		pairs = cfg.PacketIO.DPDK.TestPortPairs
	}
	ports := p.expectPorts + 2*pairs
	if ports == 0 {
		ports = 2 // PCI devices: a guess for sizing; the pool grows with -m
	}
	q := len(p.workerCPUs)
	desc := ports*q*(rxDesc+txDesc) + 2*pairs*q*ringSize
	n, err := memory.PoolSize(desc, q+1, poolCache, reserve)
	if err != nil {
		return nil, err
	}
	p.poolBuffers = n
	p.jumboBuffers = cfg.PacketIO.DPDK.JumboBuffers
	p.recycleBuffers = recycleBuffers

	p.added, p.addedWhy = memoryArgs(opts, cfg.PacketIO.DPDK.TestMode, p.poolMegabytes())
	args := append(append([]string(nil), opts...), p.added...)
	if !has(opts, "--file-prefix") {
		args = append(args, "--file-prefix", p.prefix)
	} else {
		p.prefix = value(opts, "--file-prefix")
	}
	if !has(opts, "-l", "-c", "--lcores") {
		args = append(args, "-l", strconv.Itoa(p.mainCPU))
	}
	if !has(opts, "--log-level") {
		args = append(args, "--log-level", ealLogLevel(cfg.Log.Level))
	}
	p.ealArgs = args
	return p, nil
}

// poolMegabytes is the EAL memory, in MB, the pools need without
// hugepages: the 2 KiB pools (packets, recycled frames) with EAL's
// overhead, and the jumbo pool.
func (p *dataplanePlan) poolMegabytes() int {
	mb := memory.NoHugeMegabytes(p.poolBuffers + p.recycleBuffers)
	if p.jumboBuffers > 0 {
		mb += memory.JumboMegabytes(p.jumboBuffers)
	}
	return mb
}

// hostHugepages reads this host's hugepages; a variable for tests.
var hostHugepages = func() hugepages { return readHugepages("/") }

// memoryArgs are the EAL options added to the user's (opts) so EAL finds
// memory: test mode without options, and options that name no memory on
// a host without usable hugepages, get --no-huge and a -m sized from the
// pool; a host with hugepages keeps EAL's default, which uses them. PCI
// probing is off where memory is not hugepages (no NIC can DMA from it)
// unless the user names PCI devices. Telemetry is off unless named: its
// socket is one more file in the runtime directory.
func memoryArgs(opts []string, testMode bool, megabytes int) (added []string, why string) {
	noHuge := []string{"--no-huge", "-m", strconv.Itoa(megabytes)}
	switch {
	case len(opts) == 0 && testMode:
		added = noHuge
	case !has(opts, "--no-huge", "-m", "--socket-mem", "--socket-limit", "--in-memory", "--huge-dir"):
		if h := hostHugepages(); !h.usable() {
			added = noHuge
			why = fmt.Sprintf("no usable hugepages (%d free, hugetlbfs mounted: %t)", h.free, h.mount != "")
		}
	case has(opts, "--no-huge") && !has(opts, "-m", "--socket-mem"):
		added, why = noHuge[1:], "--no-huge without -m"
	}
	if len(added) > 0 && added[0] == "--no-huge" && !has(opts, "-a", "--allow", "-w", "--pci-whitelist", "-b", "--block", "--no-pci") {
		added = append(added, "--no-pci")
	}
	if !has(opts, "--telemetry", "--no-telemetry") {
		added = append(added, "--no-telemetry")
	}
	if len(opts) == 0 {
		why = ""
	}
	return added, why
}

// has reports whether any of the options names appears, alone or as name=value.
func has(opts []string, names ...string) bool {
	for _, o := range opts {
		for _, n := range names {
			if o == n || strings.HasPrefix(o, n+"=") || (len(n) == 2 && strings.HasPrefix(o, n) && len(o) > 2) {
				return true
			}
		}
	}
	return false
}

func value(opts []string, name string) string {
	for i, o := range opts {
		if v, ok := strings.CutPrefix(o, name+"="); ok {
			return v
		}
		if o == name && i+1 < len(opts) {
			return opts[i+1]
		}
	}
	return ""
}

// ealLogLevel maps our level to DPDK's (syslog numbers); EAL's info level
// is chatty, so our info shows its warnings and up.
func ealLogLevel(level string) string {
	switch level {
	case "trace", "debug":
		return "7"
	case "info", "warning":
		return "5"
	case "error":
		return "4"
	default:
		return "3"
	}
}
