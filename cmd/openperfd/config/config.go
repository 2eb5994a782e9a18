// Package config loads the openperfd daemon configuration.
//
// The configuration comes from three layers, lowest first: built-in
// defaults, an optional YAML file named by -c/--config, and command line
// flags. Flags and YAML share one key space: every dotted flag name such as
// core.log.level is also a YAML key path (core: {log: {level: ...}}), and a
// YAML key may itself be dotted (log.level: debug under core:). The flag
// names are those of Spirent OpenPerf, so OpenPerf launch lines work.
//
// Besides core: and modules:, a YAML file may hold resources:, a map from an
// API path ending with the resource id (/ports/port-bond,
// /interfaces/interface-one) to the object without its id. Resources keep
// the order of the file, because later ones may refer to earlier ones.
//
// Load never touches DPDK or the network; it only reads the config file.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/knadh/koanf/maps"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
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
	keyTestMode       = "modules.packetio.dpdk.test-mode"
	keyTestPortPairs  = "modules.packetio.dpdk.test-portpairs"
	keyOptions        = "modules.packetio.dpdk.options"
	keyPortIDs        = "modules.packetio.dpdk.port-ids"
	keyDropTxOverruns = "modules.packetio.dpdk.drop-tx-overruns"
	keyNoInit         = "modules.packetio.dpdk.no-init"
	keyPortsRequired  = "modules.packetio.dpdk.ports-required"
	keyRxWorkerMask   = "modules.packetio.dpdk.rx-worker-mask"
	keyTxWorkerMask   = "modules.packetio.dpdk.tx-worker-mask"
	keyForceUnlink    = "modules.socket.force-unlink"
	keyRxStrategy     = "modules.stack.rx-strategy"
	keyZMQEndpoint    = "modules.zmq.endpoint"
	keyZMQMaxMessage  = "modules.zmq.max-message-size"
	keyResources      = "resources"
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
	// MaxTestPortPairs is the largest accepted --modules.packetio.dpdk.test-portpairs.
	MaxTestPortPairs = 16
	// MaxDPDKPortIndex is the largest DPDK port index accepted in port-ids (port0..port1023).
	MaxDPDKPortIndex = 1023
	// MaxConfigFileSize is the largest config file Load reads.
	MaxConfigFileSize = 8 << 20

	maxPrefixLen     = 64
	maxCPUMaskDigits = 256
	maxNesting       = 64      // deepest YAML nesting inside a resource, and of << merges
	maxYAMLNodes     = 1000000 // YAML nodes visited, counting alias expansion
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
// YAML file and flags (flags win).
type Config struct {
	// ConfigFile is the -c/--config path, or "" when no file was given.
	ConfigFile string
	// API configures the REST API listener.
	API APIConfig
	// Log configures logging.
	Log LogConfig
	// Prefix is -P/--core.prefix, a name that keeps this instance's shared
	// resources (DPDK file prefix, sockets) apart from other instances'. It
	// is "" by default, and the caller then makes a unique one.
	Prefix string
	// PacketIO configures packet I/O.
	PacketIO PacketIOConfig
	// ForceUnlink is --modules.socket.force-unlink; it is accepted for
	// OpenPerf compatibility and has no effect yet.
	ForceUnlink bool
	// Stack configures the TCP/IP stack.
	Stack StackConfig
	// ZMQ configures the ZeroMQ API endpoint.
	ZMQ ZMQConfig
	// Resources are the objects of the YAML resources: map, in file order
	// (interfaces depend on ports, so the order matters).
	Resources []Resource
	// Ignored names the OpenPerf options given that openperfd takes and
	// ignores (see ignoredOptions; keys of OpenPerf modules it does not
	// have), each with where it was given: "-L/--modules.plugins.load",
	// "cfg.yaml:12: modules.tvlp". The daemon logs them in one warning.
	Ignored []string
	// Unknown names what neither openperfd nor OpenPerf knows and OpenPerf
	// would ignore, so openperfd ignores it too: config file keys (perhaps
	// misspelt) and command line arguments that are not flags (OpenPerf's
	// getopt skips them; "--test-mode false" enables test mode and leaves
	// "false"). Logged in the same warning.
	Unknown []string
}

// StackConfig configures the TCP/IP stack.
type StackConfig struct {
	// RxStrategy is --modules.stack.rx-strategy: "direct", "queued" or ""
	// (the daemon picks by CPU count).
	RxStrategy string
}

// ZMQConfig configures the ZeroMQ API.
type ZMQConfig struct {
	// Endpoint is --modules.zmq.endpoint: "" for the default, "none" to
	// disable, else an ipc:// or tcp:// endpoint.
	Endpoint string
	// MaxMessageSize is --modules.zmq.max-message-size: the largest
	// request in bytes, 0 for the ZeroMQ server's default (256 MiB).
	MaxMessageSize int
}

