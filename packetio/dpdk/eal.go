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
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
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

// InitEAL starts DPDK's EAL with args (without a program name). EAL pins
// the calling thread to the main lcore's CPU, so it runs on a locked OS
// thread whose CPU set is restored afterwards: other goroutines may use
// that thread later and must not inherit the pin.
func InitEAL(args []string) error {
	ealMu.Lock()
	defer ealMu.Unlock()
	if ealStarted {
		return ErrEALStarted
	}
	if err := CheckEALArgs(args); err != nil {
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
			done <- fmt.Errorf("EAL init %q: %s", strings.Join(args, " "), msg)
			return
		}
		done <- nil
	}()
	if err := <-done; err != nil {
		return err
	}
	ealStarted = true
	return nil
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
