package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/stack"
	"github.com/openperfd/openperfd/workers"
)

const namespace = "openperfd"

// allDescs collects every Desc made by desc, for Describe.
var allDescs []*prometheus.Desc

func desc(name, help string, labels ...string) *prometheus.Desc {
	d := prometheus.NewDesc(namespace+"_"+name, help, labels, nil)
	allDescs = append(allDescs, d)
	return d
}

// Ports.
var (
	portRxPackets = desc("port_rx_packets_total", "Packets the port received.", "port")
	portTxPackets = desc("port_tx_packets_total", "Packets the port transmitted.", "port")
	portRxBytes   = desc("port_rx_bytes_total", "Bytes the port received.", "port")
	portTxBytes   = desc("port_tx_bytes_total", "Bytes the port transmitted.", "port")
	// Rx drops (a full rx ring, no buffer) are in rx errors, as the REST
	// port stats count them; tx drops are per worker and per generator.
	portRxErrors = desc("port_rx_errors_total", "Receive errors and drops (missed: rx ring full; no buffer) the port reported.", "port")
	portTxErrors = desc("port_tx_errors_total", "Transmit errors the port reported.", "port")
	portLinkUp   = desc("port_link_up", "1 when the port's link is up, 0 when down or unknown.", "port", "driver")
	portSpeed    = desc("port_link_speed_bytes_per_second", "The port's link speed (0: unknown).", "port")
)

func portMetrics(e emitter, v packetio.PortView) {
	id, s := v.Info.ID, v.Stats
	e.counter(portRxPackets, s.RxPackets, id)
	e.counter(portTxPackets, s.TxPackets, id)
	e.counter(portRxBytes, s.RxBytes, id)
	e.counter(portTxBytes, s.TxBytes, id)
	e.counter(portRxErrors, s.RxErrors, id)
	e.counter(portTxErrors, s.TxErrors, id)
	e.gauge(portLinkUp, boolGauge(v.Link.Known && v.Link.Up), id, v.Info.Driver)
	e.gauge(portSpeed, float64(v.Link.SpeedMbps)*1e6/8, id)
}

// Workers.
var (
	workerBusyLoops  = desc("worker_busy_loops_total", "Worker loops that moved at least one packet.", "worker", "cpu")
	workerIdleLoops  = desc("worker_idle_loops_total", "Worker loops that moved no packet.", "worker", "cpu")
	workerIdleSleeps = desc("worker_idle_sleeps_total", "Back-off sleeps the worker took when idle.", "worker", "cpu")
	workerRxPackets  = desc("worker_rx_packets_total", "Packets the worker received from its queues.", "worker", "cpu")
	workerTxPackets  = desc("worker_tx_packets_total", "Packets the worker transmitted on its queues.", "worker", "cpu")
	workerTxDropped  = desc("worker_tx_dropped_packets_total",
		"Packets the worker dropped because a transmit queue was full (drop-tx-overruns).", "worker", "cpu")
)

func workerMetrics(e emitter, w workers.Stats) {
	id, cpu := strconv.Itoa(w.ID), strconv.Itoa(w.CPU)
	e.counter(workerBusyLoops, w.BusyLoops, id, cpu)
	e.counter(workerIdleLoops, w.IdleLoops, id, cpu)
	e.counter(workerIdleSleeps, w.IdleSleeps, id, cpu)
	e.counter(workerRxPackets, w.RxPackets, id, cpu)
	e.counter(workerTxPackets, w.TxPackets, id, cpu)
	e.counter(workerTxDropped, w.TxDropped, id, cpu)
}

// Stack.
var (
	stackInterfaces     = desc("stack_interfaces", "Emulated interfaces on the stack.", "stack")
	stackProtoRx        = desc("stack_protocol_rx_packets_total", "Packets the stack received, by protocol.", "stack", "protocol")
	stackProtoTx        = desc("stack_protocol_tx_packets_total", "Packets the stack sent, by protocol.", "stack", "protocol")
	stackProtoForwarded = desc("stack_protocol_forwarded_packets_total", "Packets the stack forwarded, by protocol.", "stack", "protocol")
	stackProtoDropped   = desc("stack_protocol_dropped_packets_total", "Packets the stack dropped, by protocol.", "stack", "protocol")
	stackProtoErrors    = desc("stack_protocol_errors_total", "Errors the stack counted, by protocol and kind.", "stack", "protocol", "error")
)