// APIConfig configures the REST API listener.
type APIConfig struct {
	// Address is --modules.api.address, an IP address or host name;
	// default "127.0.0.1".
	Address string
	// Port is -p/--modules.api.port, 1..65535; default 9000.
	Port int
	// TokenFile is --modules.api.token-file: a file whose first line is
	// the bearer token every REST request must carry; "" for none.
	TokenFile string
	// TLSCert and TLSKey are --modules.api.tls-cert and tls-key: PEM
	// files to serve the REST API over TLS with; both or neither.
	TLSCert, TLSKey string
	// Insecure is --modules.api.insecure: serve beyond loopback (REST,
	// and ZeroMQ over tcp) without a token and TLS.
	Insecure bool
	// AllowedHosts is --modules.api.allowed-hosts: host names a request's
	// Host header may give besides localhost, the machine's name and the
	// listen address ("*" for any); IP literals are always accepted.
	AllowedHosts []string
}

// LogConfig configures logging.
type LogConfig struct {
	// Level is -l/--core.log.level, one of LogLevels (lower case, "warn"
	// already mapped to "warning"); default "info".
	Level string
}

// PacketIOConfig configures packet I/O.
type PacketIOConfig struct {
	// CPUMask is --modules.packetio.cpu-mask as given (a CPU mask, see
	// CPUs: "0x2", "2", "ff"), or "" when not set. A mask that selects no
	// CPU ("0x0") turns packet I/O off, as in OpenPerf.
	CPUMask string
	// MemoryBudget is --modules.packetio.memory-budget: the bytes capture
	// buffers and flow tables may take together, 0 for the default (half
	// of the machine's memory left after the DPDK pools).
	MemoryBudget int64
	// DPDK configures the DPDK driver.
	DPDK DPDKConfig
}

// DPDKConfig configures the DPDK driver.
type DPDKConfig struct {
	// TestMode is --modules.packetio.dpdk.test-mode: use virtual loopback
	// port pairs instead of real NICs.
	TestMode bool
	// TestPortPairs is --modules.packetio.dpdk.test-portpairs, the number of
	// loopback port pairs in test mode, 1..16; default 1.
	TestPortPairs int
	// Options are the EAL arguments of -d/--modules.packetio.dpdk.options,
	// spaces trimmed and empty ones dropped. On the command line they are
	// one comma-separated string ("-m256m,--no-huge"); in YAML a list of
	// strings (items are not split at commas) or one comma-separated string.
	Options []string
	// PortIDs is --modules.packetio.dpdk.port-ids: DPDK port index ->
	// user-visible port id. On the command line "port0=0, port1=port-one";
	// in YAML a map {port0: port0, port1: "1"} (or the command line string).
	// Keys are port<N> with N in 0..1023; ids match [A-Za-z0-9._-]+ and are
	// unique. Nil when not set.
	PortIDs map[int]string
	// DropTxOverruns is --modules.packetio.dpdk.drop-tx-overruns.
	DropTxOverruns bool
	// NoInit is --modules.packetio.dpdk.no-init: do not initialise DPDK;
	// the daemon runs without ports (see PacketIOConfig.Disabled).
	NoInit bool
	// PortsRequired is --modules.packetio.dpdk.ports-required: start-up
	// fails when DPDK finds no port.
	PortsRequired bool
	// RxWorkerMask and TxWorkerMask are --modules.packetio.dpdk.rx-worker-mask
	// and tx-worker-mask as given (CPU masks, see CPUs), or "": which worker
	// CPUs poll receive queues and which transmit. Either may select no CPU.
	RxWorkerMask, TxWorkerMask string
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
	{keyTestMode, "", kindBool, "use virtual loopback port pairs instead of real NICs"},
	{keyTestPortPairs, "", kindInt, "`number` of loopback port pairs in test mode, 1-16"},
	{keyOptions, "d", kindList, "comma-separated DPDK EAL `args`, e.g. \"-m256m,--no-huge\""},
	{keyPortIDs, "", kindMap, "`list` mapping DPDK ports to port ids, e.g. \"port0=port0, port1=port1\""},
	{keyDropTxOverruns, "", kindBool, "drop packets instead of waiting when a transmit queue is full"},
	{keyNoInit, "", kindBool, "do not initialise DPDK: run without ports"},
	{keyPortsRequired, "", kindBool, "fail to start when DPDK finds no port"},
	{keyRxWorkerMask, "R", kindString, "CPU `mask` of the workers that poll receive queues (the others only transmit)"},
	{keyTxWorkerMask, "T", kindString, "CPU `mask` of the workers that transmit (the others only receive)"},
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

// parseSize reads a byte count: digits with an optional 1024-based
// suffix K, M, G or T, alone or followed by "iB" or "B" (8G, 512MiB).
// Int flags here stop at 2^31, which is too small for memory.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	for _, suffix := range []string{"iB", "B"} {
		if u := strings.TrimSuffix(t, suffix); u != t && u != "" && strings.ContainsRune("KMGTkmgt", rune(u[len(u)-1])) {
			t = u
			break
		}
	}
	shift := 0
	if t != "" {
		if i := strings.IndexByte("KMGT", strings.ToUpper(t[len(t)-1:])[0]); i >= 0 {
			shift = 10 * (i + 1)
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64>>shift {
		return 0, fmt.Errorf("%q is not a size (bytes, or a number with K, M, G or T)", s)
	}
	return n << shift, nil
}

// Usage writes the command line help to w.
func Usage(w io.Writer) {
	fs := newFlagSet()
	fs.BoolP("help", "h", false, "show this help")
	fmt.Fprintf(w, "Usage: openperfd [flags]\n\nFlags:\n%s", fs.FlagUsages())
}

// Load parses args (without the program name) and returns the
// configuration, or an error whose message is one line, names the flag or
// key (with file and line for YAML) and says what is wrong. With -h/--help
// it returns ErrHelp.
func Load(args []string) (*Config, error) {
	return load(args, readConfigFile)
}

// load is Load with the config file reader as a parameter, for tests.
func load(args []string, read func(string) ([]byte, error)) (*Config, error) {
	cfg, err := loadConfig(args, read)
	if err != nil {
		if errors.Is(err, ErrHelp) || errors.Is(err, ErrVersion) {
			return nil, err
		}
		return nil, oneLineError(err)
	}
	return cfg, nil
}

func loadConfig(args []string, read func(string) ([]byte, error)) (*Config, error) {
	fs := newFlagSet()
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil, ErrHelp
		}
		return nil, err
	}
	if v, _ := fs.GetBool(keyVersion); v {
		return nil, ErrVersion
	}

	l := &loader{fs: fs, k: koanf.New(".")}
	cfg := &Config{}
	// OpenPerf's getopt skips arguments that are not flags; so do we, and
	// say so ("--modules.packetio.dpdk.test-mode false" leaves "false").
	for _, a := range fs.Args() {
		cfg.Unknown = append(cfg.Unknown, fmt.Sprintf("argument %q", a))
	}
	fs.Visit(func(f *pflag.Flag) {
		if isIgnored(f.Name) {
			cfg.Ignored = append(cfg.Ignored, l.flagName(f.Name))
		}
	})
	if fs.Changed(keyConfig) {
		path, _ := fs.GetString(keyConfig)
		if path == "" {
			return nil, fmt.Errorf("%s: empty file name", l.flagName(keyConfig))
		}
		b, err := read(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.flagName(keyConfig), err)
		}
		l.file = &fileParser{path: path}
		if err := l.k.Load(rawBytes(b), l.file); err != nil {
			return nil, err
		}
		cfg.ConfigFile = path
		cfg.Resources = l.file.resources
		cfg.Ignored = append(cfg.Ignored, l.file.ignored...)
		cfg.Unknown = append(cfg.Unknown, l.file.unknown...)
	}
	// Flags last: changed ones override the file; defaults fill only keys
	// the file does not set.
	if err := l.k.Load(posflag.Provider(fs, ".", l.k), nil); err != nil {
		return nil, err
	}
	if err := l.fill(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// readConfigFile reads a regular file of at most MaxConfigFileSize bytes.
func readConfigFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxConfigFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxConfigFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, MaxConfigFileSize)
	}
	return b, nil
}

