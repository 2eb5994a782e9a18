package rest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"runtime/debug"
	"sync/atomic"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/packet/analyzer"
	"github.com/openperfd/openperfd/packet/generator"
)

// streamBuffer is how many bytes of a streamed list are gathered before
// they go to the client: large enough for few writes, small enough that a
// list of millions of flows never sits in memory.
const streamBuffer = 64 << 10

// freeAfterBytes is the response size after which the heap is handed
// back to the OS: a streamed list keeps little, but what it churned
// through (an analyzer result's flow copies, say) leaves the heap grown
// until the runtime's scavenger gets to it, minutes later.
const freeAfterBytes = 64 << 20

// freeing is set while a FreeOSMemory runs, so large responses finishing
// together start one, not one each.
var freeing atomic.Bool

// jsonArray writes the items of seq as a JSON array, item by item, through
// a bounded buffer. The bytes are those of encoding/json on the whole
// slice (what the generated response writes), without the slice.
func jsonArray[T any](w http.ResponseWriter, seq iter.Seq[T]) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, streamBuffer)
	var item bytes.Buffer
	enc := json.NewEncoder(&item)
	written := 0
	sep := byte('[')
	for v := range seq {
		item.Reset()
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("encode list item: %w", err)
		}
		if err := bw.WriteByte(sep); err != nil {
			return fmt.Errorf("write list: %w", err)
		}
		sep = ','
		b := item.Bytes()
		if _, err := bw.Write(b[:len(b)-1]); err != nil { // Encode ends with a newline
			return fmt.Errorf("write list: %w", err)
		}
		written += len(b)
	}
	if sep == '[' {
		_ = bw.WriteByte('[')
	}
	if _, err := bw.WriteString("]\n"); err != nil {
		return fmt.Errorf("write list: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write list: %w", err)
	}
	if written >= freeAfterBytes && freeing.CompareAndSwap(false, true) {
		go func() {
			defer freeing.Store(false)
			debug.FreeOSMemory()
		}()
	}
	return nil
}

// page checks the x_offset and x_limit paging parameters (openperfd's
// extension; OpenPerf lists everything) and returns them as ints, limit
// -1 when absent.
func page(offset, limit *int64) (int, int, error) {
	off, lim := 0, -1
	if offset != nil {
		if *offset < 0 {
			return 0, 0, &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("x_offset: %d is negative", *offset)}
		}
		off = int(min(*offset, int64(^uint(0)>>1)))
	}
	if limit != nil {
		if *limit < 0 {
			return 0, 0, &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("x_limit: %d is negative", *limit)}
		}
		lim = int(min(*limit, int64(^uint(0)>>1)))
	}
	return off, lim, nil
}

// skipTake pages any sequence.
func skipTake[T any](seq iter.Seq[T], offset, limit int) iter.Seq[T] {
	return func(yield func(T) bool) {
		if limit == 0 {
			return
		}
		for v := range seq {
			if offset > 0 {
				offset--
				continue
			}
			if !yield(v) {
				return
			}
			if limit--; limit == 0 {
				return
			}
		}
	}
}

// mapSeq converts the items of a sequence.
func mapSeq[T, U any](seq iter.Seq[T], f func(T) U) iter.Seq[U] {
	return func(yield func(U) bool) {
		for v := range seq {
			if !yield(f(v)) {
				return
			}
		}
	}
}

// txFlowStream is GET /packet/tx-flows' 200, written as it is computed.
type txFlowStream struct {
	list          *generator.TxFlowList
	offset, limit int
}

var _ gen.ListTxFlowsResponseObject = txFlowStream{}

// collectBeforeItems is the list length from which a collection runs
// before streaming. Each item leaves a few hundred bytes of garbage, and
// the heap's goal may still be twice an earlier peak (a 4M-flow
// generator's start answers 170 MB of flow ids), so without it a 4M-flow
// list grew the RSS by 360 MB before the next collection; collecting
// first sets the goal from the live heap (a few hundred ms for a
// 300 MB heap, against seconds for such a list).
const collectBeforeItems = 1 << 18

// VisitListTxFlowsResponse implements gen.ListTxFlowsResponseObject.
func (s txFlowStream) VisitListTxFlowsResponse(w http.ResponseWriter) error {
	n := max(s.list.Len()-s.offset, 0)
	if s.limit >= 0 {
		n = min(n, s.limit)
	}
	if n >= collectBeforeItems {
		debug.FreeOSMemory()
	}
	return jsonArray(w, mapSeq(s.list.Range(s.offset, s.limit), txFlowToJSON))
}

// rxFlowStream is GET /packet/rx-flows' 200, written as it is computed.
type rxFlowStream struct{ seq iter.Seq[analyzer.RxFlow] }

var _ gen.ListRxFlowsResponseObject = rxFlowStream{}

// VisitListRxFlowsResponse implements gen.ListRxFlowsResponseObject.
func (s rxFlowStream) VisitListRxFlowsResponse(w http.ResponseWriter) error {
	return jsonArray(w, mapSeq(s.seq, rxFlowJSON))
}
