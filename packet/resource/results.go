package resource

import (
	"fmt"

	"github.com/openperfd/openperfd/packetio"
)

// active reports whether a result is its item's running run.
func (l *Lifecycle[S, C, R, V, RV]) active(r *Run[C, R]) bool {
	return r.Item.run == r && l.running(r.Item)
}

func (l *Lifecycle[S, C, R, V, RV]) resultView(r *Run[C, R]) RV {
	return l.h.ResultView(r, l.active(r))
}

// match reports whether a result is of item itemID and endpoint
// endpointID ("" matches any).
func match[C, R any](r *Run[C, R], itemID, endpointID string) bool {
	return (itemID == "" || r.Item.ID == itemID) && (endpointID == "" || r.Item.EndpointID == endpointID)
}

// Results lists results, filtered by item and/or endpoint id.
func (l *Lifecycle[S, C, R, V, RV]) Results(itemID, endpointID string) []RV {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []RV
	for _, r := range l.runs.All() {
		if match(r, itemID, endpointID) {
			out = append(out, l.resultView(r))
		}
	}
	return out
}

// Runs returns the results of item and/or endpoint id, for the kind's
// own listings (flows, packets) made without the lock.
func (l *Lifecycle[S, C, R, V, RV]) Runs(itemID, endpointID string) []*Run[C, R] {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*Run[C, R]
	for _, r := range l.runs.All() {
		if match(r, itemID, endpointID) {
			out = append(out, r)
		}
	}
	return out
}

// Run returns one result, for the kind's own operations.
func (l *Lifecycle[S, C, R, V, RV]) Run(id string) (*Run[C, R], error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.runs.Get(id)
	if !ok {
		return nil, l.resultNotFound(id)
	}
	return r, nil
}

func (l *Lifecycle[S, C, R, V, RV]) resultNotFound(id string) error {
	return fmt.Errorf("%s result %s: %w", l.h.Kind, id, packetio.ErrNotFound)
}

// Result returns one result.
func (l *Lifecycle[S, C, R, V, RV]) Result(id string) (RV, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.runs.Get(id)
	if !ok {
		var zero RV
		return zero, l.resultNotFound(id)
	}
	return l.resultView(r), nil
}

// deleteRun drops a result and releases its memory.
func (l *Lifecycle[S, C, R, V, RV]) deleteRun(r *Run[C, R]) {
	l.runs.Delete(r.ID)
	l.budget.Release(l.runHolder(r.Item.ID, r.ID))
}

// DeleteResult removes a result that is not running; unknown ids are
// ignored.
func (l *Lifecycle[S, C, R, V, RV]) DeleteResult(id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.runs.Get(id)
	if !ok {
		return nil
	}
	if l.active(r) {
		return fmt.Errorf("%s result %s is active; stop %s %s first: %w", l.h.Kind, id, l.h.Kind, r.Item.ID, packetio.ErrInUse)
	}
	if r.Item.run == r {
		l.stop(r.Item) // it ended by itself
	}
	l.deleteRun(r)
	return nil
}

// DeleteResults removes every result that is not running.
func (l *Lifecycle[S, C, R, V, RV]) DeleteResults() {
	l.mu.Lock()
	ids := l.runs.IDs()
	l.mu.Unlock()
	for _, id := range ids {
		_ = l.DeleteResult(id)
	}
}
