// Command dpbench measures our data plane on one worker lcore against
// DPDK's net_null PMD, the way dpdk-testpmd's rxonly and txonly forwarding
// modes measure the C reference (bench/run.sh runs both and prints the
// ratios: every throughput figure is ours over testpmd's, same DPDK, same
// vdev, same single lcore, same machine, measured in the same run).
//
//	-mode rxonly  one worker polls net_null0's rx queue and hands every
//	              burst to a counting sink registered with workers.AddSink,
//	              then frees it: what the analyzer builds on.
//	-mode txonly  one worker runs a packetio.TestFrames source of 64-byte
//	              frames transmitting on net_null0: what the generator
//	              builds on. The port is offered to the workers without rx
//	              queues, as testpmd's txonly does not receive either.
//	-mode gentx   like txonly, but the source is the packet generator:
//	              eth/ipv4/udp templates of -size bytes, -flows flows (a
//	              UDP source port modifier; 1: none), a signature per
//	              packet unless -signatures=false.
//	-mode analyze-counters, -mode analyze-sig
//	              the packet analyzer (packet/analyzer) as the worker's rx
//	              sink on net_null0, polled as in rxonly. The traffic is
//	              made beforehand, off the worker (analyze.go): every
//	              buffer of the pool gets a generator frame (eth/ipv4/udp,
//	              -flows flows, a signature per packet unless
//	              -signatures=false, -size bytes on the wire, which must
//	              be 68: net_null's 64 plus FCS), and net_null's rx hands
//	              those buffers out without touching their data.
//	              analyze-counters counts frames per flow and the
//	              ethernet, ip and transport protocol counters;
//	              analyze-sig counts frames per flow plus latency,
//	              advanced sequencing and IPDV jitter from the signatures.
//	-mode analyze-floor
//	              the same traffic into a sink that only verifies every
//	              frame's IPv4 and UDP checksums and counts it by stream
//	              (floor.go): the least an analyzer verifying checksums
//	              does, for comparison.
//
// It starts EAL like the daemon (no hugepages, no PCI, a unique file
// prefix, main lcore on CPU 0), pins the worker to -cpu and registers it
// with EAL, warms up, counts packets over -seconds and prints one line:
//
//	ours rxonly 64B: 23.41 Mpps
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/packetio/dpdk"
	"github.com/openperfd/openperfd/workers"
)

// Sizes as the daemon picks them for one port and one worker.
const (
	rxDesc    = 1024
	txDesc    = 1024
	poolCache = 256
	reserve   = 4096
	// jumboBuffers is the jumbo pool of a gentx run of frames over 2 KiB:
	// the daemon's default size.
	jumboBuffers = 2047
)

func main() { os.Exit(run()) }

func run() int {
	mode := flag.String("mode", "rxonly", "rxonly, txonly, gentx, analyze-counters, analyze-sig or analyze-floor")
	seconds := flag.Float64("seconds", 5, "measurement time in seconds")
	warmup := flag.Duration("warmup", time.Second, "time to run before measuring")
	cpu := flag.Int("cpu", 1, "CPU of the worker lcore (EAL's main lcore is CPU 0)")
	size := flag.Int("size", 64, "txonly frame length in bytes, without FCS (rxonly: net_null's 64; gentx: with FCS, as the generator counts)")
	flows := flag.Int("flows", 1000, "gentx: flows (UDP source ports); 1 means no modifier")
	sigs := flag.Bool("signatures", true, "gentx: a signature in every packet")
	prefix := flag.String("prefix", fmt.Sprintf("dpbench_%d", os.Getpid()), "EAL --file-prefix")
	verbose := flag.Bool("v", false, "print worker and pool counters to stderr")
	flag.BoolVar(&protocolCounters, "protocol-counters", false, "count the port's frames by protocol, as the daemon does with --modules.packetio.dpdk.x-protocol-counters (off by default, as there)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run (all threads, the worker's among them) to this file")
	flag.Parse()
	if !isAnalyzeMode(*mode) && *mode != "rxonly" && *mode != "txonly" && *mode != "gentx" {
		fmt.Fprintf(os.Stderr, "dpbench: -mode %q: want rxonly, txonly, gentx, analyze-counters, analyze-sig or analyze-floor\n", *mode)
		return 2
	}
	maxSize := 2048
	if *mode == "gentx" {
		maxSize = memory.MaxJumboFrame // longer than 2052: from the jumbo pool, as the daemon does
	}
	if *seconds <= 0 || *size < 60 || *size > maxSize || *flows < 1 || *flows > 65536 {
		fmt.Fprintf(os.Stderr, "dpbench: -seconds must be > 0, -size 60..%d and -flows 1..65536\n", maxSize)
		return 2
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	gen := genConfig{size: *size, flows: *flows, signatures: *sigs}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "dpbench:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "dpbench:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	mpps, err := bench(ctx, *mode, *cpu, *size, gen, *prefix, *warmup, time.Duration(*seconds*float64(time.Second)), *verbose)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dpbench:", err)
		return 1
	}
	if *mode == "rxonly" {
		*size = 64 // net_null's default packet size
	}
	if isAnalyzeMode(*mode) {
		fmt.Printf("ours %s %dB (%dB with FCS) %d flows signatures %v: %.2f Mpps\n", *mode, *size-4, *size, *flows, *sigs, mpps)
		return 0
	}
	if *mode == "gentx" {
		fmt.Printf("ours %s %dB %d flows signatures %v: %.2f Mpps\n", *mode, *size, *flows, *sigs, mpps)
		return 0
	}
	fmt.Printf("ours %s %dB: %.2f Mpps\n", *mode, *size, mpps)
	return 0
}