// rawBytes is a koanf.Provider of bytes already read.
type rawBytes []byte

func (b rawBytes) ReadBytes() ([]byte, error) { return b, nil }
func (b rawBytes) Read() (map[string]any, error) {
	return nil, errors.New("rawBytes provider needs a parser")
}

// loader turns the merged koanf values into a Config.
type loader struct {
	fs   *pflag.FlagSet
	k    *koanf.Koanf
	file *fileParser // nil without -c
}

func (l *loader) flagName(key string) string {
	if f := l.fs.Lookup(key); f != nil && f.Shorthand != "" {
		return "-" + f.Shorthand + "/--" + key
	}
	return "--" + key
}

// where names the origin of key's value for error messages.
func (l *loader) where(key string) string {
	if l.fs.Changed(key) {
		return l.flagName(key)
	}
	if l.file != nil {
		if line, ok := l.file.lines[key]; ok {
			return fmt.Sprintf("%s:%d: %s", l.file.path, line, key)
		}
	}
	return key
}

func (l *loader) errorf(key, format string, args ...any) error {
	return fmt.Errorf("%s: %s", l.where(key), fmt.Sprintf(format, args...))
}

func (l *loader) str(key string) (string, error) {
	switch v := l.k.Get(key).(type) {
	case string:
		return v, nil
	case nil:
		return "", nil
	default:
		return "", l.errorf(key, "must be a string")
	}
}

func (l *loader) int(key string) (int, error) {
	switch v := l.k.Get(key).(type) {
	case int:
		return v, nil
	case nil:
		d, _ := defaults[key].(int)
		return d, nil
	default:
		return 0, l.errorf(key, "must be an integer")
	}
}

func (l *loader) bool(key string) (bool, error) {
	switch v := l.k.Get(key).(type) {
	case bool:
		return v, nil
	case nil:
		return false, nil
	default:
		return false, l.errorf(key, "must be true or false")
	}
}

