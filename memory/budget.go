package memory

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
)

// BudgetFlag names the option that sets the budget, so a refusal tells
// the user what to change.
const BudgetFlag = "--modules.packetio.memory-budget"

// ErrOverBudget is the error of a reservation that does not fit in the
// budget; packetio gives it to the services as one of their error classes.
var ErrOverBudget = errors.New("over the memory budget")

// Budget bounds the memory that API requests make the daemon hold for
// long: capture buffers and flow tables (generator flows, analyzer flow
// limits). Each holder reserves its worst case before it allocates and
// releases it when the memory goes, so twenty 2 GiB captures on a 24 GB
// machine are refused one by one instead of taking the machine down.
// The budget is not a measurement: it is what holders declare. A nil
// *Budget admits everything. Safe for concurrent use.
type Budget struct {
	limit int64

	mu   sync.Mutex
	used int64            // sum of held
	held map[string]int64 // bytes by holder
}

// NewBudget returns a budget of limit bytes.
func NewBudget(limit int64) *Budget {
	return &Budget{limit: limit, held: map[string]int64{}}
}

// Reserve sets what holder holds to n bytes (replacing what it held), or
// fails with ErrOverBudget, holding what it held before.
func (b *Budget) Reserve(holder string, n int64) error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	old := b.held[holder]
	if n > old && n-old > b.limit-b.used {
		return fmt.Errorf("%s needs %s, but only %s of the %s memory budget is free (%s): %w",
			holder, Size(n-old), Size(max(b.limit-b.used, 0)), Size(b.limit), BudgetFlag, ErrOverBudget)
	}
	b.used += n - old
	b.held[holder] = n
	return nil
}

// Release frees what holder held; unknown holders are ignored.
func (b *Budget) Release(holder string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= b.held[holder]
	delete(b.held, holder)
}

// Limit is the budget in bytes.
func (b *Budget) Limit() int64 { return b.limit }

// Used is what holders hold, in bytes.
func (b *Budget) Used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Size formats a byte count for people: "2.0 GiB", "512 KiB", "100 B".
type Size int64

// String implements fmt.Stringer.
func (s Size) String() string {
	const unit = 1024
	if s < unit {
		return strconv.FormatInt(int64(s), 10) + " B"
	}
	v, i := float64(s), 0
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTP"[i-1])
}

// DefaultBudget is half of what the machine has left once the DPDK pools
// (poolBytes) are taken: the other half is for the Go heap's own overhead
// (a collected heap may reach twice its live size), the stack's
// interfaces and everything else on the machine.
func DefaultBudget(memTotal, poolBytes int64) int64 {
	return max(memTotal-poolBytes, 0) / 2
}

// MemTotal reads the machine's memory from /proc/meminfo.
func MemTotal() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("read total memory: %w", err)
	}
	defer f.Close()
	return parseMemTotal(f)
}

func parseMemTotal(f io.Reader) (int64, error) {
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read total memory: %q: %w", sc.Text(), err)
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read total memory: %w", err)
	}
	return 0, errors.New("read total memory: no MemTotal in /proc/meminfo")
}
