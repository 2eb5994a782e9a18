package main

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openperfd/openperfd/packet/analyzer"
	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/packetio/dpdk"
	"github.com/openperfd/openperfd/workers"
)

// analyzerModes are the analyzer rows' configurations. Counters only:
// frames per flow (always on) and the ethernet, ip and transport protocol
// counters, which is what a user gets asking for protocol counters and
// nothing per flow. Signatures: frames per flow, latency, advanced
// sequencing and IPDV jitter, the per-flow results that need the trailer.
var analyzerModes = map[string]analyzer.Config{
	"analyze-counters": {
		ProtocolCounters: analyzer.CountEthernet | analyzer.CountIP | analyzer.CountTransport,
		FlowCounters:     analyzer.FrameCount,
	},
	"analyze-sig": {
		FlowCounters: analyzer.FrameCount | analyzer.Latency | analyzer.AdvancedSequencing | analyzer.JitterIPDV,
	},
}

// feedMbufs is the feeder's prebuilt set: more than the ring (RingSize,
// 1024) and the worker's bursts can hold, so the next one in the cycle is
// normally free again when the feeder comes back to it.
const feedMbufs = 4096

// feederCPU is EAL's main lcore's CPU: the traffic source stays off the
// measured worker's CPU.
const feederCPU = 0

// analyzed counts the packets the analyzer was given (one atomic add per
// burst).
var analyzed atomic.Uint64

// countedAnalyzer is the analyzer as the worker's sink, counting bursts.
type countedAnalyzer struct{ a *analyzer.Analyzer }

func (c countedAnalyzer) Push(port uint16, pkts []*packetio.Mbuf) {
	c.a.Push(port, pkts)
	analyzed.Add(uint64(len(pkts)))
}

// startAnalyzer wires the analyzer row: the worker polls one port of the
// ring pair into the analyzer; a feeder on CPU 0 transmits on the other. stop
// stops the feeder and drops its references.
func startAnalyzer(drv *dpdk.Driver, w *workers.Workers, mode string, g genConfig) (stop func(), err error) {
	var rings []packetio.Port
	for _, p := range drv.Ports() {
		if p.Info().Driver == "net_ring" {
			rings = append(rings, p)
		}
	}
	if len(rings) != 2 {
		return nil, fmt.Errorf("want one net_ring pair, have %d ring ports", len(rings))
	}
	a, b := rings[0], rings[1] // the feeder sends on a, the worker receives on b
	prog, err := generatorProgram(g)
	if err != nil {
		return nil, err
	}
	an, err := analyzer.New(analyzerModes[mode])
	if err != nil {
		return nil, err
	}
	an.Start()
	f := &feeder{port: a, pool: drv.Pool(), w: prog.NewWriter(), ring: make([]*packetio.Mbuf, feedMbufs), burst: drv.NewBurst()}
	for i := 0; i < feedMbufs; i += packetio.BurstSize {
		if !f.pool.Alloc(f.ring[i : i+packetio.BurstSize]) {
			f.pool.Free(f.ring[:i])
			return nil, fmt.Errorf("feeder: cannot allocate %d mbufs", feedMbufs)
		}
	}
	for _, m := range f.ring {
		if len(m.Room()) < prog.MaxFrameLen() {
			f.pool.Free(f.ring)
			return nil, fmt.Errorf("feeder: mbufs hold %d bytes, frames need %d", len(m.Room()), prog.MaxFrameLen())
		}
	}
	ready := make(chan error, 1)
	f.wg.Add(1)
	go f.run(ready)
	if err := <-ready; err != nil {
		f.wg.Wait()
		f.pool.Free(f.ring)
		return nil, err
	}
	w.AttachPort(b)
	w.AddSink(b.Info().ID, countedAnalyzer{an})
	return func() {
		f.stop.Store(true)
		f.wg.Wait()
		w.RemoveSink(b.Info().ID, countedAnalyzer{an})
		an.Stop()
		// Drop the feeder's references: a frame still in the ring or a
		// worker's burst goes back to the pool when that one is freed.
		for _, m := range f.burst.Pkts[:f.pending] {
			f.pool.Free([]*packetio.Mbuf{m}) // taken but never sent
		}
		f.pool.Free(f.ring)
		f.burst.Free()
	}, nil
}

// feeder is the traffic source of the analyzer rows.
type feeder struct {
	port    packetio.Port
	pool    packetio.Pool
	w       *generator.Writer
	ring    []*packetio.Mbuf // the prebuilt set; the feeder holds one reference to each
	next    int              // ring index of the next frame to write
	burst   packetio.Burst   // frames taken (refcount 2), not yet sent: Pkts[:pending]
	pending int
	stop    atomic.Bool
	wg      sync.WaitGroup
}

func (f *feeder) run(ready chan<- error) {
	defer f.wg.Done()
	runtime.LockOSThread() // the thread stays pinned: it is thrown away on exit
	var set unix.CPUSet
	set.Set(feederCPU)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		ready <- fmt.Errorf("feeder: pin to CPU %d: %w", feederCPU, err)
		return
	}
	ready <- nil
	pkts := f.burst.Pkts[:packetio.BurstSize]
	for i := 0; ; i++ {
		if i&1023 == 0 && f.stop.Load() {
			return
		}
		var ts uint64 // one clock read per burst written
		for f.pending < len(pkts) {
			m := f.ring[f.next]
			if m.Refcnt() != 1 {
				break // the worker has not freed it yet
			}
			if ts == 0 {
				ts = uint64(time.Now().UnixNano())
			}
			n, _ := f.w.Next(m.Room(), ts)
			m.SetLen(n)
			m.SetRefcnt(2) // ours and the receiver's
			pkts[f.pending] = m
			f.pending++
			if f.next++; f.next == len(f.ring) {
				f.next = 0
			}
		}
		if f.pending == 0 {
			runtime.Gosched()
			continue
		}
		sent := f.port.TxBurst(0, pkts[:f.pending])
		f.pending = copy(pkts, pkts[sent:f.pending])
	}
}