func (l *loader) fill(cfg *Config) error {
	var err error
	check := func(e error) {
		if err == nil {
			err = e
		}
	}
	var e error

	cfg.API.Address, e = l.str(keyAPIAddress)
	check(e)
	if e == nil {
		check(l.wrap(keyAPIAddress, validAddress(cfg.API.Address)))
	}
	cfg.API.Port, e = l.int(keyAPIPort)
	check(e)
	if e == nil && (cfg.API.Port < 1 || cfg.API.Port > 65535) {
		check(l.errorf(keyAPIPort, "%d is out of range 1..65535", cfg.API.Port))
	}

	cfg.API.TokenFile, e = l.str(keyAPITokenFile)
	check(e)
	cfg.API.TLSCert, e = l.str(keyAPITLSCert)
	check(e)
	cfg.API.TLSKey, e = l.str(keyAPITLSKey)
	check(e)
	if (cfg.API.TLSCert == "") != (cfg.API.TLSKey == "") {
		k := keyAPITLSCert
		if cfg.API.TLSCert == "" {
			k = keyAPITLSKey
		}
		check(l.errorf(k, "give both --%s and --%s, or neither", keyAPITLSCert, keyAPITLSKey))
	}
	cfg.API.Insecure, e = l.bool(keyAPIInsecure)
	check(e)
	cfg.API.AllowedHosts, e = l.list(keyAPIHosts)
	check(e)

	level, e := l.str(keyLogLevel)
	check(e)
	if e == nil {
		if n, ok := numericLogLevel(level); ok {
			cfg.Log.Level = n
		} else {
			cfg.Log.Level, e = normalizeLevel(level)
			check(l.wrap(keyLogLevel, e))
		}
	}
	cfg.Prefix, e = l.str(keyPrefix)
	check(e)
	if e == nil {
		check(l.wrap(keyPrefix, validPrefix(cfg.Prefix)))
	}

	for _, m := range []struct {
		key string
		dst *string
	}{
		{keyCPUMask, &cfg.PacketIO.CPUMask},
		{keyRxWorkerMask, &cfg.PacketIO.DPDK.RxWorkerMask},
		{keyTxWorkerMask, &cfg.PacketIO.DPDK.TxWorkerMask},
	} {
		*m.dst, e = l.str(m.key)
		check(e)
		if e == nil && *m.dst != "" {
			check(l.wrap(m.key, validCPUMask(*m.dst)))
		}
	}

	dpdk := &cfg.PacketIO.DPDK
	dpdk.TestMode, e = l.bool(keyTestMode)
	check(e)
	dpdk.TestPortPairs, e = l.int(keyTestPortPairs)
	check(e)
	if e == nil && (dpdk.TestPortPairs < 1 || dpdk.TestPortPairs > MaxTestPortPairs) {
		check(l.errorf(keyTestPortPairs, "%d is out of range 1..%d", dpdk.TestPortPairs, MaxTestPortPairs))
	}
	dpdk.Options, e = l.list(keyOptions)
	check(e)
	dpdk.PortIDs, e = l.portIDs(keyPortIDs)
	check(e)
	dpdk.DropTxOverruns, e = l.bool(keyDropTxOverruns)
	check(e)
	dpdk.NoInit, e = l.bool(keyNoInit)
	check(e)
	dpdk.PortsRequired, e = l.bool(keyPortsRequired)
	check(e)
	cfg.ForceUnlink, e = l.bool(keyForceUnlink)
	check(e)
	cfg.Stack.RxStrategy, e = l.str(keyRxStrategy)
	check(e)
	if e == nil && cfg.Stack.RxStrategy != "" && cfg.Stack.RxStrategy != "direct" && cfg.Stack.RxStrategy != "queued" {
		check(l.errorf(keyRxStrategy, "%q: must be direct or queued", cfg.Stack.RxStrategy))
	}
	cfg.ZMQ.Endpoint, e = l.str(keyZMQEndpoint)
	check(e)
	if e == nil && cfg.ZMQ.Endpoint != "" && cfg.ZMQ.Endpoint != "none" &&
		!strings.HasPrefix(cfg.ZMQ.Endpoint, "ipc://") && !strings.HasPrefix(cfg.ZMQ.Endpoint, "tcp://") {
		check(l.errorf(keyZMQEndpoint, "%q: must start with ipc:// or tcp://, or be none", cfg.ZMQ.Endpoint))
	}
	if v, e := l.str(keyMemoryBudget); e != nil {
		check(e)
	} else if v != "" {
		n, err := parseSize(v)
		if err != nil {
			check(l.errorf(keyMemoryBudget, "%v", err))
		}
		cfg.PacketIO.MemoryBudget = n
	}
	cfg.ZMQ.MaxMessageSize, e = l.int(keyZMQMaxMessage)
	check(e)
	if e == nil && cfg.ZMQ.MaxMessageSize < 0 {
		check(l.errorf(keyZMQMaxMessage, "%d: must be 0 (the default) or a number of bytes", cfg.ZMQ.MaxMessageSize))
	}
	return err
}

func (l *loader) wrap(key string, err error) error {
	if err == nil {
		return nil
	}
	return l.errorf(key, "%v", err)
}

func (l *loader) list(key string) ([]string, error) {
	var out []string
	switch v := l.k.Get(key).(type) {
	case nil:
	case string:
		out = splitEALArgs(v)
	case []string:
		out = cleanList(v)
	case []any:
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, l.errorf(key, "item %d must be a string", i)
			}
			out = append(out, s)
		}
		out = cleanList(out)
	default:
		return nil, l.errorf(key, "must be a list of strings or a comma-separated string")
	}
	for _, s := range out {
		if strings.IndexByte(s, 0) >= 0 {
			return nil, l.errorf(key, "%q contains a NUL byte", s)
		}
	}
	return out, nil
}

