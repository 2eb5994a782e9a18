package config

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// ignoredOptions are OpenPerf's flags that openperfd takes and ignores: they
// configure modules or mechanisms it does not have. OpenPerf launch lines
// and config files carry them, so they must not stop start-up; Load lists
// each one given in Config.Ignored and the daemon logs them once. kindBool
// ones take no value on the command line, as in OpenPerf; the others take
// one, which is not checked (OpenPerf does not check most of them either).
var ignoredOptions = []option{
	{"modules.plugins.path", "m", kindString, "ignored: OpenPerf's plugin `directory` (openperfd has no plugins)"},
	{"modules.plugins.load", "L", kindString, "ignored: OpenPerf's comma-separated plugin `files` (openperfd has no plugins)"},
	{"modules.packetio.dpdk.misc-worker-mask", "M", kindString, "ignored: OpenPerf's `mask` of CPUs for its stack and other threads (the Go runtime schedules those here)"},
	{"modules.packetio.dpdk.no-link-interrupts", "", kindBool, "ignored: link state is read when asked"},
	{"modules.packetio.dpdk.no-lro", "", kindBool, "ignored: openperfd never turns large receive offload on"},
	{"modules.packetio.dpdk.tx-queues", "", kindString, "ignored: transmit `queues` of an OpenPerf secondary process (openperfd runs as DPDK's primary)"},
	{"modules.packetio.dpdk.tx-mempool", "", kindString, "ignored: transmit `pool` of an OpenPerf secondary process (openperfd runs as DPDK's primary)"},
	{"modules.network.cpu-mask", "", kindString, "ignored: OpenPerf's network module is not part of openperfd"},
	{"modules.network.driver", "", kindString, "ignored: OpenPerf's network module is not part of openperfd"},
	{"modules.network.operation-timeout", "", kindString, "ignored: OpenPerf's network module is not part of openperfd"},
	{"modules.block.cpu-mask", "", kindString, "ignored: OpenPerf's block module is not part of openperfd"},
	{"modules.cpu.cpu-mask", "", kindString, "ignored: OpenPerf's cpu module is not part of openperfd"},
	{"modules.memory.cpu-mask", "", kindString, "ignored: OpenPerf's memory module is not part of openperfd"},
}

// openPerfModules are OpenPerf's modules (src/modules/*, and plugins)
// whose settings openperfd does not read. Keys under modules.<one of them>
// that openperfd does not know are ignored as that module's settings
// rather than reported as unknown.
var openPerfModules = map[string]bool{
	"block": true, "cpu": true, "dynamic": true, "memory": true, "network": true,
	"packet": true, "plugins": true, "timesync": true, "tvlp": true,
}

// isIgnored reports whether key is one of ignoredOptions.
func isIgnored(key string) bool {
	_, ok := ignoredKinds[key]
	return ok
}

var ignoredKinds = map[string]kind{}

func init() {
	for _, o := range ignoredOptions {
		ignoredKinds[o.key] = o.kind
	}
}

// openPerfModuleKey reports whether key lies under an OpenPerf module that
// openperfd does not have (modules.tvlp.anything).
func openPerfModuleKey(key string) bool {
	rest, ok := strings.CutPrefix(key, "modules.")
	if !ok {
		return false
	}
	name, _, _ := strings.Cut(rest, ".")
	return openPerfModules[name]
}

// CPUs returns the CPU numbers a mask selects, lowest first. Masks are read
// as OpenPerf reads them: "0x..." is hexadecimal of any length; digits only
// are a C integer (decimal, or octal with a leading 0), as OpenPerf's
// strtoull(s, 0) reads them; a mask with the letters a-f and no 0x is
// hexadecimal (an openperfd extension: OpenPerf rejects it). An empty
// result is a valid mask that selects no CPU.
func CPUs(mask string) ([]int, error) {
	n, err := parseMask(mask)
	if err != nil {
		return nil, err
	}
	var out []int
	for i := range n.BitLen() {
		if n.Bit(i) == 1 {
			out = append(out, i)
		}
	}
	return out, nil
}

func parseMask(s string) (*big.Int, error) {
	bad := fmt.Errorf("%q is not a CPU mask such as 0x2", s)
	digits, base := s, 0
	switch {
	case len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'):
		digits, base = s[2:], 16
	case strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) >= 0:
		base = 16
	case len(s) > 1 && s[0] == '0':
		digits, base = s[1:], 8
	default:
		base = 10
	}
	if digits == "" || len(digits) > maxCPUMaskDigits || !hexRE.MatchString(digits) {
		return nil, bad
	}
	n, ok := new(big.Int).SetString(digits, base)
	if !ok || n.BitLen() > 4*maxCPUMaskDigits {
		return nil, bad
	}
	return n, nil
}

// numericLogLevel reads OpenPerf's numeric log levels: 1 critical .. 6
// trace; larger numbers are debug and negative ones critical, as OpenPerf
// clamps them; 0 means "not given" there, so the default.
func numericLogLevel(s string) (string, bool) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return "", false
	}
	switch {
	case n == 0:
		return DefaultLogLevel, true
	case n < 0:
		return "critical", true
	case n > len(LogLevels):
		return "debug", true
	}
	return LogLevels[n-1], true
}
