// Command openperfd is the traffic engine daemon: it owns the DPDK ports,
// runs the pinned workers and serves the OpenPerf-compatible REST API.
//
// Start-up order, and why:
//  1. Parse flags and the config file: a typo fails before anything is held.
//  2. Bind the API listener: a port in use fails before EAL takes memory.
//  3. Start EAL, then the driver (pool, test port pairs, ports).
//  4. Start the workers and put the ports on them.
//  5. Create the config file's resources through the API handlers, so they
//     get the same validation as REST requests.
//  6. Serve the API: /version answers only once all of the above is done,
//     which is what harnesses poll for.
//
// Shutdown runs the other way round on SIGINT/SIGTERM.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"

	"github.com/openperfd/openperfd/api/rest"
	"github.com/openperfd/openperfd/api/zmq"
	"github.com/openperfd/openperfd/cmd/openperfd/config"
	"github.com/openperfd/openperfd/fib"
	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/packet/analyzer"
	"github.com/openperfd/openperfd/packet/capture"
	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packet/rfc2544"
	"github.com/openperfd/openperfd/packet/tvlp"
	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/packetio/dpdk"
	"github.com/openperfd/openperfd/packetio/noports"
	"github.com/openperfd/openperfd/stack"
	"github.com/openperfd/openperfd/stack/socket"
	"github.com/openperfd/openperfd/workers"
)

// Set with -ldflags "-X main.version=..." by the Makefile.
var (
	version      = "0.1.0-dev"
	buildNumber  = "0"
	buildTime    = ""
	sourceCommit = "unknown"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	if isDoctor(args) {
		return doctor(os.Stdout, "/")
	}
	cfg, err := config.Load(args)
	if errors.Is(err, config.ErrHelp) {
		config.Usage(os.Stdout)
		return 0
	}
	if errors.Is(err, config.ErrVersion) {
		fmt.Printf("openperfd %s (build %s, %s, commit %s)\n", version, buildNumber, buildTime, sourceCommit)
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "openperfd: %v\n", err)
		return 2
	}
	log := newLogger(cfg.Log.Level)
	defer func() { _ = log.Sync() }()
	warnIgnored(log, cfg)

	// Caught before start: /version answers from inside start, and a
	// SIGTERM sent as soon as it does must shut down cleanly, not kill.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	d, err := start(cfg, log)
	if err != nil {
		fmt.Fprintf(os.Stderr, "openperfd: %v\n", err)
		return 1
	}
	select {
	case s := <-sigs:
		log.Info("shutting down", zap.String("signal", s.String()))
	case err := <-d.served:
		log.Error("API server stopped", zap.Error(err))
	}
	go func() {
		<-sigs
		log.Warn("second signal: exiting without cleanup")
		os.Exit(1)
	}()
	if err := d.stop(); err != nil {
		log.Error("shutdown", zap.Error(err))
		return 1
	}
	log.Info("stopped")
	return 0
}

func newLogger(level string) *zap.Logger {
	lvl := zapcore.InfoLevel
	switch level {
	case "trace", "debug":
		lvl = zapcore.DebugLevel
	case "warning":
		lvl = zapcore.WarnLevel
	case "error":
		lvl = zapcore.ErrorLevel
	case "critical":
		lvl = zapcore.DPanicLevel
	}
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = "time"
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	// Logs go to stdout, the one-line start-up error to stderr. Write to a
	// duplicate of stdout so capturing EAL's output during its start-up
	// (which points fd 1 elsewhere for a moment) does not swallow logs.
	out := os.Stdout
	if fd, err := unix.Dup(1); err == nil {
		out = os.NewFile(uintptr(fd), "log")
	}
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.Lock(out), lvl)
	return zap.New(core, zap.AddCaller())
}

// daemon is everything start made, for stop to undo.
type daemon struct {
	log     *zap.Logger
	prefix  string
	drv     packetio.Driver
	workers *workers.Workers
	ports   *packetio.Service
	stack   *stack.Stack
	gens    *generator.Service
	ans     *analyzer.Service
	caps    *capture.Service
	pools   *poolSampler
	tvlp    *tvlp.Service
	rfc2544 *rfc2544.Service
	sockets *socket.Server
	api     *rest.Server
	zmqAPI  *zmq.Server
	served  chan error
	// stopLending ends the workers.Lender, which gives the worker CPUs
	// back to the workers; nil without one.
	stopLending func()
}

