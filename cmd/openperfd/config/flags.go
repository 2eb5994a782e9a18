// The command line: every option's flag, kind, default and help text.

package config

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/spf13/pflag"
)

// Flag and YAML key names.
const (
	keyConfig         = "config"
	keyVersion        = "version"
	keyAPIAddress     = "modules.api.address"
	keyAPIPort        = "modules.api.port"
	keyAPITokenFile   = "modules.api.token-file"
	keyAPITLSCert     = "modules.api.tls-cert"
	keyAPITLSKey      = "modules.api.tls-key"
	keyAPIInsecure    = "modules.api.insecure"
	keyAPIHosts       = "modules.api.allowed-hosts"
	keyLogLevel       = "core.log.level"
	keyPrefix         = "core.prefix"
	keyCPUMask        = "modules.packetio.cpu-mask"
	keyMemoryBudget   = "modules.packetio.memory-budget"
	keyNoCPULending   = "modules.packetio.no-cpu-lending"
	keyTestMode       = "modules.packetio.dpdk.test-mode"
	keyTestPortPairs  = "modules.packetio.dpdk.test-portpairs"
	keyJumboBuffers   = "modules.packetio.dpdk.jumbo-buffers"
	keyOptions        = "modules.packetio.dpdk.options"
	keyPortIDs        = "modules.packetio.dpdk.port-ids"
	keyDropTxOverruns = "modules.packetio.dpdk.drop-tx-overruns"
	keyNoRxIntr       = "modules.packetio.dpdk.no-rx-interrupts"
	keyProtoCounters  = "modules.packetio.dpdk.x-protocol-counters"
	keyNoInit         = "modules.packetio.dpdk.no-init"
	keyPortsRequired  = "modules.packetio.dpdk.ports-required"
	keyRxWorkerMask   = "modules.packetio.dpdk.rx-worker-mask"
	keyTxWorkerMask   = "modules.packetio.dpdk.tx-worker-mask"
	keyTestRxLimit    = "modules.packetio.dpdk.x-test-rx-limit"
	keyForceUnlink    = "modules.socket.force-unlink"
	keyRxStrategy     = "modules.stack.rx-strategy"
	keyZMQEndpoint    = "modules.zmq.endpoint"
	keyZMQMaxMessage  = "modules.zmq.max-message-size"
	keyResources      = "resources"
)

// option describes one flag / key.
type option struct {
	key   string
	short string
	kind  kind
	usage string
}

type kind int

const (
	kindString kind = iota
	kindInt
	kindBool
	kindList // options: comma-separated string or YAML list
	kindMap  // port-ids: "portN=id,..." string or YAML map
)

var options = []option{
	{keyConfig, "c", kindString, "read the configuration from YAML `file` (core:, modules: with the dotted flag names as key paths, and resources:)"},
	{keyVersion, "v", kindBool, "print the version and exit"},
	{keyAPIAddress, "", kindString, "REST API listen `address` (IP address or host name)"},
	{keyAPIPort, "p", kindInt, "REST API TCP `port`, 1-65535"},
	{keyAPITokenFile, "", kindString, "`file` holding the bearer token every REST request must carry (Authorization: Bearer <token>)"},
	{keyAPITLSCert, "", kindString, "PEM certificate `file` (chain) to serve the REST API over TLS; needs --modules.api.tls-key"},
	{keyAPITLSKey, "", kindString, "PEM private key `file` of --modules.api.tls-cert"},
	{keyAPIInsecure, "", kindBool, "allow serving beyond loopback (REST, ZeroMQ tcp://) without token and TLS"},
	{keyAPIHosts, "", kindList, "comma-separated host `names` the REST API answers to besides localhost, the machine's name and the listen address; * for any"},
	{keyLogLevel, "l", kindString, "log `level`: critical, error, warning, info, debug or trace, or OpenPerf's 1 (critical) to 6 (trace)"},
	{keyPrefix, "P", kindString, "`prefix` that keeps this instance's shared resources (DPDK file prefix) apart; unique one if unset"},
	{keyCPUMask, "", kindString, "`mask` of the CPUs packet I/O workers run on, e.g. 0x6; 0x0 turns packet I/O off"},
	{keyMemoryBudget, "", kindString, "`size` that capture buffers and generator and analyzer flow tables may take together, in bytes or with K, M, G, T (1024-based: 8G, 512MiB); a start or create beyond it gets a 400; default half of the memory left after the DPDK pools"},
	{keyNoCPULending, "", kindBool, "keep the control threads (API, stack, Go runtime) off the worker CPUs even while no generator, analyzer or capture runs (by default they may use them then)"},
	{keyTestMode, "", kindBool, "use virtual loopback port pairs instead of real NICs"},
	{keyTestPortPairs, "", kindInt, "`number` of loopback port pairs in test mode, 1-16"},
	{keyJumboBuffers, "", kindInt, "`number` of ~9.5 KB buffers for frames longer than 2 KiB (up to 9216 bytes); 0 for none (frames then stop at 2052 bytes)"},
	{keyOptions, "d", kindList, "comma-separated DPDK EAL `args`, e.g. \"-m256m,--no-huge\""},
	{keyPortIDs, "", kindMap, "`list` mapping DPDK ports to port ids, e.g. \"port0=port0, port1=port1\""},
	{keyDropTxOverruns, "", kindBool, "drop packets instead of waiting when a transmit queue is full"},
	{keyNoRxIntr, "", kindBool, "poll receive queues when idle instead of sleeping until a receive interrupt (ports whose driver has none are polled anyway)"},
	{keyProtoCounters, "", kindBool, "count every port's received and sent frames by protocol (port stats x_protocols: ARP, IPv4, IPv6, VLAN, UDP, TCP, ICMP, ...); reads each frame's headers, which costs speed"},
	{keyNoInit, "", kindBool, "do not initialise DPDK: run without ports"},
	{keyPortsRequired, "", kindBool, "fail to start when DPDK finds no port"},
	{keyRxWorkerMask, "R", kindString, "CPU `mask` of the workers that poll receive queues (the others only transmit)"},
	{keyTxWorkerMask, "T", kindString, "CPU `mask` of the workers that transmit (the others only receive)"},
	{keyTestRxLimit, "", kindString, "test hook: police ports' receive queues to `limits` in frames/s, e.g. \"1=20000\" (port id=rate, comma-separated); frames over the limit reach no analyzer, capture or stack, as on a slower link"},
	{keyForceUnlink, "f", kindBool, "accepted for OpenPerf compatibility: a stale ZeroMQ socket file is always removed"},
	{keyRxStrategy, "", kindString, "how received frames reach the stack: `direct` (on the worker) or queued (through a queue to a stack goroutine); default queued with more than 2 lcores (workers + main), else direct"},
	{keyZMQEndpoint, "", kindString, "ZeroMQ REP `endpoint` for the API (ipc:// or tcp://); default ipc:///var/run/openperfd/<prefix>.sock, \"none\" to disable"},
	{keyZMQMaxMessage, "", kindInt, "largest ZeroMQ request in `bytes` (larger ones get a 413 and their connection is closed); 0 for the default, 256 MiB"},
}

