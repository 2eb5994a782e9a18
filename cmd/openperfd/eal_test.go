package main

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/openperfd/openperfd/cmd/openperfd/config"
	"github.com/openperfd/openperfd/memory"
)

func mustLoad(t *testing.T, args ...string) *config.Config {
	t.Helper()
	cfg, err := config.Load(args)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestDefaultEALArgsNeedNoHugepagesOrPCI(t *testing.T) {
	p, err := planDataplane(mustLoad(t, "--modules.packetio.dpdk.test-mode", "-P", "pfx"))
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(p.ealArgs, " ")
	for _, want := range []string{"--no-huge", "-m ", "--no-pci", "--file-prefix pfx", "--no-telemetry", "-l "} {
		if !strings.Contains(args, want) {
			t.Errorf("EAL args %q lack %q", args, want)
		}
	}
	if p.poolBuffers < 1023 || (p.poolBuffers+1)&p.poolBuffers != 0 {
		t.Errorf("pool of %d buffers, want 2^n-1 and at least 1023", p.poolBuffers)
	}
}

func TestUserEALArgsAreKeptAndCompleted(t *testing.T) {
	p, err := planDataplane(mustLoad(t, "-d", "--no-huge,--vdev=net_null0,--vdev,net_af_packet0,iface=veth0", "-P", "x"))
	if err != nil {
		t.Fatal(err)
	}
	if p.expectPorts != 2 {
		t.Errorf("expect %d ports from two vdevs", p.expectPorts)
	}
	if !slices.Contains(p.ealArgs, "-m") {
		t.Errorf("--no-huge without -m gets a computed -m: %q", p.ealArgs)
	}
	if slices.Contains(p.ealArgs, "--no-pci") {
		t.Errorf("--no-pci added outside test mode: %q", p.ealArgs)
	}

	p, err = planDataplane(mustLoad(t, "-d", "-m,512,--file-prefix=mine,-l,0"))
	if err != nil {
		t.Fatal(err)
	}
	if p.prefix != "mine" {
		t.Errorf("prefix %q, want the user's file prefix (cleanup removes its runtime dir)", p.prefix)
	}
	if n := strings.Count(strings.Join(p.ealArgs, " "), "-m "); n != 1 {
		t.Errorf("-m given %d times: %q", n, p.ealArgs)
	}
	if slices.Contains(p.ealArgs, "--lcores") || strings.Count(strings.Join(p.ealArgs, " "), "-l ") != 1 {
		t.Errorf("lcores duplicated: %q", p.ealArgs)
	}
}

func TestCPUMaskPicksWorkerCPUs(t *testing.T) {
	p, err := planDataplane(mustLoad(t, "--modules.packetio.cpu-mask", "0x1"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.workerCPUs, []int{0}) {
		t.Errorf("workers on %v, want [0]", p.workerCPUs)
	}
	if _, err := planDataplane(mustLoad(t, "--modules.packetio.cpu-mask", "0x8000000000000000")); err == nil {
		t.Error("a mask naming a CPU we do not have was accepted")
	}
}

func TestMainLcoreAndControlCPUsAvoidWorkerCPUs(t *testing.T) {
	var avail unix.CPUSet
	if err := unix.SchedGetaffinity(0, &avail); err != nil || avail.Count() < 2 || !avail.IsSet(0) || !avail.IsSet(1) {
		t.Skip("needs CPUs 0 and 1")
	}
	tests := []struct {
		name string
		args []string
	}{
		{"default: workers on all but the first CPU", nil},
		{"cpu-mask on CPU 0", []string{"--modules.packetio.cpu-mask", "0x1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := planDataplane(mustLoad(t, tt.args...))
			if err != nil {
				t.Fatal(err)
			}
			if len(p.controlCPUs) == 0 || len(p.controlCPUs)+len(p.workerCPUs) != avail.Count() {
				t.Fatalf("control CPUs %v and worker CPUs %v do not split the %d CPUs", p.controlCPUs, p.workerCPUs, avail.Count())
			}
			for _, c := range p.controlCPUs {
				if slices.Contains(p.workerCPUs, c) {
					t.Errorf("CPU %d is both a control and a worker CPU", c)
				}
			}
			if slices.Contains(p.workerCPUs, p.mainCPU) || !slices.Contains(p.ealArgs, strconv.Itoa(p.mainCPU)) {
				t.Errorf("EAL's main lcore on CPU %d (args %q), worker CPUs %v", p.mainCPU, p.ealArgs, p.workerCPUs)
			}
		})
	}
}

// The jumbo pool's buffers are in EAL's -m, and without it the -m is what
// the 2 KiB pool alone needs.
func TestJumboPoolIsInTheEALMemory(t *testing.T) {
	m := func(args ...string) int {
		t.Helper()
		p, err := planDataplane(mustLoad(t, append([]string{"--modules.packetio.dpdk.test-mode", "-P", "pfx"}, args...)...))
		if err != nil {
			t.Fatal(err)
		}
		i := slices.Index(p.ealArgs, "-m")
		if i < 0 || i+1 == len(p.ealArgs) {
			t.Fatalf("no -m in %q", p.ealArgs)
		}
		n, err := strconv.Atoi(p.ealArgs[i+1])
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	with, without := m(), m("--modules.packetio.dpdk.jumbo-buffers=0")
	if want := memory.JumboMegabytes(config.DefaultJumboBuffers); with-without != want || want < 19 {
		t.Errorf("-m %d with the default jumbo pool, %d without; want %d MB more (2047 buffers of ~9.6 KB)", with, without, want)
	}
}