func (l *loader) portIDs(key string) (map[int]string, error) {
	var entries [][2]string
	switch v := l.k.Get(key).(type) {
	case nil:
		return nil, nil
	case string:
		var err error
		if entries, err = splitPortIDs(v); err != nil {
			return nil, l.errorf(key, "%v", err)
		}
	case map[string]any:
		names := make([]string, 0, len(v))
		for name := range v {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			id, ok := v[name].(string)
			if !ok {
				return nil, l.errorf(key, "%s: port id must be a string", name)
			}
			entries = append(entries, [2]string{name, id})
		}
	default:
		return nil, l.errorf(key, "must be a map of portN: id or a \"portN=id,...\" string")
	}
	m, err := portIDMap(entries)
	if err != nil {
		return nil, l.errorf(key, "%v", err)
	}
	return m, nil
}

// splitEALArgs splits the EAL option string of -d at commas and, as
// OpenPerf does, at spaces ("-m 256, --no-huge"). Device arguments carry
// their own commas ("--vdev=net_af_packet0,iface=veth0"), so a piece of the
// form key=value that does not start with '-' continues the device argument
// before it instead of starting a new option.
func splitEALArgs(s string) []string {
	var out []string
	devArg := false // the last element is a device argument that may continue
	for _, piece := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		if devArg && !strings.HasPrefix(piece, "-") && strings.Contains(piece, "=") {
			out[len(out)-1] += "," + piece
			continue
		}
		prevFlag := len(out) > 0 && isDeviceFlag(out[len(out)-1])
		devArg = prevFlag || strings.HasPrefix(piece, "--vdev=") || strings.HasPrefix(piece, "-a=") ||
			strings.HasPrefix(piece, "--allow=") || strings.HasPrefix(piece, "-w=")
		out = append(out, piece)
	}
	return out
}

func isDeviceFlag(s string) bool {
	switch s {
	case "--vdev", "-a", "--allow", "-w", "-b", "--block":
		return true
	}
	return false
}

// splitList splits a comma-separated list, trims spaces and drops empties.
func splitList(s string) []string {
	return cleanList(strings.Split(s, ","))
}

func cleanList(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// splitPortIDs splits "port0=0, port1=port-one" into name/id pairs.
func splitPortIDs(s string) ([][2]string, error) {
	var out [][2]string
	for _, item := range splitList(s) {
		name, id, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want portN=id", item)
		}
		out = append(out, [2]string{strings.TrimSpace(name), strings.TrimSpace(id)})
	}
	return out, nil
}

var (
	idRE       = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	portNameRE = regexp.MustCompile(`^port(0|[1-9][0-9]{0,3})$`)
	prefixRE   = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]*$`)
	hexRE      = regexp.MustCompile(`^[0-9A-Fa-f]+$`)
	hostRE     = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$`)
)

// portIndex checks one port-ids key and returns its DPDK port index.
func portIndex(name string) (int, error) {
	m := portNameRE.FindStringSubmatch(name)
	if m == nil {
		return 0, fmt.Errorf("key %q: want port<N> with N a DPDK port index 0..%d", name, MaxDPDKPortIndex)
	}
	n, _ := strconv.Atoi(m[1])
	if n > MaxDPDKPortIndex {
		return 0, fmt.Errorf("key %q: DPDK port index %d is out of range 0..%d", name, n, MaxDPDKPortIndex)
	}
	return n, nil
}

func validPortID(name, id string) error {
	if id == "" {
		return fmt.Errorf("%s: empty port id", name)
	}
	if !idRE.MatchString(id) {
		return fmt.Errorf("%s: port id %q may hold only letters, digits, '.', '_' and '-'", name, id)
	}
	return nil
}

// portIDSet collects port-ids entries, checking each as it comes.
type portIDSet struct {
	ids   map[int]string
	owner map[string]string // port id -> portN
}

func (s *portIDSet) add(name, id string) error {
	n, err := portIndex(name)
	if err != nil {
		return err
	}
	if err := validPortID(name, id); err != nil {
		return err
	}
	if s.ids == nil {
		s.ids, s.owner = map[int]string{}, map[string]string{}
	}
	if _, dup := s.ids[n]; dup {
		return fmt.Errorf("%s given twice", name)
	}
	if other, dup := s.owner[id]; dup {
		return fmt.Errorf("port id %q given to both %s and %s", id, other, name)
	}
	s.ids[n] = id
	s.owner[id] = name
	return nil
}

// portIDMap checks name/id entries and returns them by DPDK port index, or
// nil when there are none.
func portIDMap(entries [][2]string) (map[int]string, error) {
	var s portIDSet
	for _, e := range entries {
		if err := s.add(e[0], e[1]); err != nil {
			return nil, err
		}
	}
	return s.ids, nil
}

func normalizeLevel(s string) (string, error) {
	l := strings.ToLower(s)
	if l == "warn" {
		l = "warning"
	}
	if !slices.Contains(LogLevels, l) {
		return "", fmt.Errorf("unknown log level %q (want one of %s)", s, strings.Join(LogLevels, ", "))
	}
	return l, nil
}

func validAddress(s string) error {
	if s == "" {
		return errors.New("empty address (use 0.0.0.0 or :: for all addresses)")
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return nil
	}
	if len(s) <= 253 && hostRE.MatchString(s) {
		return nil
	}
	return fmt.Errorf("%q is neither an IP address nor a host name", s)
}

func validPrefix(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > maxPrefixLen || !prefixRE.MatchString(s) {
		return fmt.Errorf("%q: want up to %d letters, digits, '.', '_' or '-', not starting with '.'", s, maxPrefixLen)
	}
	return nil
}