func stackMetrics(e emitter, interfaces int, pc map[string]stack.ProtocolStats) {
	id := stack.ID
	e.gauge(stackInterfaces, float64(interfaces), id)
	for _, p := range stack.Protocols {
		s := pc[p]
		e.counter(stackProtoRx, s.RxPackets, id, p)
		e.counter(stackProtoTx, s.TxPackets, id, p)
		e.counter(stackProtoForwarded, s.ForwardedPackets, id, p)
		e.counter(stackProtoDropped, s.DroppedPackets, id, p)
		for _, k := range []struct {
			name string
			v    uint64
		}{
			{"checksum", s.ChecksumErrors}, {"length", s.LengthErrors}, {"memory", s.MemoryErrors},
			{"routing", s.RoutingErrors}, {"protocol", s.ProtocolErrors}, {"option", s.OptionErrors},
			{"misc", s.MiscErrors},
		} {
			e.counter(stackProtoErrors, k.v, id, p, k.name)
		}
	}
}

// Packet-buffer pools (the DPDK mempools the ports and the stack share).
var (
	poolSize      = desc("mempool_buffers", "Buffers in the pool.", "pool")
	poolAvailable = desc("mempool_available_buffers", "Free buffers in the pool.", "pool")
	poolUsed      = desc("mempool_used_buffers", "Buffers handed out and not yet returned.", "pool")
	poolUsedMax   = desc("mempool_used_max_buffers", "The highest number of buffers in use the sampler saw.", "pool")
	poolErrors    = desc("mempool_alloc_errors_total", "Allocations that failed because the pool was empty.", "pool")
)

func poolMetrics(e emitter, p memory.PoolStats) {
	e.gauge(poolSize, float64(p.Size), p.Name)
	e.gauge(poolAvailable, float64(p.Available), p.Name)
	e.gauge(poolUsed, float64(p.Used), p.Name)
	e.gauge(poolUsedMax, float64(p.Max), p.Name)
	e.counter(poolErrors, uint64(max(p.Errors, 0)), p.Name)
}

// Generators: one series per result, so a new run starts new series
// rather than resetting counters under the same labels.
var genLabels = []string{"generator", "result", "target"}

var (
	genActive        = desc("generator_active", "1 while the result is its generator's running run.", genLabels...)
	genFlows         = desc("generator_flows", "Flows the generator transmits.", genLabels...)
	genTxFrames      = desc("generator_tx_frames_total", "Frames the generator transmitted.", genLabels...)
	genTxBytes       = desc("generator_tx_bytes_total", "Bytes the generator transmitted, FCS included.", genLabels...)
	genIntended      = desc("generator_intended_frames_total", "Frames the generator was due to transmit so far.", genLabels...)
	genIntendedBytes = desc("generator_intended_bytes_total", "Bytes the generator was due to transmit so far.", genLabels...)
	genDropped       = desc("generator_dropped_frames_total", "Frames the generator could not transmit (full queues).", genLabels...)
	genDroppedBytes  = desc("generator_dropped_bytes_total", "Bytes of the frames the generator could not transmit.", genLabels...)
	genErrors        = desc("generator_errors_total", "Transmit errors of the generator.", genLabels...)
)

func generatorMetrics(e emitter, r generator.ResultView) {
	l := []string{r.GeneratorID, r.ID, r.TargetID}
	c := r.Counters
	e.gauge(genActive, boolGauge(r.Active), l...)
	e.gauge(genFlows, float64(r.Flows), l...)
	e.counter(genTxFrames, c.PacketsActual, l...)
	e.counter(genTxBytes, c.OctetsActual, l...)
	e.counter(genIntended, c.PacketsIntended, l...)
	e.counter(genIntendedBytes, c.OctetsIntended, l...)
	e.counter(genDropped, c.PacketsDropped, l...)
	e.counter(genDroppedBytes, c.OctetsDropped, l...)
	e.counter(genErrors, c.Errors, l...)
}
