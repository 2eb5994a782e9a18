// Package bpf compiles tcpdump filter expressions with libpcap and runs
// them on packets with golang.org/x/net/bpf's virtual machine. It is a
// tiny cgo package because only libpcap speaks tcpdump's filter language.
//
// Compiling is bounded three ways, because a filter comes from an API
// client and libpcap's optimizer is superlinear in the number of terms
// (300 "port N" terms take 2 s here): the expression's length, the time a
// compile may take (Limits.Deadline; the C call cannot be interrupted, so
// it runs on its own goroutine and a caller past the deadline stops
// waiting for it), and the compiled program's length (each frame may run
// every instruction, so a long program is a per-packet cost on the data
// plane). At most a few compiles run in C at once, counting abandoned
// ones, so callers that give up cannot pile up threads; long expressions
// queue apart from short ones, so slow filters cannot hold up the rest.
package bpf

/*
#cgo LDFLAGS: -lpcap
#include <stdlib.h>
#include <pcap/pcap.h>

// op_compile compiles expr with a pcap_t of its own: libpcap >= 1.8 keeps
// all compiler state in the pcap_t and the call (Debian 12 has 1.10.3),
// so calls on different handles may run concurrently.
static int op_compile(const char *expr, struct bpf_program *prog, char *errbuf, int errlen) {
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
	if (p == NULL) {
		snprintf(errbuf, errlen, "pcap_open_dead failed");
		return -1;
	}
	int rc = pcap_compile(p, prog, expr, 1, PCAP_NETMASK_UNKNOWN);
	if (rc != 0)
		snprintf(errbuf, errlen, "%s", pcap_geterr(p));
	pcap_close(p);
	return rc;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	xbpf "golang.org/x/net/bpf"
)

// ErrInvalid marks a filter that is refused: it does not compile, or it
// is too long, too slow to compile or too costly to run. The API answers
// 400 for all of them.
var ErrInvalid = errors.New("invalid filter")

// ErrTooCostly marks (together with ErrInvalid) a filter refused for its
// cost rather than its syntax.
var ErrTooCostly = errors.New("filter too costly")

// Filter is a compiled filter. Match is safe for concurrent use.
type Filter struct {
	expr string
	vm   *xbpf.VM
}

// MaxLen bounds a filter expression in bytes.
const MaxLen = 4096

// Limits bound one compile.
type Limits struct {
	// MaxLen bounds the expression in bytes (<= 0: MaxLen).
	MaxLen int
	// Deadline bounds how long Compile waits for libpcap; a compile still
	// running then is refused (and finishes in the background).
	Deadline time.Duration
	// MaxInstructions bounds the compiled program.
	MaxInstructions int
}

// DefaultLimits are what Compile uses. The deadline is about 1000 times
// what an ordinary filter takes; 1024 instructions is a quarter of the
// kernel's BPF_MAXINSNS and still ~200 "host" terms.
var DefaultLimits = Limits{MaxLen: MaxLen, Deadline: 2 * time.Second, MaxInstructions: 1024}

// shortLen is the longest expression that counts as short. libpcap's
// time grows with the number of terms, so a short expression compiles in
// milliseconds (25 "port" terms: ~5 ms here), and long ones are the ones
// that can take seconds.
const shortLen = 256

// shortSlots and longSlots hold a token per compile running in C,
// including those whose callers stopped waiting, so a flood of slow
// filters costs at most that many busy threads. Long expressions have
// their own tokens: four slow filters made every filter wait 40 s behind
// one lock; here they cannot even take the short filters' turn.
var (
	shortSlots = make(chan struct{}, max(2, 2*runtime.NumCPU()))
	longSlots  = make(chan struct{}, max(2, runtime.NumCPU()))
)

// inC counts the compiles inside libpcap right now and peakInC the most
// seen at once: what tells a test that compiles overlap, whatever the
// machine's load does to their timing.
var inC, peakInC atomic.Int32

// compiled is what a compile's goroutine hands back.
type compiled struct {
	raw []xbpf.RawInstruction
	err error
}

// Compile turns a tcpdump expression into a filter for Ethernet frames
// within DefaultLimits. An empty expression matches everything (Compile
// returns nil, nil).
func Compile(expr string) (*Filter, error) { return CompileWith(expr, DefaultLimits) }

// CompileWith is Compile within the given limits.
func CompileWith(expr string, lim Limits) (*Filter, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return nil, nil
	}
	maxLen := lim.MaxLen
	if maxLen <= 0 {
		maxLen = MaxLen
	}
	if len(expr) > maxLen {
		return nil, fmt.Errorf("%w: %w: expression of %d bytes, limit %d", ErrInvalid, ErrTooCostly, len(expr), maxLen)
	}
	if strings.IndexByte(expr, 0) >= 0 {
		return nil, fmt.Errorf("%w: expression contains NUL", ErrInvalid)
	}
	if lim.Deadline <= 0 {
		lim.Deadline = DefaultLimits.Deadline
	}
	timer := time.NewTimer(lim.Deadline)
	defer timer.Stop()
	slots := shortSlots
	if len(expr) > shortLen {
		slots = longSlots
	}
	select {
	case slots <- struct{}{}:
	case <-timer.C:
		return nil, fmt.Errorf("%w: %w: %d compiles of earlier filters still running after %v", ErrInvalid, ErrTooCostly, cap(slots), lim.Deadline)
	}
	done := make(chan compiled, 1) // buffered: an abandoned compile must not block
	go func() {
		defer func() { <-slots }()
		n := inC.Add(1)
		for p := peakInC.Load(); n > p && !peakInC.CompareAndSwap(p, n); p = peakInC.Load() {
		}
		raw, err := compileC(expr)
		inC.Add(-1)
		done <- compiled{raw, err}
	}()
	var c compiled
	select {
	case c = <-done:
	case <-timer.C:
		return nil, fmt.Errorf("%w: %w: compiling took longer than %v", ErrInvalid, ErrTooCostly, lim.Deadline)
	}
	if c.err != nil {
		return nil, c.err
	}
	if lim.MaxInstructions > 0 && len(c.raw) > lim.MaxInstructions {
		return nil, fmt.Errorf("%w: %w: %d BPF instructions, limit %d", ErrInvalid, ErrTooCostly, len(c.raw), lim.MaxInstructions)
	}
	decoded, ok := xbpf.Disassemble(c.raw)
	if !ok {
		return nil, fmt.Errorf("%w: libpcap produced an instruction the VM does not know", ErrInvalid)
	}
	vm, err := xbpf.NewVM(decoded)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return &Filter{expr: expr, vm: vm}, nil
}

// compileC runs libpcap's compiler and copies the program to Go memory.
func compileC(expr string) ([]xbpf.RawInstruction, error) {
	cexpr := C.CString(expr)
	defer C.free(unsafe.Pointer(cexpr))
	var prog C.struct_bpf_program
	errbuf := (*C.char)(C.malloc(C.PCAP_ERRBUF_SIZE))
	defer C.free(unsafe.Pointer(errbuf))
	if rc := C.op_compile(cexpr, &prog, errbuf, C.PCAP_ERRBUF_SIZE); rc != 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, C.GoString(errbuf))
	}
	defer C.pcap_freecode(&prog)
	insns := unsafe.Slice(prog.bf_insns, prog.bf_len)
	raw := make([]xbpf.RawInstruction, len(insns))
	for i, in := range insns {
		raw[i] = xbpf.RawInstruction{Op: uint16(in.code), Jt: uint8(in.jt), Jf: uint8(in.jf), K: uint32(in.k)}
	}
	return raw, nil
}

// Match reports whether a frame passes the filter; a nil filter passes all.
func (f *Filter) Match(frame []byte) bool {
	if f == nil {
		return true
	}
	n, err := f.vm.Run(frame)
	return err == nil && n > 0
}

// String is the filter's expression.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	return f.expr
}