func validCPUMask(s string) error {
	_, err := parseMask(s)
	return err
}

// fileParser is a koanf.Parser for the YAML config file. It checks every
// key under core: and modules: against the known ones, converts values to
// the kinds of their flags (keeping the literal text of scalars, so
// cpu-mask: 10 stays "10"), records the line of each key for error messages,
// and takes resources: aside in file order.
type fileParser struct {
	path      string
	lines     map[string]int // leaf key -> line
	resources []Resource
	ignored   []string // OpenPerf keys openperfd ignores, "file:line: key"
	unknown   []string // keys nobody knows, "file:line: key"
	budget    int
}

// Marshal is not supported.
func (p *fileParser) Marshal(map[string]any) ([]byte, error) {
	return nil, errors.New("config: marshalling is not supported")
}

// Unmarshal parses the YAML file into a nested koanf map.
func (p *fileParser) Unmarshal(b []byte) (map[string]any, error) {
	p.lines = map[string]int{}
	p.ignored, p.unknown = nil, nil
	p.budget = maxYAMLNodes
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return map[string]any{}, nil
		}
		return nil, fmt.Errorf("%s: %v", p.path, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fmt.Errorf("%s: %v", p.path, err)
		}
		return nil, fmt.Errorf("%s:%d: more than one YAML document", p.path, extra.Line)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) != 1 {
			return map[string]any{}, nil
		}
		root = root.Content[0]
	}
	root, err := p.resolve(root)
	if err != nil {
		return nil, err
	}
	if isNull(root) {
		return map[string]any{}, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, p.errorf(root, "the top level must be a map with core:, modules: and resources:")
	}
	flat := map[string]any{}
	if err := p.walk("", root, flat); err != nil {
		return nil, err
	}
	return maps.Unflatten(flat, "."), nil
}

func (p *fileParser) errorf(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", p.path, n.Line, fmt.Sprintf(format, args...))
}

func (p *fileParser) spend(n *yaml.Node, cost int) error {
	p.budget -= cost
	if p.budget < 0 {
		return p.errorf(n, "more than %d YAML nodes (counting alias expansion)", maxYAMLNodes)
	}
	return nil
}

// resolve follows aliases.
func (p *fileParser) resolve(n *yaml.Node) (*yaml.Node, error) {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if n.Alias == nil || i > maxNesting {
			return nil, p.errorf(n, "bad alias *%s", n.Value)
		}
		n = n.Alias
	}
	if n == nil {
		return nil, errors.New("config: missing YAML node")
	}
	return n, nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

type pair struct {
	key     string
	keyNode *yaml.Node
	val     *yaml.Node
}

// pairs returns the entries of a mapping in order, with << merge keys
// expanded in place (explicit keys win, then earlier merged maps) and
// duplicate explicit keys rejected.
func (p *fileParser) pairs(n *yaml.Node, depth int) ([]pair, error) {
	if depth > maxNesting {
		return nil, p.errorf(n, "<< merges nested deeper than %d", maxNesting)
	}
	if len(n.Content)%2 != 0 {
		return nil, p.errorf(n, "malformed map")
	}
	if err := p.spend(n, 1+len(n.Content)/2); err != nil {
		return nil, err
	}
	explicit := map[string]bool{}
	for i := 0; i < len(n.Content); i += 2 {
		k, err := p.resolve(n.Content[i])
		if err != nil {
			return nil, err
		}
		if k.Kind != yaml.ScalarNode {
			return nil, p.errorf(k, "map keys must be scalars")
		}
		if isMergeKey(k) {
			continue
		}
		if explicit[k.Value] {
			return nil, p.errorf(k, "key %q given twice", k.Value)
		}
		explicit[k.Value] = true
	}
	var out []pair
	merged := map[string]bool{}
	for i := 0; i < len(n.Content); i += 2 {
		k, _ := p.resolve(n.Content[i])
		if !isMergeKey(k) {
			out = append(out, pair{k.Value, k, n.Content[i+1]})
			continue
		}
		v, err := p.resolve(n.Content[i+1])
		if err != nil {
			return nil, err
		}
		var sources []*yaml.Node
		switch v.Kind {
		case yaml.MappingNode:
			sources = []*yaml.Node{v}
		case yaml.SequenceNode:
			for _, s := range v.Content {
				s, err := p.resolve(s)
				if err != nil {
					return nil, err
				}
				sources = append(sources, s)
			}
		}
		for _, s := range sources {
			if s.Kind != yaml.MappingNode {
				return nil, p.errorf(v, "<< wants a map or a list of maps")
			}
		}
		if len(sources) == 0 {
			return nil, p.errorf(v, "<< wants a map or a list of maps")
		}
		for _, s := range sources {
			sub, err := p.pairs(s, depth+1)
			if err != nil {
				return nil, err
			}
			for _, sp := range sub {
				if explicit[sp.key] || merged[sp.key] {
					continue
				}
				merged[sp.key] = true
				out = append(out, sp)
			}
		}
	}
	return out, nil
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge"
}