// protocolCounters is -protocol-counters: dpdk.Options.ProtocolCounters.
var protocolCounters bool

// genConfig is what gentx generates.
type genConfig struct {
	size, flows int
	signatures  bool
}

func bench(ctx context.Context, mode string, cpu, size int, gen genConfig, prefix string, warmup, measure time.Duration, verbose bool) (mpps float64, err error) {
	pool, err := memory.PoolSize(rxDesc+txDesc, 2, poolCache, reserve)
	if err != nil {
		return 0, err
	}
	// The recycle pool, as the daemon's: the generator's ring comes from it.
	const recycle = 8191
	jumbo := 0
	if mode == "gentx" && size > memory.DefaultBufSize-packetio.MbufHeadroom+generator.FCSLen {
		jumbo = jumboBuffers
	}
	args := []string{"--no-huge", "-m", strconv.Itoa(memory.NoHugeMegabytes(pool+recycle) + memory.JumboMegabytes(jumbo)), "--no-pci", "--no-telemetry",
		"--file-prefix", prefix, "-l", "0", "--log-level", "4", "--vdev=net_null0"}
	if err := dpdk.InitEAL(args, func(l string) { fmt.Fprintln(os.Stderr, "dpdk:", l) }); err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, dpdk.CleanupEAL(prefix)) }()

	drv, err := dpdk.Open(dpdk.Options{Queues: 1, ExpectPorts: 1, PoolBuffers: pool, PoolCache: poolCache, RxDesc: rxDesc, TxDesc: txDesc,
		JumboBuffers: jumbo, RecycleBuffers: recycle, ProtocolCounters: protocolCounters})
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, drv.Close()) }()
	var null packetio.Port
	for _, p := range drv.Ports() {
		if p.Info().Driver == "net_null" {
			null = p
		}
	}
	if null == nil {
		return 0, errors.New("no net_null port")
	}

	w, err := workers.New(workers.Config{
		CPUs: []int{cpu}, Driver: drv,
		RegisterThread: dpdk.RegisterThread, UnregisterThread: dpdk.UnregisterThread,
	})
	if err != nil {
		return 0, err
	}
	if err := w.Start(); err != nil {
		return 0, err
	}
	defer w.Stop()

	info := null.Info()
	var count func() uint64
	switch mode {
	case "rxonly":
		sink := &countingSink{}
		w.AttachPort(null)
		w.AddSink(info.ID, sink)
		count = sink.pkts.Load
	case "txonly":
		w.AttachPort(txOnlyPort{null})
		src := packetio.NewTestFrames(drv.Pool(), info.MAC, [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, size, math.MaxInt64)
		if err := w.AddSource(info.ID, src); err != nil {
			return 0, err
		}
		count = func() uint64 { s, _ := src.Counts(); return uint64(s) }
	case "gentx":
		// The packet generator's path: eth/ipv4/udp templates, flows
		// of a source-port modifier, a signature per packet.
		w.AttachPort(txOnlyPort{null})
		prog, err := generatorProgram(gen)
		if err != nil {
			return 0, err
		}
		var pool packetio.Pool = drv.Pool()
		if jumbo > 0 {
			pool = drv.JumboPool()
		}
		src, err := generator.NewSource(prog, pool, generator.Pacing{Rate: 1e12, Burst: packetio.TxBurstSize}, nil)
		if err != nil {
			return 0, err
		}
		if jumbo > 0 {
			src.PullOnly()
		} else {
			src.SetRecyclePool(drv.RecyclePool()) // as the daemon does
		}
		// As the daemon does: frames of a burst are stamped a wire time
		// apart at the port's speed (net_null's 10 Gbps).
		src.SetLinkSpeed(null.Link().SpeedMbps)
		if err := w.AddSource(info.ID, src); err != nil {
			return 0, err
		}
		count = func() uint64 { return src.Counters().Actual }
	default: // analyze-*
		stop, err := startAnalyzer(drv, w, null, mode, gen)
		if err != nil {
			return 0, err
		}
		defer stop()
		count = analyzed.Load
	}

	if !sleep(ctx, warmup) {
		return 0, errors.New("interrupted")
	}
	c0, s0, t0 := count(), w.Stats()[0], time.Now()
	if !sleep(ctx, measure) {
		return 0, errors.New("interrupted")
	}
	c1, s1, t1 := count(), w.Stats()[0], time.Now()
	if c1 == c0 {
		return 0, fmt.Errorf("%s: no packets in %v", mode, measure)
	}
	if verbose {
		loops := (s1.BusyLoops + s1.IdleLoops) - (s0.BusyLoops + s0.IdleLoops)
		fmt.Fprintf(os.Stderr, "dpbench %s: %d packets in %v; worker lcore %d on CPU %d: %d loops (%d idle, %d sleeps), %.1f packets/loop, %.1f ns/loop; pool %+v\n",
			mode, c1-c0, t1.Sub(t0).Round(time.Millisecond), s1.Lcore, s1.CPU, loops, s1.IdleLoops-s0.IdleLoops, s1.IdleSleeps-s0.IdleSleeps,
			float64(c1-c0)/float64(max(loops, 1)), float64(t1.Sub(t0).Nanoseconds())/float64(max(loops, 1)), drv.Pool().Stats())
	}
	return float64(c1-c0) / t1.Sub(t0).Seconds() / 1e6, nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// countingSink counts packets and bytes, one atomic add of each per burst.
type countingSink struct {
	pkts, bytes atomic.Uint64
}

func (c *countingSink) Push(_ uint16, pkts []*packetio.Mbuf) {
	var n uint64
	for _, m := range pkts {
		n += uint64(m.Len())
	}
	c.bytes.Add(n)
	c.pkts.Add(uint64(len(pkts)))
}

// txOnlyPort hides a port's rx queues from the workers, so the txonly
// worker does what testpmd's txonly lcore does: transmit and nothing else.
// (net_null's rx never runs dry, so polling it would double the work.)
type txOnlyPort struct{ packetio.Port }

func (p txOnlyPort) Info() packetio.PortInfo {
	i := p.Port.Info()
	i.RxQueues = 0
	return i
}

// TxRefill passes on the port's packetio.RefillPort, so the generator
// gets the path it has on the daemon's ports.
func (p txOnlyPort) TxRefill(q uint16, pkts []*packetio.Mbuf, off, n, spare, want int) (sent, avail int) {
	return p.Port.(packetio.RefillPort).TxRefill(q, pkts, off, n, spare, want)
}

// generatorProgram compiles one eth/ipv4/udp definition of g.size bytes
// on the wire, g.flows flows over the UDP source port (none for 1), with
// or without signatures.
func generatorProgram(g genConfig) (*generator.Program, error) {
	udp := generator.HeaderDef{Header: protocol.UDP{SrcPort: 1024, DstPort: 3357}}
	if g.flows > 1 {
		seq := &generator.ValueSequence{Count: uint32(g.flows), Start: generator.Uint(1024)}
		udp.Modifiers = []generator.Modifier{{Name: "source_port", Kind: generator.KindField, Sequence: seq}}
	}
	def := generator.TrafficDefinition{
		Headers: []generator.HeaderDef{
			{Header: protocol.Ethernet{Dst: [6]byte{2, 0, 0, 0, 0, 2}, Src: [6]byte{2, 0, 0, 0, 0, 1}}},
			{Header: protocol.IPv4{TTL: 64, Src: [4]byte{10, 0, 0, 1}, Dst: [4]byte{10, 0, 0, 2}}},
			udp,
		},
		Length: generator.Length{Fixed: g.size},
	}
	if g.signatures {
		def.Signature = &generator.SignatureConfig{StreamID: 1}
	}
	return generator.Compile([]generator.TrafficDefinition{def}, generator.OrderRoundRobin, 0)
}
