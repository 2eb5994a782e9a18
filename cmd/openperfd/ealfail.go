package main

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/openperfd/openperfd/packetio/dpdk"
)

// zapLevel maps an rte_log level onto zap's: emergency to error are
// errors, warning a warning, notice and info info, debug debug.
func zapLevel(l dpdk.Level) zapcore.Level {
	switch {
	case l <= dpdk.LevelError:
		return zapcore.ErrorLevel
	case l == dpdk.LevelWarning:
		return zapcore.WarnLevel
	case l >= dpdk.LevelDebug:
		return zapcore.DebugLevel
	}
	return zapcore.InfoLevel
}

// dpdkLog hands DPDK's log lines to zap at their level and keeps the last
// error lines: the cause a failed start reports.
type dpdkLog struct {
	log    *zap.Logger
	mu     sync.Mutex
	errors []string
}

func (d *dpdkLog) line(l dpdk.Level, line string) {
	if ce := d.log.Check(zapLevel(l), "dpdk"); ce != nil {
		ce.Write(zap.String("line", line))
	}
	if l <= dpdk.LevelError {
		d.mu.Lock()
		d.errors = append(d.errors, strings.TrimPrefix(line, "EAL: "))
		if len(d.errors) > 8 {
			d.errors = d.errors[1:]
		}
		d.mu.Unlock()
	}
}

// cause is the most telling error line DPDK logged besides what err says
// already: the first that is not a generic summary (those follow the
// specific line), else the last.
func (d *dpdkLog) cause(err error) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	last := ""
	for _, l := range d.errors {
		if strings.Contains(msg, l) {
			continue
		}
		low := strings.ToLower(l)
		if strings.Contains(low, "probe failed") || strings.Contains(low, "failed to initialize") || strings.HasPrefix(low, "fatal") {
			last = l
			continue
		}
		return l
	}
	return last
}

// startError makes a failed EAL or port start one line, as every start-up
// error is: what DPDK said and how to fix it.
func startError(err error, dl *dpdkLog, prefix string) error {
	what := err.Error()
	var ee *dpdk.EALError
	if errors.As(err, &ee) {
		what = "EAL: " + strings.TrimPrefix(strings.TrimPrefix(ee.Reason, "EAL: "), "FATAL: ")
	}
	if c := dl.cause(err); c != "" {
		what += " (" + c + ")"
	}
	return fmt.Errorf("%s; fix: %s", what, fixFor(what, prefix))
}

// fixFor is the advice for a start-up failure, from DPDK's words.
func fixFor(what, prefix string) string {
	low := strings.ToLower(what)
	switch {
	case strings.Contains(low, "hugepage"):
		return "give EAL memory without hugepages (-d \"--no-huge,-m,512,...\") or reserve and mount hugepages (echo 1024 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages; mount -t hugetlbfs none /dev/hugepages); `openperfd doctor` checks the host"
	case strings.Contains(low, "another primary"), strings.Contains(low, "lock"):
		return fmt.Sprintf("another DPDK process uses the file prefix %q: stop it or pick another prefix (-P)", prefix)
	case strings.Contains(low, "unrecognized option"), strings.Contains(low, "invalid"), strings.Contains(low, "usage"):
		return "correct the EAL options given with -d (see `dpdk-testpmd -h` for the list)"
	case strings.Contains(low, "siocgifindex"):
		return "the kernel interface named by iface= does not exist: check `ip link`"
	case strings.Contains(low, "vfio"), strings.Contains(low, "iommu"), strings.Contains(low, "cannot be used"):
		return "bind the NIC to vfio-pci (dpdk-devbind.py -b vfio-pci <pci>) with the IOMMU on, or name only usable devices with -a; `openperfd doctor` checks the host"
	case strings.Contains(low, "failed to parse device"):
		return "no installed PMD has that name: check the --vdev driver name (net_null0, net_af_packet0, ...) and that its package (librte-net-*) is installed; `openperfd doctor` lists the PMDs"
	case strings.Contains(low, "ports from the device options"), strings.Contains(low, "vdev"), strings.Contains(low, "driver"), strings.Contains(low, "device"):
		return "check the --vdev/-a arguments: the driver name, its PMD package (librte-net-*) and its parameters; `openperfd doctor` lists the PMDs installed"
	}
	return "run `openperfd doctor` for what this host lacks"
}