// walk checks the map n found at key path prefix and stores its leaves in flat.
func (p *fileParser) walk(prefix string, n *yaml.Node, flat map[string]any) error {
	ps, err := p.pairs(n, 0)
	if err != nil {
		return err
	}
	for _, e := range ps {
		full := e.key
		if prefix != "" {
			full = prefix + "." + e.key
		}
		if full == keyResources {
			if err := p.parseResources(e.val); err != nil {
				return err
			}
			continue
		}
		v, err := p.resolve(e.val)
		if err != nil {
			return err
		}
		if k, ok := kinds[full]; ok {
			if line, dup := p.lines[full]; dup {
				return p.errorf(e.keyNode, "%s given twice (also on line %d)", full, line)
			}
			p.lines[full] = e.keyNode.Line
			if isNull(v) {
				continue // same as absent
			}
			val, err := p.leaf(full, k, v)
			if err != nil {
				return err
			}
			flat[full] = val
			continue
		}
		if branches[full] {
			if isNull(v) {
				continue
			}
			if v.Kind != yaml.MappingNode {
				return p.errorf(v, "%s must be a map", full)
			}
			if err := p.walk(full, v, flat); err != nil {
				return err
			}
			continue
		}
		// OpenPerf reads only the keys it knows and skips the rest, and
		// warns of unknown top-level nodes: a file it takes must start
		// openperfd too. Skipped keys are named in one warning.
		at := fmt.Sprintf("%s:%d: %s", p.path, e.keyNode.Line, full)
		if isIgnored(full) || ignoredBranch(full) || openPerfModuleKey(full) {
			p.ignored = append(p.ignored, at)
		} else {
			p.unknown = append(p.unknown, at+knownUnder(full))
		}
	}
	return nil
}

// ignoredBranch reports whether key is a map above ignored OpenPerf keys
// only (modules.plugins), so the whole map can be named once.
func ignoredBranch(key string) bool {
	if branches[key] {
		return false
	}
	for k := range ignoredKinds {
		if strings.HasPrefix(k, key+".") {
			return true
		}
	}
	return false
}

