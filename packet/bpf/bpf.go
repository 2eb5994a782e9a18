// Package bpf compiles tcpdump filter expressions with libpcap and runs
// them on packets with golang.org/x/net/bpf's virtual machine. It is a
// tiny cgo package because only libpcap speaks tcpdump's filter language.
package bpf

/*
#cgo LDFLAGS: -lpcap
#include <stdlib.h>
#include <pcap/pcap.h>

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
	"strings"
	"sync"
	"unsafe"

	xbpf "golang.org/x/net/bpf"
)

// ErrInvalid marks a filter that does not compile.
var ErrInvalid = errors.New("invalid filter")

// Filter is a compiled filter. Match is safe for concurrent use.
type Filter struct {
	expr string
	vm   *xbpf.VM
}

// older libpcap versions keep compiler state in globals.
var compileMu sync.Mutex

// MaxLen bounds a filter expression.
const MaxLen = 4096

// Compile turns a tcpdump expression into a filter for Ethernet frames.
// An empty expression matches everything (Compile returns nil, nil).
func Compile(expr string) (*Filter, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return nil, nil
	}
	if len(expr) > MaxLen || strings.IndexByte(expr, 0) >= 0 {
		return nil, fmt.Errorf("%w: expression too long or contains NUL", ErrInvalid)
	}
	cexpr := C.CString(expr)
	defer C.free(unsafe.Pointer(cexpr))
	var prog C.struct_bpf_program
	errbuf := (*C.char)(C.malloc(256))
	defer C.free(unsafe.Pointer(errbuf))
	compileMu.Lock()
	rc := C.op_compile(cexpr, &prog, errbuf, 256)
	compileMu.Unlock()
	if rc != 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, C.GoString(errbuf))
	}
	defer C.pcap_freecode(&prog)
	insns := unsafe.Slice(prog.bf_insns, prog.bf_len)
	raw := make([]xbpf.RawInstruction, len(insns))
	for i, in := range insns {
		raw[i] = xbpf.RawInstruction{Op: uint16(in.code), Jt: uint8(in.jt), Jf: uint8(in.jf), K: uint32(in.k)}
	}
	decoded, ok := xbpf.Disassemble(raw)
	if !ok {
		return nil, fmt.Errorf("%w: libpcap produced an instruction the VM does not know", ErrInvalid)
	}
	vm, err := xbpf.NewVM(decoded)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return &Filter{expr: expr, vm: vm}, nil
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
