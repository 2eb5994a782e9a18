// Package metrics exposes the daemon's counters to Prometheus. A
// Collector reads the same snapshots the REST handlers answer with (port
// stats, worker stats, generator and analyzer results, stack counters,
// pool stats) when Prometheus scrapes, never on the data path: between
// scrapes it costs nothing.
//
// Names follow Prometheus' conventions: an openperfd_ prefix, _total on
// counters, seconds and bytes as units.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/packet/analyzer"
	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/stack"
	"github.com/openperfd/openperfd/workers"
)

// Sources are where a Collector reads. A nil member is a module the
// daemon runs without; its metrics are left out.
type Sources struct {
	Ports interface {
		Ports(kind packetio.Kind) ([]packetio.PortView, error)
	}
	Workers interface{ Stats() []workers.Stats }
	Stack   interface {
		Count() int
		ProtocolCounters() map[string]stack.ProtocolStats
	}
	// Pools are the packet-buffer pools (DPDK mempools).
	Pools      interface{ Pools() []memory.PoolStats }
	Generators interface {
		Results(generatorID, targetID string) []generator.ResultView
	}
	Analyzers interface {
		Results(analyzerID, sourceID string) []analyzer.ResultView
	}
}

// Handler serves src's metrics, plus the Go runtime's and the process's,
// in Prometheus' exposition formats. A source that fails is logged and
// left out of that scrape; the rest is still served.
func Handler(src Sources, log *zap.Logger) (http.Handler, error) {
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		NewCollector(src, log),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: namespace}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      zap.NewStdLog(log.Named("metrics")),
		ErrorHandling: promhttp.ContinueOnError,
		// A scrape reads every analyzer's flows; two at once would only
		// double that work.
		MaxRequestsInFlight: 2,
	}), nil
}

// Collector is a prometheus.Collector over Sources. Safe for concurrent
// use: it keeps no state between scrapes.
type Collector struct {
	src Sources
	log *zap.Logger
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a collector reading src.
func NewCollector(src Sources, log *zap.Logger) *Collector {
	return &Collector{src: src, log: log}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	e := emitter{ch: ch}
	if c.src.Ports != nil {
		views, err := c.src.Ports.Ports("")
		if err != nil {
			c.log.Warn("metrics: port stats unavailable", zap.Error(err))
		}
		for _, v := range views {
			portMetrics(e, v)
		}
	}
	if c.src.Workers != nil {
		for _, w := range c.src.Workers.Stats() {
			workerMetrics(e, w)
		}
	}
	if c.src.Stack != nil {
		stackMetrics(e, c.src.Stack.Count(), c.src.Stack.ProtocolCounters())
	}
	if c.src.Pools != nil {
		for _, p := range c.src.Pools.Pools() {
			poolMetrics(e, p)
		}
	}
	if c.src.Generators != nil {
		for _, r := range c.src.Generators.Results("", "") {
			generatorMetrics(e, r)
		}
	}
	if c.src.Analyzers != nil {
		for _, r := range c.src.Analyzers.Results("", "") {
			analyzerMetrics(e, r)
		}
	}
}

// emitter sends const metrics; a metric that cannot be built (a bug: a
// label count that does not match its Desc) goes out as an invalid
// metric, which the registry reports without failing the whole scrape.
type emitter struct{ ch chan<- prometheus.Metric }

func (e emitter) counter(d *prometheus.Desc, v uint64, labels ...string) {
	e.send(prometheus.NewConstMetric(d, prometheus.CounterValue, float64(v), labels...))
}

func (e emitter) gauge(d *prometheus.Desc, v float64, labels ...string) {
	e.send(prometheus.NewConstMetric(d, prometheus.GaugeValue, v, labels...))
}

func (e emitter) summary(d *prometheus.Desc, count uint64, sum float64, q map[float64]float64, labels ...string) {
	e.send(prometheus.NewConstSummary(d, count, sum, q, labels...))
}

func (e emitter) send(m prometheus.Metric, err error) {
	if err != nil {
		m = prometheus.NewInvalidMetric(prometheus.NewDesc("openperfd_invalid_metric", "", nil, nil), err)
	}
	e.ch <- m
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