// knownUnder suggests the keys valid next to the unknown key full.
func knownUnder(full string) string {
	parent := ""
	for i := len(full) - 1; i > 0; i-- {
		if full[i] == '.' && branches[full[:i]] {
			parent = full[:i]
			break
		}
	}
	seen := map[string]bool{}
	var names []string
	add := func(key string) {
		rest, ok := key, parent == ""
		if parent != "" {
			rest, ok = strings.CutPrefix(key, parent+".")
		}
		if !ok {
			return
		}
		name, _, _ := strings.Cut(rest, ".")
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	if parent == "" {
		add(keyResources)
	}
	for _, o := range options {
		if o.key != keyConfig && o.key != keyVersion {
			add(o.key)
		}
	}
	sort.Strings(names)
	if parent == "" {
		return fmt.Sprintf(" (top-level keys: %s)", strings.Join(names, ", "))
	}
	return fmt.Sprintf(" (known keys under %s: %s)", parent, strings.Join(names, ", "))
}

// leaf converts the value v of key full to its kind.
func (p *fileParser) leaf(full string, k kind, v *yaml.Node) (any, error) {
	switch k {
	case kindString:
		if v.Kind != yaml.ScalarNode {
			return nil, p.errorf(v, "%s must be a string", full)
		}
		return v.Value, nil
	case kindInt:
		if v.Kind != yaml.ScalarNode || (v.ShortTag() != "!!int" && v.ShortTag() != "!!str") {
			return nil, p.errorf(v, "%s must be an integer", full)
		}
		n, err := parseDecimal(v.Value)
		if err != nil {
			return nil, p.errorf(v, "%s: %v", full, err)
		}
		return n, nil
	case kindBool:
		if v.Kind == yaml.ScalarNode {
			switch strings.ToLower(v.Value) {
			case "true", "yes", "on":
				return true, nil
			case "false", "no", "off":
				return false, nil
			}
		}
		return nil, p.errorf(v, "%s must be true or false", full)
	case kindList:
		switch v.Kind {
		case yaml.ScalarNode:
			return splitEALArgs(v.Value), nil
		case yaml.SequenceNode:
			out := []string{}
			for i, item := range v.Content {
				item, err := p.resolve(item)
				if err != nil {
					return nil, err
				}
				if item.Kind != yaml.ScalarNode || isNull(item) {
					return nil, p.errorf(item, "%s: item %d must be a string", full, i)
				}
				out = append(out, item.Value)
			}
			return cleanList(out), nil
		}
		return nil, p.errorf(v, "%s must be a list of strings", full)
	case kindMap:
		var entries [][2]string
		switch v.Kind {
		case yaml.ScalarNode:
			var err error
			if entries, err = splitPortIDs(v.Value); err != nil {
				return nil, p.errorf(v, "%s: %v", full, err)
			}
			if _, err := portIDMap(entries); err != nil {
				return nil, p.errorf(v, "%s: %v", full, err)
			}
		case yaml.MappingNode:
			ps, err := p.pairs(v, 0)
			if err != nil {
				return nil, err
			}
			var set portIDSet
			for _, e := range ps {
				id, err := p.resolve(e.val)
				if err != nil {
					return nil, err
				}
				if id.Kind != yaml.ScalarNode || isNull(id) {
					return nil, p.errorf(id, "%s.%s: port id must be a string", full, e.key)
				}
				// Check entry by entry to name the right line.
				if err := set.add(e.key, id.Value); err != nil {
					return nil, p.errorf(e.keyNode, "%s: %v", full, err)
				}
				entries = append(entries, [2]string{e.key, id.Value})
			}
		default:
			return nil, p.errorf(v, "%s must be a map of portN: id", full)
		}
		m := make(map[string]any, len(entries))
		for _, e := range entries {
			m[e[0]] = e[1]
		}
		return m, nil
	}
	return nil, p.errorf(v, "%s: unsupported kind", full)
}

var (
	segmentRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// splitResourcePath checks a resources: key and splits it into collection
// and id.
func splitResourcePath(path string) (collection, id string, err error) {
	const want = "want /<collection>/<id> with letters, digits, '.', '_' or '-'"
	rest, ok := strings.CutPrefix(path, "/")
	i := strings.LastIndexByte(rest, '/')
	if !ok || i < 0 {
		return "", "", fmt.Errorf("resource path %q: %s", path, want)
	}
	collection, id = rest[:i], rest[i+1:]
	for _, seg := range strings.Split(collection, "/") {
		if !segmentRE.MatchString(seg) {
			return "", "", fmt.Errorf("resource path %q: %s", path, want)
		}
	}
	if !idRE.MatchString(id) || id == "." || id == ".." {
		return "", "", fmt.Errorf("resource path %q: %s", path, want)
	}
	return collection, id, nil
}

func (p *fileParser) parseResources(n *yaml.Node) error {
	n, err := p.resolve(n)
	if err != nil {
		return err
	}
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return p.errorf(n, "resources must be a map of /<collection>/<id>: object")
	}
	ps, err := p.pairs(n, 0)
	if err != nil {
		return err
	}
	for _, e := range ps {
		coll, id, err := splitResourcePath(e.key)
		if err != nil {
			return p.errorf(e.keyNode, "resources: %v", err)
		}
		body, err := p.resolve(e.val)
		if err != nil {
			return err
		}
		if body.Kind != yaml.MappingNode {
			return p.errorf(body, "resource %q must be a map", e.key)
		}
		var buf bytes.Buffer
		if err := p.writeMap(&buf, e.key, body, 1, id); err != nil {
			return err
		}
		p.resources = append(p.resources, Resource{
			Path:       e.key,
			Collection: coll,
			ID:         id,
			Body:       json.RawMessage(buf.Bytes()),
		})
	}
	return nil
}

// writeMap writes mapping n as a JSON object. At the top of a resource
// (id != "") an "id" member equal to id is dropped and a different one
// rejected.
func (p *fileParser) writeMap(buf *bytes.Buffer, res string, n *yaml.Node, depth int, id string) error {
	ps, err := p.pairs(n, 0)
	if err != nil {
		return err
	}
	buf.WriteByte('{')
	first := true
	for _, e := range ps {
		if id != "" && e.key == "id" {
			v, err := p.resolve(e.val)
			if err != nil {
				return err
			}
			if v.Kind != yaml.ScalarNode || v.Value != id {
				return p.errorf(e.keyNode, "resource %q: id must be left out or equal %q", res, id)
			}
			continue
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		writeJSONString(buf, e.key)
		buf.WriteByte(':')
		if err := p.writeJSON(buf, res, e.val, depth+1); err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}

// writeJSON writes the YAML value n as JSON.
func (p *fileParser) writeJSON(buf *bytes.Buffer, res string, n *yaml.Node, depth int) error {
	n, err := p.resolve(n)
	if err != nil {
		return err
	}
	if depth > maxNesting {
		return p.errorf(n, "resource %q: nested deeper than %d levels", res, maxNesting)
	}
	if err := p.spend(n, 1); err != nil {
		return err
	}
	switch n.Kind {
	case yaml.MappingNode:
		return p.writeMap(buf, res, n, depth, "")
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := p.writeJSON(buf, res, item, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	case yaml.ScalarNode:
		return p.writeScalar(buf, res, n)
	}
	return p.errorf(n, "resource %q: unexpected YAML node", res)
}

func (p *fileParser) writeScalar(buf *bytes.Buffer, res string, n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!null":
		buf.WriteString("null")
		return nil
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			return p.errorf(n, "resource %q: bad %s %q", res, n.ShortTag()[2:], n.Value)
		}
		switch x := v.(type) {
		case float64:
			if math.IsInf(x, 0) || math.IsNaN(x) {
				return p.errorf(n, "resource %q: %s has no JSON form", res, n.Value)
			}
		case bool, int, int64, uint64:
		default:
			return p.errorf(n, "resource %q: bad %s %q", res, n.ShortTag()[2:], n.Value)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return p.errorf(n, "resource %q: %v", res, err)
		}
		buf.Write(b)
		return nil
	}
	writeJSONString(buf, n.Value)
	return nil
}

func writeJSONString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // cannot fail for a string
	buf.Write(b)
}

// oneLineError makes sure an error message is a single line.
func oneLineError(err error) error {
	msg := err.Error()
	clean := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, msg)
	if clean == msg {
		return err
	}
	return &cleanError{msg: clean, err: err}
}

type cleanError struct {
	msg string
	err error
}

func (e *cleanError) Error() string { return e.msg }
func (e *cleanError) Unwrap() error { return e.err }
