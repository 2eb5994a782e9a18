package main

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/openperfd/openperfd/packet/analyzer"
	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/packetio/dpdk"
	"github.com/openperfd/openperfd/workers"
)

// analyzerModes are the analyzer rows' configurations. Counters only:
// frames per flow (always on) and the ethernet, ip and transport protocol
// counters, which is what a user gets asking for protocol counters and
// nothing per flow. Signatures: frames per flow, latency, advanced
// sequencing and IPDV jitter, the per-flow results that need the trailer.
// Both take checksums from the port's rx flags (the default, as OpenPerf:
// net_null sets none, so none are verified); the -sw rows verify the IPv4
// and UDP checksums of every frame in software (x_checksums software).
var analyzerModes = map[string]analyzer.Config{
	"analyze-counters": {
		ProtocolCounters: analyzer.CountEthernet | analyzer.CountIP | analyzer.CountTransport,
		FlowCounters:     analyzer.FrameCount,
	},
	"analyze-sig": {
		FlowCounters: analyzer.FrameCount | analyzer.Latency | analyzer.AdvancedSequencing | analyzer.JitterIPDV,
	},
	"analyze-counters-sw": {
		ProtocolCounters: analyzer.CountEthernet | analyzer.CountIP | analyzer.CountTransport,
		FlowCounters:     analyzer.FrameCount,
		Checksums:        analyzer.ChecksumsSoftware,
	},
	"analyze-sig-sw": {
		FlowCounters: analyzer.FrameCount | analyzer.Latency | analyzer.AdvancedSequencing | analyzer.JitterIPDV,
		Checksums:    analyzer.ChecksumsSoftware,
	},
}

// isAnalyzeMode says whether mode is one of the analyzer rows'.
func isAnalyzeMode(mode string) bool {
	_, ok := analyzerModes[mode]
	return ok || mode == "analyze-floor"
}

// analyzed counts the packets the analyzer was given (one atomic add per
// burst).
var analyzed atomic.Uint64

// countedAnalyzer is the analyzer as the worker's sink, counting bursts.
type countedAnalyzer struct{ a *analyzer.Analyzer }

func (c countedAnalyzer) Push(port uint16, pkts []*packetio.Mbuf) {
	c.a.Push(port, pkts)
	analyzed.Add(uint64(len(pkts)))
}

// PushAt takes the burst's receive time from the port, as the daemon's
// analyzers do (packetio.TimedSink).
func (c countedAnalyzer) PushAt(port uint16, pkts []*packetio.Mbuf, rx int64) {
	c.a.PushAt(port, pkts, rx)
	analyzed.Add(uint64(len(pkts)))
}

// PushTimes takes each frame's receive time from a port that times them
// (a NIC's receive timestamps), as the daemon's analyzers do
// (packetio.FrameTimedSink).
func (c countedAnalyzer) PushTimes(port uint16, pkts []*packetio.Mbuf, rx []int64) {
	c.a.PushTimes(port, pkts, rx)
	analyzed.Add(uint64(len(pkts)))
}

// startAnalyzer wires the analyzer rows: the worker polls net_null0 into
// the analyzer, exactly as testpmd's rxonly polls it, so the two runs
// differ only in what is done with the packets.
//
// The traffic is made before the run, not by the worker: net_null's rx
// takes buffers from the pool and sets their length (64 bytes) without
// touching their data, so every buffer of the pool is written once here
// with a generator frame (eth/ipv4/udp, 64 bytes without FCS, flows of a
// UDP source port modifier, a signature with stream id, sequence number
// and tx timestamp, valid checksums) and freed. The pool is then a set
// of prebuilt frames that net_null hands out again and again. A flow's
// frames therefore come round with the same sequence numbers (counted as
// duplicates and reordered, not in order) and an old timestamp (latency
// grows); the per-frame work is the same as for live traffic.
func startAnalyzer(drv *dpdk.Driver, w *workers.Workers, null packetio.Port, mode string, g genConfig) (stop func(), err error) {
	prog, err := generatorProgram(g)
	if err != nil {
		return nil, err
	}
	n, err := prefill(drv.Pool(), prog.NewWriter().Next, 64)
	if err != nil {
		return nil, err
	}
	fmt.Printf("prefilled %d buffers with signed frames\n", n)
	w.AttachPort(null)
	if mode == "analyze-floor" {
		floor := &floorSink{}
		w.AddSink(null.Info().ID, floor)
		return func() {
			w.RemoveSink(null.Info().ID, floor)
			fmt.Println(floor.report())
		}, nil
	}
	an, err := analyzer.New(analyzerModes[mode])
	if err != nil {
		return nil, err
	}
	an.Start()
	sink := countedAnalyzer{an}
	w.AddSink(null.Info().ID, sink)
	return func() {
		w.RemoveSink(null.Info().ID, sink)
		an.Stop()
		r := an.Results()
		fmt.Printf("analyzer: %d flows, %d frames, ipv4 %d udp %d, ipv4/udp checksum errors %d/%d\n",
			len(r.Flows), r.Totals.FrameCount, r.Protocol.IP.IPv4, r.Protocol.Transport.UDP,
			r.Totals.Errors.IPv4Checksum, r.Totals.Errors.UDPChecksum)
	}, nil
}

// prefill takes every buffer of the pool, writes a frame of size bytes into
// each with next, and gives them all back; it returns how many it wrote.
func prefill(pool packetio.Pool, next func(room []byte, ts uint64) (n, flow int), size int) (int, error) {
	var all []*packetio.Mbuf
	defer func() { pool.Free(all) }()
	ts := uint64(time.Now().UnixNano())
	burst := make([]*packetio.Mbuf, packetio.BurstSize)
	for len(burst) > 0 {
		if !pool.Alloc(burst) {
			if len(burst) == 1 {
				break
			}
			burst = burst[:1] // the last few, one at a time
			continue
		}
		for _, m := range burst {
			all = append(all, m)
			n, _ := next(m.Room(), ts)
			if n != size {
				return 0, fmt.Errorf("prefill: frame of %d bytes, net_null's are %d", n, size)
			}
			m.SetLen(n)
		}
	}
	if st := pool.Stats(); st.Available > 0 {
		// In a cache out of reach: net_null would hand out unwritten buffers.
		return 0, fmt.Errorf("prefill: wrote %d buffers, %d more are out of reach", len(all), st.Available)
	}
	return len(all), nil
}