func start(cfg *config.Config, log *zap.Logger) (*daemon, error) {
	guard, tlsConfig, err := apiSecurity(cfg)
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(cfg.API.Address, strconv.Itoa(cfg.API.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("API listener on %s: %w", addr, err)
	}
	scheme := "http"
	if tlsConfig != nil {
		ln, scheme = tls.NewListener(ln, tlsConfig), "https"
	}
	plan, err := planDataplane(cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	confineControl(plan, nil, log) // before EAL and the workers start threads
	d := &daemon{log: log, prefix: plan.prefix, served: make(chan error, 1)}
	fail := func(err error) (*daemon, error) {
		ln.Close()
		_ = d.stop()
		return nil, err
	}
	if ep := zmqEndpoint(cfg.ZMQ.Endpoint, plan.prefix); ep != "" {
		// Bound now, so a busy endpoint fails before EAL starts; requests
		// are answered once Serve runs, after the resources exist.
		d.zmqAPI, err = zmq.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d.api.Handler().ServeHTTP(w, r)
		}), ep, log, zmq.Limits{MaxMessageSize: int64(cfg.ZMQ.MaxMessageSize)})
		if err != nil {
			if cfg.ZMQ.Endpoint != "" {
				return fail(err)
			}
			log.Warn("default ZeroMQ endpoint unavailable; ZeroMQ API off", zap.String("endpoint", ep), zap.Error(err))
			d.zmqAPI = nil
		}
	}
	t0 := time.Now()
	register, unregister := dpdk.RegisterThread, dpdk.UnregisterThread
	if plan.noPorts {
		log.Warn("packet I/O not initialised (no-init, or a cpu-mask that selects no CPU): running without ports")
		d.drv, register, unregister = noports.Driver{}, nil, nil
	} else {
		drv, err := openDPDK(cfg, plan, log)
		if err != nil {
			return fail(err)
		}
		d.drv = drv // only when set: a nil *dpdk.Driver in the interface would not be nil
		if len(drv.Ports()) == 0 && !cfg.PacketIO.DPDK.TestMode {
			log.Warn("no ports: EAL found no device. Name one with -d (e.g. -d \"--vdev=net_af_packet0,iface=eth0\"), " +
				"bind a NIC to vfio-pci with hugepages reserved (`openperfd doctor` checks), or use --modules.packetio.dpdk.test-mode")
		}
	}
	if cfg.PacketIO.DPDK.PortsRequired && len(d.drv.Ports()) == 0 {
		return fail(errors.New("--modules.packetio.dpdk.ports-required: no port found"))
	}
	// Workers announce quiescence; the FIB and stack wait on it.
	qsbr := fib.NewQSBR()
	rxLimits, _ := cfg.PacketIO.DPDK.RxLimits() // checked by config.Load
	d.workers, err = workers.New(workers.Config{
		QSBR: qsbr,
		CPUs: plan.workerCPUs, Roles: plan.workerRoles, Driver: d.drv,
		RegisterThread: register, UnregisterThread: unregister,
		DropTxOverruns: cfg.PacketIO.DPDK.DropTxOverruns, Log: log,
		RxInterrupts: !cfg.PacketIO.DPDK.NoRxInterrupts, RxLimits: rxLimits,
	})
	if err != nil {
		return fail(err)
	}
	if err := d.workers.Start(); err != nil {
		return fail(err)
	}
	confineControl(plan, d.workers.ThreadIDs(), log)
	d.pools = startPoolSampler(d.drv, d.workers.Active(), d.workers.Moved)
	d.ports = packetio.NewService(d.drv, d.workers)
	strategy := cfg.Stack.RxStrategy
	if strategy == "" {
		// With few lcores (workers plus EAL's main one) a stack goroutine
		// competes with a worker for the same core; delivering inline is
		// cheaper there.
		strategy = stack.RxDirect
		if len(plan.workerCPUs)+1 > 2 {
			strategy = stack.RxQueued
		}
	}
	d.stack, err = stack.New(d.drv, d.workers, stack.Options{Strategy: strategy, QSBR: qsbr, Log: log})
	if err != nil {
		return fail(err)
	}
	for _, p := range d.drv.Ports() {
		i := p.Info()
		log.Info("port ready", zap.String("id", i.ID), zap.Uint16("index", i.Index), zap.String("driver", i.Driver),
			zap.String("device", i.Device), zap.String("mac", net.HardwareAddr(i.MAC[:]).String()), zap.Int("queues", i.RxQueues),
			zap.Strings("rx_checksum_offload", i.RxChecksums), zap.Bool("rx_interrupts", i.RxInterrupts),
			zap.Bool("rx_scatter", i.RxScatter), zap.Int("mtu", i.MTU))
	}
	d.sockets = startSockets(cfg, plan.prefix, d.stack, log)
	budget := memoryBudget(cfg, plan, log)
	eps := rest.Endpoints{Ports: d.ports, Stack: d.stack}
	var jumbo packetio.Pool
	if jd, ok := d.drv.(packetio.JumboPools); ok {
		if p := jd.JumboPool(); p != nil {
			jumbo, eps.MaxFrameLen = p, memory.MaxJumboFrame
		}
	}
	var recycle packetio.RecyclePool
	if rd, ok := d.drv.(packetio.RecyclePools); ok {
		recycle = rd.RecyclePool()
	}
	d.gens = generator.NewService(d.workers, d.drv.Pool(), eps, generator.Options{Resolver: d.stack, Budget: budget,
		LinkSpeed: d.linkSpeed, Jumbo: jumbo, Recycle: recycle})
	d.ans = analyzer.NewService(d.workers, eps, budget)
	d.ans.SetLinkSpeed(d.linkSpeed)
	d.caps = capture.NewService(d.workers, eps, budget)
	d.lendIdleCPUs(plan, cfg.PacketIO.NoCPULending)
	d.tvlp = tvlp.NewService(rest.TvlpGenerators{Svc: d.gens}, nil, log.Named("tvlp"))
	d.rfc2544 = rfc2544.NewService(rest.Rfc2544Traffic{Gens: d.gens, Ans: d.ans, Ports: d.ports, LinkSpeed: d.linkSpeed}, log.Named("rfc2544"))
	h := rest.NewHandlers(rest.BuildInfo{Version: version, BuildNumber: buildNumber, BuildTime: buildTime, SourceCommit: sourceCommit},
		rest.Services{Ports: d.ports, Workers: d.workers, Stack: d.stack, Generators: d.gens, Analyzers: d.ans, Captures: d.caps, Tvlp: d.tvlp, Rfc2544: d.rfc2544,
			Sockets: d.sockets})
	d.api, err = rest.New(log, h)
	if err != nil {
		return fail(err)
	}
	if err := createResources(d.api.Handler(), cfg.Resources); err != nil {
		return fail(err)
	}
	go func() { d.served <- d.api.Serve(ln, guard) }()
	if d.zmqAPI != nil {
		go func() { _ = d.zmqAPI.Serve(context.Background()) }()
		log.Info("zmq API ready", zap.String("endpoint", d.zmqAPI.Addr()))
	}
	log.Info("openperfd ready", zap.String("api", scheme+"://"+ln.Addr().String()), zap.Bool("token", guard.Token != ""),
		zap.String("rx_strategy", strategy), zap.Duration("startup", time.Since(t0)))
	return d, nil
}

