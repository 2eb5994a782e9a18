// Package config loads the openperfd daemon configuration.
//
// The configuration comes from three layers, lowest first: built-in
// defaults, an optional YAML file named by -c/--config, and command line
// flags. Flags and YAML share one key space: every dotted flag name such as
// core.log.level is also a YAML key path (core: {log: {level: ...}}), and a
// YAML key may itself be dotted (log.level: debug under core:). The flag
// names are those of Spirent OpenPerf, so OpenPerf launch lines work.
//
// koanf merges the layers and decodes the result into Config, whose koanf
// tags are the flag names. The files of the package follow the way in:
// flags.go (the flags and their defaults), file.go and yaml.go (the YAML
// file, read with yaml.v3), resources.go (its resources: section),
// load.go (the layers merged and decoded) and validate.go (the checks).
//
// Besides core: and modules:, a YAML file may hold resources:, a map from an
// API path ending with the resource id (/ports/port-bond,
// /interfaces/interface-one) to the object without its id. Resources keep
// the order of the file, because later ones may refer to earlier ones.
//
// Load never touches DPDK or the network; it only reads the config file.
package config

import (
	"encoding/json"
	"errors"
)

// Defaults and limits.
const (
	// DefaultAPIAddress is the default REST API listen address.
	DefaultAPIAddress = "127.0.0.1"
	// DefaultAPIPort is the default REST API TCP port.
	DefaultAPIPort = 9000
	// DefaultLogLevel is the default log level.
	DefaultLogLevel = "info"
	// DefaultTestPortPairs is the default number of loopback port pairs in test mode.
	DefaultTestPortPairs = 1
	// DefaultJumboBuffers is the default size of the jumbo pool (~19 MiB):
	// enough for a test pair's ring of 1024 frames in flight and a
	// generator's recycled ring of 128, with room to spare.
	DefaultJumboBuffers = 2047
	// MaxJumboBuffers is the largest accepted --modules.packetio.dpdk.jumbo-buffers.
	MaxJumboBuffers = 1<<20 - 1
	// MaxTestPortPairs is the largest accepted --modules.packetio.dpdk.test-portpairs.
	MaxTestPortPairs = 16
	// MaxDPDKPortIndex is the largest DPDK port index accepted in port-ids (port0..port1023).
	MaxDPDKPortIndex = 1023
	// MaxConfigFileSize is the largest config file Load reads.
	MaxConfigFileSize = 8 << 20
)

// LogLevels lists the accepted log level names, most severe first. "warn" is
// also accepted as an alias of "warning", and names are case-insensitive.
var LogLevels = []string{"critical", "error", "warning", "info", "debug", "trace"}

// ErrHelp is returned as-is by Load when -h or --help was given. The caller
// should print Usage and exit successfully.
var ErrHelp = errors.New("help requested")

// ErrVersion is returned as-is by Load when -v or --version was given. The
// caller should print its version and exit successfully, as OpenPerf does.
var ErrVersion = errors.New("version requested")

// Config is the daemon's whole configuration after merging defaults, the
// YAML file and flags (flags win). The koanf tag of a field is the flag
// name and YAML key path it comes from; sections are squashed because
// koanf hands over the flat key space.
type Config struct {
	// ConfigFile is the -c/--config path, or "" when no file was given.
	ConfigFile string `koanf:"-"`
	// API configures the REST API listener.
	API APIConfig `koanf:",squash"`
	// Log configures logging.
	Log LogConfig `koanf:",squash"`
	// Prefix is -P/--core.prefix, a name that keeps this instance's shared
	// resources (DPDK file prefix, sockets) apart from other instances'. It
	// is "" by default, and the caller then makes a unique one.
	Prefix string `koanf:"core.prefix"`
	// PacketIO configures packet I/O.
	PacketIO PacketIOConfig `koanf:",squash"`
	// ForceUnlink is --modules.socket.force-unlink: the socket server
	// (stack/socket) takes over a control socket another process still serves
	// (a stale one is always removed).
	ForceUnlink bool `koanf:"modules.socket.force-unlink"`
	// Stack configures the TCP/IP stack.
	Stack StackConfig `koanf:",squash"`
	// ZMQ configures the ZeroMQ API endpoint.
	ZMQ ZMQConfig `koanf:",squash"`
	// Resources are the objects of the YAML resources: map, in file order
	// (interfaces depend on ports, so the order matters).
	Resources []Resource `koanf:"-"`
	// Ignored names the OpenPerf options given that openperfd takes and
	// ignores (see ignoredOptions; keys of OpenPerf modules it does not
	// have), each with where it was given: "-L/--modules.plugins.load",
	// "cfg.yaml:12: modules.tvlp". The daemon logs them in one warning.
	Ignored []string `koanf:"-"`
	// Unknown names what neither openperfd nor OpenPerf knows and OpenPerf
	// would ignore, so openperfd ignores it too: config file keys (perhaps
	// misspelt) and command line arguments that are not flags (OpenPerf's
	// getopt skips them; "--test-mode false" enables test mode and leaves
	// "false"). Logged in the same warning.
	Unknown []string `koanf:"-"`
}