// defaults holds the default of every option that has a non-zero one.
var defaults = map[string]any{
	keyAPIAddress:    DefaultAPIAddress,
	keyAPIPort:       DefaultAPIPort,
	keyLogLevel:      DefaultLogLevel,
	keyTestPortPairs: DefaultTestPortPairs,
	keyJumboBuffers:  DefaultJumboBuffers,
}

// kinds maps each YAML leaf key to its kind; branches lists the YAML maps
// above them. "config" is a flag only.
var (
	kinds    = map[string]kind{}
	branches = map[string]bool{}
)

func init() {
	for _, o := range options {
		if o.key == keyConfig || o.key == keyVersion {
			continue
		}
		kinds[o.key] = o.kind
		for i := range len(o.key) {
			if o.key[i] == '.' {
				branches[o.key[:i]] = true
			}
		}
	}
}

// newFlagSet returns a flag set with every option; parse errors are
// returned, never printed.
func newFlagSet() *pflag.FlagSet {
	fs := pflag.NewFlagSet("openperfd", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for _, o := range slices.Concat(options, ignoredOptions) {
		switch o.kind {
		case kindInt:
			def, _ := defaults[o.key].(int)
			v := decimalInt(def)
			fs.VarP(&v, o.key, o.short, o.usage)
		case kindBool:
			fs.BoolP(o.key, o.short, false, o.usage)
		default:
			def, _ := defaults[o.key].(string)
			fs.StringP(o.key, o.short, def, o.usage)
		}
	}
	return fs
}

// decimalInt is an int flag that accepts decimal only (pflag's IntP would
// read "010" as octal 8).
type decimalInt int

func (d *decimalInt) String() string { return strconv.Itoa(int(*d)) }
func (d *decimalInt) Type() string   { return "int" } // so posflag reads it as an int

func (d *decimalInt) Set(s string) error {
	v, err := parseDecimal(s)
	if err != nil {
		return err
	}
	*d = decimalInt(v)
	return nil
}

func parseDecimal(s string) (int, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%q is out of range", s)
		}
		return 0, fmt.Errorf("%q is not a decimal integer", s)
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return int(v), nil
}

// Usage writes the command line help to w.
func Usage(w io.Writer) {
	fs := newFlagSet()
	fs.BoolP("help", "h", false, "show this help")
	fmt.Fprintf(w, "Usage: openperfd [flags]\n\nFlags:\n%s", fs.FlagUsages())
}

// flagName names the flag of key as a user would give it: "-p/--modules.api.port".
func flagName(fs *pflag.FlagSet, key string) string {
	if f := fs.Lookup(key); f != nil && f.Shorthand != "" {
		return "-" + f.Shorthand + "/--" + key
	}
	return "--" + key
}