// openDPDK starts EAL and opens the DPDK driver: its pool, test port
// pairs and ports. A failure says what DPDK said and how to fix it.
func openDPDK(cfg *config.Config, plan *dataplanePlan, log *zap.Logger) (*dpdk.Driver, error) {
	if plan.addedWhy != "" {
		log.Info("EAL options added", zap.Strings("options", plan.added), zap.String("why", plan.addedWhy))
	}
	if removeStale(plan.prefix) {
		log.Info("removed the runtime directory a dead instance left", zap.String("prefix", plan.prefix))
	}
	log.Info("starting EAL", zap.Strings("args", plan.ealArgs), zap.Ints("worker_cpus", plan.workerCPUs))
	dl := &dpdkLog{log: log}
	if err := dpdk.InitEALLevels(plan.ealArgs, dl.line); err != nil {
		return nil, startError(err, dl, plan.prefix)
	}
	pairs := 0
	if cfg.PacketIO.DPDK.TestMode {
		pairs = cfg.PacketIO.DPDK.TestPortPairs
	}
	drv, err := dpdk.Open(dpdk.Options{
		Queues: len(plan.workerCPUs), TestPortPairs: pairs, ExpectPorts: plan.expectPorts,
		PortIDs: cfg.PacketIO.DPDK.PortIDs, PoolBuffers: plan.poolBuffers, PoolCache: poolCache, JumboBuffers: plan.jumboBuffers, RecycleBuffers: plan.recycleBuffers,
		RxDesc: rxDesc, TxDesc: txDesc, RingSize: ringSize,
		RxInterrupts: !cfg.PacketIO.DPDK.NoRxInterrupts, ProtocolCounters: cfg.PacketIO.DPDK.ProtocolCounters,
		Log: log,
	})
	if err != nil {
		return nil, startError(err, dl, plan.prefix)
	}
	if err := drv.JumboError(); err != nil {
		log.Warn("no jumbo pool: generators send frames up to 2052 bytes only", zap.Error(err),
			zap.String("fix", "give EAL more memory (-m) or lower --modules.packetio.dpdk.jumbo-buffers"))
	}
	return drv, nil
}