// StackConfig configures the TCP/IP stack.
type StackConfig struct {
	// RxStrategy is --modules.stack.rx-strategy: "direct", "queued" or ""
	// (the daemon picks by CPU count).
	RxStrategy string `koanf:"modules.stack.rx-strategy"`
}

// ZMQConfig configures the ZeroMQ API.
type ZMQConfig struct {
	// Endpoint is --modules.zmq.endpoint: "" for the default, "none" to
	// disable, else an ipc:// or tcp:// endpoint.
	Endpoint string `koanf:"modules.zmq.endpoint"`
	// MaxMessageSize is --modules.zmq.max-message-size: the largest
	// request in bytes, 0 for the ZeroMQ server's default (256 MiB).
	MaxMessageSize int `koanf:"modules.zmq.max-message-size"`
}

// APIConfig configures the REST API listener.
type APIConfig struct {
	// Address is --modules.api.address, an IP address or host name;
	// default "127.0.0.1".
	Address string `koanf:"modules.api.address"`
	// Port is -p/--modules.api.port, 1..65535; default 9000.
	Port int `koanf:"modules.api.port"`
	// TokenFile is --modules.api.token-file: a file whose first line is
	// the bearer token every REST request must carry; "" for none.
	TokenFile string `koanf:"modules.api.token-file"`
	// TLSCert and TLSKey are --modules.api.tls-cert and tls-key: PEM
	// files to serve the REST API over TLS with; both or neither.
	TLSCert string `koanf:"modules.api.tls-cert"`
	TLSKey  string `koanf:"modules.api.tls-key"`
	// Insecure is --modules.api.insecure: serve beyond loopback (REST,
	// and ZeroMQ over tcp) without a token and TLS.
	Insecure bool `koanf:"modules.api.insecure"`
	// AllowedHosts is --modules.api.allowed-hosts: host names a request's
	// Host header may give besides localhost, the machine's name and the
	// listen address ("*" for any); IP literals are always accepted.
	AllowedHosts []string `koanf:"modules.api.allowed-hosts"`
}

// LogConfig configures logging.
type LogConfig struct {
	// Level is -l/--core.log.level, one of LogLevels (lower case, "warn"
	// already mapped to "warning"); default "info".
	Level string `koanf:"core.log.level"`
}

// PacketIOConfig configures packet I/O.
type PacketIOConfig struct {
	// CPUMask is --modules.packetio.cpu-mask as given (a CPU mask, see
	// CPUs: "0x2", "2", "ff"), or "" when not set. A mask that selects no
	// CPU ("0x0") turns packet I/O off, as in OpenPerf.
	CPUMask string `koanf:"modules.packetio.cpu-mask"`
	// MemoryBudget is --modules.packetio.memory-budget: the bytes capture
	// buffers and flow tables may take together, 0 for the default (half
	// of the machine's memory left after the DPDK pools).
	MemoryBudget int64 `koanf:"modules.packetio.memory-budget"`
	// NoCPULending is --modules.packetio.no-cpu-lending: the control
	// threads stay off the worker CPUs even while nothing is measured
	// (workers.Lender).
	NoCPULending bool `koanf:"modules.packetio.no-cpu-lending"`
	// DPDK configures the DPDK driver.
	DPDK DPDKConfig `koanf:",squash"`
}

