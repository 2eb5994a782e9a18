// The checks of a decoded Config, and the parsers of values that are one
// string on the command line and something else in Config.

package config

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

const (
	maxPrefixLen     = 64
	maxCPUMaskDigits = 256
)

// converters turn the values whose flag takes a string but whose Config
// field is not a string into the field's type.
var converters = map[string]func(any) (any, error){
	keyAPIHosts:     toList,
	keyOptions:      toList,
	keyPortIDs:      toPortIDs,
	keyMemoryBudget: toSize,
}

// convert replaces the values of converters' keys by their Config types,
// so that koanf can decode them. An empty result is deleted, leaving the
// field nil; a value that does not convert is deleted too, and its error
// kept for validate to report in its turn.
func (l *loader) convert() {
	for key, conv := range converters {
		v := l.k.Get(key)
		if v == nil {
			continue
		}
		out, err := conv(v)
		if err != nil {
			l.bad[key] = err
		}
		if err != nil || reflectEmpty(out) {
			l.k.Delete(key)
			continue
		}
		if err := l.k.Set(key, out); err != nil {
			l.bad[key] = err
		}
	}
}

func reflectEmpty(v any) bool {
	switch x := v.(type) {
	case []string:
		return len(x) == 0
	case map[int]string:
		return len(x) == 0
	case int64:
		return x == 0
	}
	return v == nil
}

// validate checks cfg in the order of the flags, returning the first
// error with where its value came from. It also puts the log level in
// its one spelling.
func (l *loader) validate(cfg *Config) error {
	api, pio, dpdk := &cfg.API, &cfg.PacketIO, &cfg.PacketIO.DPDK
	checks := []struct {
		key   string
		check func() error
	}{
		{keyAPIAddress, func() error { return validAddress(api.Address) }},
		{keyAPIPort, func() error { return inRange(api.Port, 1, 65535) }},
		{keyAPITLSCert, func() error { return bothOrNeither(api.TLSCert, api.TLSKey) }},
		{keyAPITLSKey, func() error { return bothOrNeither(api.TLSKey, api.TLSCert) }},
		{keyAPIHosts, nil},
		{keyLogLevel, func() (err error) {
			cfg.Log.Level, err = logLevel(cfg.Log.Level)
			return err
		}},
		{keyPrefix, func() error { return validPrefix(cfg.Prefix) }},
		{keyCPUMask, func() error { return validCPUMask(pio.CPUMask) }},
		{keyRxWorkerMask, func() error { return validCPUMask(dpdk.RxWorkerMask) }},
		{keyTxWorkerMask, func() error { return validCPUMask(dpdk.TxWorkerMask) }},
		{keyTestRxLimit, func() error { _, err := dpdk.RxLimits(); return err }},
		{keyTestPortPairs, func() error { return inRange(dpdk.TestPortPairs, 1, MaxTestPortPairs) }},
		{keyJumboBuffers, func() error { return inRange(dpdk.JumboBuffers, 0, MaxJumboBuffers) }},
		{keyOptions, nil},
		{keyPortIDs, nil},
		{keyRxStrategy, func() error { return validRxStrategy(cfg.Stack.RxStrategy) }},
		{keyZMQEndpoint, func() error { return validZMQEndpoint(cfg.ZMQ.Endpoint) }},
		{keyMemoryBudget, nil},
		{keyZMQMaxMessage, func() error {
			if cfg.ZMQ.MaxMessageSize < 0 {
				return fmt.Errorf("%d: must be 0 (the default) or a number of bytes", cfg.ZMQ.MaxMessageSize)
			}
			return nil
		}},
	}
	for _, c := range checks {
		err := l.bad[c.key]
		if err == nil && c.check != nil {
			err = c.check()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", l.where(c.key), err)
		}
	}
	return nil
}

func inRange(n, lo, hi int) error {
	if n < lo || n > hi {
		return fmt.Errorf("%d is out of range %d..%d", n, lo, hi)
	}
	return nil
}

// bothOrNeither checks the TLS files: given is the one whose key is named.
func bothOrNeither(given, other string) error {
	if given != "" && other == "" {
		return fmt.Errorf("give both --%s and --%s, or neither", keyAPITLSCert, keyAPITLSKey)
	}
	return nil
}

// logLevel reads a log level name or OpenPerf's number.
func logLevel(s string) (string, error) {
	if n, ok := numericLogLevel(s); ok {
		return n, nil
	}
	return normalizeLevel(s)
}

func validRxStrategy(s string) error {
	if s != "" && s != "direct" && s != "queued" {
		return fmt.Errorf("%q: must be direct or queued", s)
	}
	return nil
}

func validZMQEndpoint(s string) error {
	if s != "" && s != "none" && !strings.HasPrefix(s, "ipc://") && !strings.HasPrefix(s, "tcp://") {
		return fmt.Errorf("%q: must start with ipc:// or tcp://, or be none", s)
	}
	return nil
}

// toList reads a list option: a comma-separated string, or a YAML list.
func toList(v any) (any, error) {
	var out []string
	switch v := v.(type) {
	case string:
		out = splitEALArgs(v)
	case []string:
		out = cleanList(v)
	case []any:
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("item %d must be a string", i)
			}
			out = append(out, s)
		}
		out = cleanList(out)
	default:
		return nil, errors.New("must be a list of strings or a comma-separated string")
	}
	for _, s := range out {
		if strings.IndexByte(s, 0) >= 0 {
			return nil, fmt.Errorf("%q contains a NUL byte", s)
		}
	}
	return out, nil
}

// toPortIDs reads port-ids: a "portN=id,..." string, or a YAML map.
func toPortIDs(v any) (any, error) {
	var entries [][2]string
	switch v := v.(type) {
	case string:
		var err error
		if entries, err = splitPortIDs(v); err != nil {
			return nil, err
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
				return nil, fmt.Errorf("%s: port id must be a string", name)
			}
			entries = append(entries, [2]string{name, id})
		}
	default:
		return nil, errors.New("must be a map of portN: id or a \"portN=id,...\" string")
	}
	return portIDMap(entries)
}

// toSize reads the memory budget; "" is the default, 0.
func toSize(v any) (any, error) {
	s, ok := v.(string)
	if !ok {
		return nil, errors.New("must be a string")
	}
	if s == "" {
		return int64(0), nil
	}
	return parseSize(s)
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
	if s == "" {
		return nil
	}
	_, err := parseMask(s)
	return err
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

// RxLimits parses TestRxLimit: frames per second by port id.
func (d DPDKConfig) RxLimits() (map[string]float64, error) {
	return parseRxLimits(d.TestRxLimit)
}

func parseRxLimits(s string) (map[string]float64, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := map[string]float64{}
	for _, item := range strings.Split(s, ",") {
		id, v, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || id == "" {
			return nil, fmt.Errorf("%q: want port-id=frames-per-second", item)
		}
		fps, err := strconv.ParseFloat(v, 64)
		if err != nil || !(fps >= 1) || math.IsInf(fps, 0) {
			return nil, fmt.Errorf("%q: the rate must be a number of frames per second, at least 1", item)
		}
		out[id] = fps
	}
	return out, nil
}