// removeStale removes the runtime directory of a dead instance with this
// prefix (a crash, a kill -9), which would otherwise stay for good.
func removeStale(prefix string) bool {
	dir := filepath.Join(dpdk.RuntimeDir(), prefix)
	if _, err := os.Stat(dir); err != nil {
		return false
	}
	gone, _ := removeRuntimeDir(dpdk.RuntimeDir(), prefix)
	return gone
}

// warnIgnored logs, in one warning, what of the command line and config
// file openperfd took but ignores: OpenPerf options of modules it does not
// have, and what neither knows (OpenPerf skips both, so they must not
// stop start-up, but the user should see them).
func warnIgnored(log *zap.Logger, cfg *config.Config) {
	if len(cfg.Ignored) == 0 && len(cfg.Unknown) == 0 {
		return
	}
	var fields []zap.Field
	if len(cfg.Ignored) > 0 {
		fields = append(fields, zap.Strings("openperf_options", cfg.Ignored))
	}
	if len(cfg.Unknown) > 0 {
		fields = append(fields, zap.Strings("unknown", cfg.Unknown))
	}
	log.Warn("ignoring options openperfd has no use for", fields...)
}

// createResources makes the config file's objects by sending each to the
// API in-process, in file order.
func createResources(h http.Handler, res []config.Resource) error {
	for _, r := range res {
		switch r.Collection {
		case "ports", "interfaces", "packet/generators", "packet/analyzers", "packet/captures", "tvlp":
		default:
			return fmt.Errorf("resources: %s: %s cannot be created from the config file yet", r.Path, r.Collection)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(r.Body, &obj); err != nil {
			return fmt.Errorf("resources: %s: %w", r.Path, err)
		}
		obj["id"], _ = json.Marshal(r.ID)
		body, _ := json.Marshal(obj)
		req := httptest.NewRequest(http.MethodPost, "/"+r.Collection, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			return fmt.Errorf("resources: %s: %s", r.Path, strings.TrimSpace(rec.Body.String()))
		}
	}
	return nil
}

// lendPeriod is how often the lender checks whether anything is measured.
// A run's start reclaims the CPUs itself (BeforeStart), so the check only
// lends them again after a run ends, which can wait a second; an idle
// daemon, or one whose analyzer waits for traffic, should not wake often.
const lendPeriod = time.Second

// lendIdleCPUs lets the control threads use the worker CPUs while no
// generator, analyzer or capture runs (workers.Lender); each service takes
// them back before a run starts. Not with --modules.packetio.no-cpu-lending,
// nor when the control threads were not confined in the first place.
func (d *daemon) lendIdleCPUs(plan *dataplanePlan, off bool) {
	if off || plan.noPorts || len(plan.controlCPUs) == 0 {
		return
	}
	busy := func() bool { return d.gens.AnyRunning() || d.ans.AnyRunning() || d.caps.AnyRunning() }
	l := workers.NewLender(d.workers, plan.controlCPUs, busy, d.log)
	d.gens.BeforeStart(l.Reclaim)
	d.ans.BeforeStart(l.Reclaim)
	d.caps.BeforeStart(l.Reclaim)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx, lendPeriod); close(done) }()
	d.stopLending = func() { cancel(); <-done }
}

