// Package dpdk implements packetio on DPDK 22.11. It is the only package
// with cgo: EAL start-up, ethdev ports (vdevs, NICs, ring-wired test pairs,
// bonds), one mbuf pool, worker-thread registration and the burst calls.
// A burst crosses into C once; burst arrays live in C memory and are passed
// as uintptr so cgo's pointer checks never walk them.
package dpdk

/*
#cgo pkg-config: libdpdk
#cgo CFLAGS: -DALLOW_EXPERIMENTAL_API -O2
#cgo LDFLAGS: -lrte_net_ring -lrte_net_bond
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

var (
	ealMu      sync.Mutex
	ealStarted bool
)

// ErrEALStarted is returned by a second InitEAL: DPDK's EAL cannot be
// initialised twice in one process.
var ErrEALStarted = errors.New("EAL already initialised in this process")

// CheckEALArgs rejects arguments EAL would handle by exiting the process
// itself (help) or that are not EAL options at all.
func CheckEALArgs(args []string) error {
	for _, a := range args {
		switch a {
		case "-h", "--help":
			return fmt.Errorf("EAL option %q is not allowed: it would exit the daemon", a)
		case "":
			return errors.New("empty EAL option")
		}
	}
	return nil
}

// LogFunc receives one line DPDK logged.
type LogFunc func(line string)

// Level is an rte_log level: 1 emergency, 4 error, 5 warning, 6 notice,
// 7 info, 8 debug. Lines EAL prints past its log (on stdout and stderr)
// come as LevelInfo after a successful init; a failed one makes the
// telling line its error.
type Level int

// rte_log levels the daemon tells apart.
const (
	LevelError   Level = 4
	LevelWarning Level = 5
	LevelInfo    Level = 7
	LevelDebug   Level = 8
)

// LevelLogFunc receives one line DPDK logged and the level it logged at.
type LevelLogFunc func(level Level, line string)

// EALError is a failed rte_eal_init: Reason is DPDK's own telling line.
type EALError struct {
	Args   []string
	Reason string
}

func (e *EALError) Error() string {
	return fmt.Sprintf("EAL init %q: %s", strings.Join(e.Args, " "), e.Reason)
}

// InitEAL is InitEALLevels for a logf that takes no level.
func InitEAL(args []string, logf LogFunc) error {
	if logf == nil {
		return InitEALLevels(args, nil)
	}
	return InitEALLevels(args, func(_ Level, l string) { logf(l) })
}

// InitEAL starts DPDK's EAL with args (without a program name). EAL pins
// the calling thread to the main lcore's CPU, so it runs on a locked OS
// thread whose CPU set is restored afterwards: other goroutines may use
// that thread later and must not inherit the pin.
//
// What EAL prints while it starts (usage dumps, getopt complaints) is
// captured rather than left on the daemon's stdout/stderr: on failure the
// telling line becomes part of the error, on success it goes to logf.
// DPDK's log lines go to logf too, through a pipe, with their level; the
// ones logged during init have reached logf when InitEALLevels returns.
func InitEALLevels(args []string, logf LevelLogFunc) error {
	ealMu.Lock()
	defer ealMu.Unlock()
	if ealStarted {
		return ErrEALStarted
	}
	if err := CheckEALArgs(args); err != nil {
		return err
	}
	if logf == nil {
		logf = func(Level, string) {}
	}
	drained, err := routeLog(logf)
	if err != nil {
		return err
	}
	restore, captured, err := captureStdio()
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		var before unix.CPUSet
		haveSet := unix.SchedGetaffinity(0, &before) == nil

		argv := make([]*C.char, 0, len(args)+1)
		argv = append(argv, C.CString("openperfd"))
		for _, a := range args {
			argv = append(argv, C.CString(a))
		}
		cargv := (**C.char)(C.malloc(C.size_t(len(argv)) * C.size_t(unsafe.Sizeof(uintptr(0)))))
		copy(unsafe.Slice(cargv, len(argv)), argv)
		var cerr C.int
		rc := C.op_eal_init(C.int(len(argv)), cargv, &cerr)
		// EAL keeps pointers into argv for its lifetime; the strings stay.
		C.free(unsafe.Pointer(cargv))

		if haveSet {
			_ = unix.SchedSetaffinity(0, &before)
		}
		runtime.UnlockOSThread()
		if rc < 0 {
			msg := "invalid EAL arguments"
			if cerr != 0 {
				msg = C.GoString(C.op_strerror(cerr))
			}
			done <- errors.New(msg)
			return
		}
		done <- nil
	}()
	initErr := <-done
	restore()
	out := captured()
	drained()
	if initErr != nil {
		why := tellingLine(out)
		if why == "" {
			why = initErr.Error()
		}
		return &EALError{Args: args, Reason: why}
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" {
			logf(LevelInfo, l)
		}
	}
	ealStarted = true
	return nil
}

// tellingLine picks the line of EAL's start-up output that says what went
// wrong, skipping the usage text EAL prints after it.
func tellingLine(out string) string {
	var fallback string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		low := strings.ToLower(l)
		switch {
		case l == "":
		case strings.Contains(low, "unrecognized option"), strings.Contains(low, "invalid"),
			strings.Contains(low, "error"), strings.Contains(low, "cannot"), strings.Contains(low, "failed"):
			return l
		case fallback == "" && !strings.HasPrefix(l, "Usage") && !strings.HasPrefix(l, "-"):
			fallback = l
		}
	}
	return fallback
}

// logMark, written to the log pipe by Go, tells the reader that what DPDK
// logged before it has been handed to logf.
const logMark = "0openperfd-log-mark"

// routeLog points DPDK's log stream at a pipe whose lines go to logf. The
// C side starts each line with a digit, the line's rte_log level. drained
// returns once the lines logged before the call have reached logf.
func routeLog(logf LevelLogFunc) (drained func(), err error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("DPDK log pipe: %w", err)
	}
	if rc := C.op_log_to_fd(C.int(fds[1])); rc != 0 {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, fmt.Errorf("DPDK log stream: %d", int(rc))
	}
	marks := make(chan struct{}, 1)
	r := os.NewFile(uintptr(fds[0]), "dpdk-log")
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if sc.Text() == logMark {
				marks <- struct{}{}
				continue
			}
			if lvl, l := splitLevel(sc.Text()); l != "" {
				logf(lvl, l)
			}
		}
	}()
	drained = func() {
		C.op_flush_log()
		if _, err := unix.Write(fds[1], []byte(logMark+"\n")); err == nil {
			select {
			case <-marks:
			case <-time.After(2 * time.Second): // a reader stuck on an overlong line
			}
		}
	}
	return drained, nil
}

// splitLevel takes the level digit off a line of the log pipe.
func splitLevel(line string) (Level, string) {
	lvl := LevelInfo
	if len(line) > 0 && line[0] >= '1' && line[0] <= '8' {
		lvl, line = Level(line[0]-'0'), line[1:]
	}
	return lvl, strings.TrimSpace(line)
}

// captureStdio points fds 1 and 2 at a temporary file until restore.
func captureStdio() (restore func(), read func() string, err error) {
	f, err := os.CreateTemp("", "openperfd-eal-*")
	if err != nil {
		return nil, nil, fmt.Errorf("capture EAL output: %w", err)
	}
	_ = os.Remove(f.Name())
	saved := [2]int{-1, -1}
	for i, fd := range []int{1, 2} {
		if saved[i], err = unix.Dup(fd); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("capture EAL output: %w", err)
		}
		_ = unix.Dup2(int(f.Fd()), fd)
	}
	restore = func() {
		C.op_flush_stdio()
		for i, fd := range []int{1, 2} {
			_ = unix.Dup2(saved[i], fd)
			unix.Close(saved[i])
		}
	}
	read = func() string {
		defer f.Close()
		b, _ := os.ReadFile("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
		return string(b)
	}
	return restore, read, nil
}

// CleanupEAL releases EAL resources and removes the runtime directory EAL
// leaves behind under /var/run/dpdk/<prefix>.
func CleanupEAL(prefix string) error {
	ealMu.Lock()
	defer ealMu.Unlock()
	if !ealStarted {
		return nil
	}
	rc := C.op_eal_cleanup()
	var err error
	if rc != 0 {
		err = fmt.Errorf("EAL cleanup: %s", C.GoString(C.op_strerror(-rc)))
	}
	if prefix != "" && !strings.ContainsAny(prefix, "/.") {
		if rmErr := os.RemoveAll(filepath.Join(RuntimeDir(), prefix)); rmErr != nil && err == nil {
			err = fmt.Errorf("remove EAL runtime dir: %w", rmErr)
		}
	}
	return err
}

// RuntimeDir is where EAL keeps per-prefix runtime files when run as root.
func RuntimeDir() string {
	if d := os.Getenv("RUNTIME_DIRECTORY"); d != "" {
		return d
	}
	if os.Geteuid() == 0 {
		return "/var/run/dpdk"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "dpdk")
	}
	return "/tmp/dpdk"
}

// RegisterThread makes the calling OS thread an EAL lcore so it gets a
// mempool cache. Call it once per worker thread, after LockOSThread; a
// second call on the same thread leaks an lcore id.
func RegisterThread() (lcore int, err error) {
	if rc := C.op_thread_register(); rc != 0 {
		return -1, fmt.Errorf("register worker thread with EAL: %s", C.GoString(C.op_strerror(C.op_errno())))
	}
	return int(C.op_lcore_id()), nil
}

// UnregisterThread gives the calling thread's lcore id back to EAL.
func UnregisterThread() { C.op_thread_unregister() }