// DPDKConfig configures the DPDK driver.
type DPDKConfig struct {
	// TestMode is --modules.packetio.dpdk.test-mode: use virtual loopback
	// port pairs instead of real NICs.
	TestMode bool `koanf:"modules.packetio.dpdk.test-mode"`
	// TestPortPairs is --modules.packetio.dpdk.test-portpairs, the number of
	// loopback port pairs in test mode, 1..16; default 1.
	TestPortPairs int `koanf:"modules.packetio.dpdk.test-portpairs"`
	// JumboBuffers is --modules.packetio.dpdk.jumbo-buffers: the size of
	// the pool of ~9.5 KB buffers that frames longer than 2 KiB (up to
	// 9216 bytes) are sent from; 0 makes none, and frames then stop at
	// 2052 bytes. Default DefaultJumboBuffers.
	JumboBuffers int `koanf:"modules.packetio.dpdk.jumbo-buffers"`
	// Options are the EAL arguments of -d/--modules.packetio.dpdk.options,
	// spaces trimmed and empty ones dropped. On the command line they are
	// one comma-separated string ("-m256m,--no-huge"); in YAML a list of
	// strings (items are not split at commas) or one comma-separated string.
	Options []string `koanf:"modules.packetio.dpdk.options"`
	// PortIDs is --modules.packetio.dpdk.port-ids: DPDK port index ->
	// user-visible port id. On the command line "port0=0, port1=port-one";
	// in YAML a map {port0: port0, port1: "1"} (or the command line string).
	// Keys are port<N> with N in 0..1023; ids match [A-Za-z0-9._-]+ and are
	// unique. Nil when not set.
	PortIDs map[int]string `koanf:"modules.packetio.dpdk.port-ids"`
	// DropTxOverruns is --modules.packetio.dpdk.drop-tx-overruns.
	DropTxOverruns bool `koanf:"modules.packetio.dpdk.drop-tx-overruns"`
	// NoRxInterrupts is --modules.packetio.dpdk.no-rx-interrupts: idle
	// workers back off by sleeping and polling even on ports whose driver
	// could wake them with a receive interrupt.
	NoRxInterrupts bool `koanf:"modules.packetio.dpdk.no-rx-interrupts"`
	// ProtocolCounters is --modules.packetio.dpdk.x-protocol-counters:
	// every port counts its received and sent frames by protocol
	// (port stats x_protocols). Off by default: it reads every frame's
	// headers in the burst helpers, which costs speed.
	ProtocolCounters bool `koanf:"modules.packetio.dpdk.x-protocol-counters"`
	// NoInit is --modules.packetio.dpdk.no-init: do not initialise DPDK;
	// the daemon runs without ports (see PacketIOConfig.Disabled).
	NoInit bool `koanf:"modules.packetio.dpdk.no-init"`
	// PortsRequired is --modules.packetio.dpdk.ports-required: start-up
	// fails when DPDK finds no port.
	PortsRequired bool `koanf:"modules.packetio.dpdk.ports-required"`
	// RxWorkerMask and TxWorkerMask are --modules.packetio.dpdk.rx-worker-mask
	// and tx-worker-mask as given (CPU masks, see CPUs), or "": which worker
	// CPUs poll receive queues and which transmit. Either may select no CPU.
	RxWorkerMask string `koanf:"modules.packetio.dpdk.rx-worker-mask"`
	TxWorkerMask string `koanf:"modules.packetio.dpdk.tx-worker-mask"`
	// TestRxLimit is --modules.packetio.dpdk.x-test-rx-limit as given
	// ("1=20000,0=5000"), a test hook that polices receive queues (see
	// RxLimits).
	TestRxLimit string `koanf:"modules.packetio.dpdk.x-test-rx-limit"`
}

// Disabled reports whether packet I/O is off, as OpenPerf decides it:
// no-init was given, or a cpu-mask that selects no CPU (OpenPerf runs
// DPDK on the mask's CPUs, so an empty one leaves it nothing to run on).
func (p PacketIOConfig) Disabled() bool {
	if p.DPDK.NoInit {
		return true
	}
	if p.CPUMask == "" {
		return false
	}
	cpus, err := CPUs(p.CPUMask)
	return err == nil && len(cpus) == 0
}

// Resource is one entry of the YAML resources: map.
type Resource struct {
	// Path is the API path including the id, e.g. "/ports/port-bond".
	Path string
	// Collection is Path without its last element and leading slash, e.g.
	// "ports" or "packet/generators".
	Collection string
	// ID is the last element of Path, e.g. "port-bond".
	ID string
	// Body is the object as a JSON object, without an "id" member (an "id"
	// equal to ID is removed; a different one is an error). Member order is
	// that of the file.
	Body json.RawMessage
}