// shutdownDrain bounds how long a stop waits for requests in flight.
const shutdownDrain = 5 * time.Second

// stop undoes start in reverse; safe on a partly started daemon.
func (d *daemon) stop() error {
	var errs []error
	if d.zmqAPI != nil {
		errs = append(errs, d.zmqAPI.Close())
	}
	if d.api != nil {
		// Requests in flight finish first (a 5 s ping is the longest
		// regular one); what outlasts the drain has its connection closed.
		// That is how a stop goes, not a failed one.
		ctx, cancel := context.WithTimeout(context.Background(), shutdownDrain)
		if err := d.api.Shutdown(ctx); err != nil {
			d.log.Warn("closed API connections still busy after the shutdown drain",
				zap.Duration("drain", shutdownDrain), zap.Error(err))
		}
		cancel()
	}
	if d.tvlp != nil {
		d.tvlp.Close() // its replays own generators: stop them first
	}
	if d.rfc2544 != nil {
		d.rfc2544.Close() // its trials own generators and analyzers
	}
	if d.stopLending != nil {
		d.stopLending()
	}
	if d.gens != nil {
		d.gens.Close()
	}
	if d.ans != nil {
		d.ans.Close()
	}
	if d.caps != nil {
		d.caps.Close()
	}
	if d.sockets != nil {
		errs = append(errs, d.sockets.Close()) // its endpoints live on the stack
	}
	if d.stack != nil {
		d.stack.Close()
	}
	if d.ports != nil {
		d.ports.Close()
	}
	if d.workers != nil {
		d.workers.Stop()
	}
	d.pools.Stop()
	if d.drv != nil {
		errs = append(errs, d.drv.Close())
	}
	errs = append(errs, dpdk.CleanupEAL(d.prefix))
	// A failed rte_eal_init leaves its runtime directory too, and
	// CleanupEAL does nothing without a started EAL.
	if _, err := removeRuntimeDir(dpdk.RuntimeDir(), d.prefix); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// zmqEndpoint is the ZeroMQ endpoint to bind: the user's, none, or the
// default ipc socket named after the instance prefix.
func zmqEndpoint(ep, prefix string) string {
	switch ep {
	case "none":
		return ""
	case "":
		return "ipc:///var/run/openperfd/" + prefix + ".sock"
	}
	return ep
}

// memoryBudget is the budget shared by capture buffers and flow tables:
// --modules.packetio.memory-budget, else half of the machine's memory
// left after the DPDK pools. Without a reading of the machine's memory
// there is no budget (and a warning): refusing everything would be worse.
func memoryBudget(cfg *config.Config, plan *dataplanePlan, log *zap.Logger) *memory.Budget {
	limit := cfg.PacketIO.MemoryBudget
	if limit == 0 {
		total, err := memory.MemTotal()
		if err != nil {
			log.Warn("no memory budget for captures and flow tables", zap.Error(err))
			return nil
		}
		pools := int64(plan.poolMegabytes()) << 20
		limit = memory.DefaultBudget(total, pools)
	}
	log.Info("memory budget for captures and flow tables", zap.Int64("bytes", limit),
		zap.String("size", memory.Size(limit).String()))
	return memory.NewBudget(limit)
}

// linkSpeed is a port's link speed in Mbps, 0 when unknown: what the
// generator spaces a burst's Spirent timestamps by, and the analyzer a
// burst's receive times. A speed set without auto-negotiation wins over
// the one the driver reports: test ports (net_ring) report 10 Gbps
// whatever they are set to.
func (d *daemon) linkSpeed(portID string) int64 {
	v, err := d.ports.Port(portID)
	switch {
	case err != nil:
		return 0
	case !v.Info.Link.AutoNegotiation && v.Info.Link.SpeedMbps > 0:
		return v.Info.Link.SpeedMbps
	case v.Link.Up:
		return v.Link.SpeedMbps
	}
	return 0
}
