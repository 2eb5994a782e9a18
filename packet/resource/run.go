package resource

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/openperfd/openperfd/packetio"
)

// Start starts items, all or none, each with a new result.
func (l *Lifecycle[S, C, R, V, RV]) Start(ctx context.Context, ids []string) ([]RV, error) {
	return l.start(ctx, ids, "")
}

// Replace stops the running item replace and starts the idle item with in
// its place; Launch gets the stopped run to take over from (a generator's
// signature streams continue their sequence numbers).
func (l *Lifecycle[S, C, R, V, RV]) Replace(ctx context.Context, replace, with string) (RV, error) {
	rs, err := l.start(ctx, []string{with}, replace)
	if err != nil {
		var zero RV
		return zero, err
	}
	return rs[0], nil
}

func (l *Lifecycle[S, C, R, V, RV]) start(ctx context.Context, ids []string, replace string) ([]RV, error) {
	l.mu.Lock()
	before := l.before
	l.mu.Unlock()
	if before != nil {
		before()
	}
	if l.h.Await != nil {
		for _, id := range ids {
			if it, ok := l.Item(id); ok {
				if err := l.h.Await(ctx, it); err != nil {
					return nil, err
				}
			}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var old *Item[C, R]
	if replace != "" {
		var ok bool
		if old, ok = l.items.Get(replace); !ok {
			return nil, l.notFound(replace)
		}
		if !l.running(old) {
			return nil, l.invalid("replace", fmt.Sprintf("%s %s is not running", l.h.Kind, replace))
		}
	}
	if err := l.startable(ids); err != nil {
		return nil, err
	}
	var from *Run[C, R]
	if old != nil {
		from = old.run
		l.stop(old)
	}
	runs, err := l.launch(ids, from)
	if err != nil {
		return nil, err
	}
	out := make([]RV, len(runs))
	for i, r := range runs {
		out[i] = l.resultView(r)
	}
	return out, nil
}

// startable checks that every item may start, before any does.
func (l *Lifecycle[S, C, R, V, RV]) startable(ids []string) error {
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		it, ok := l.items.Get(id)
		switch {
		case !ok:
			return l.notFound(id)
		case l.running(it):
			return fmt.Errorf("%s %s is already running: %w", l.h.Kind, id, packetio.ErrInUse)
		case seen[id]:
			return l.invalid("ids", id+" is listed twice")
		}
		seen[id] = true
		if l.h.Check != nil {
			if err := l.h.Check(it); err != nil {
				return err
			}
		}
	}
	// Endpoints may have gone since create (an interface deleted, a port
	// bonded).
	for _, id := range ids {
		it := l.items.Value(id)
		ep, err := l.lookup(it.EndpointID)
		if err != nil {
			msg := fmt.Sprintf("%s %s: %s %s: %v", l.h.Kind, id, l.h.Endpoint, it.EndpointID, err)
			if l.h.Invalid != nil { // a kind that names fields names this one
				return l.h.Invalid(l.h.Endpoint+"_id", msg)
			}
			return l.invalid("", msg)
		}
		it.Endpoint = ep
	}
	return nil
}

// launch starts runs of checked items, all or none. Every run's memory
// is reserved before any starts, so a refusal costs nothing (OpenPerf
// accepts a 1 TiB capture buffer at create and refuses it here).
func (l *Lifecycle[S, C, R, V, RV]) launch(ids []string, from *Run[C, R]) ([]*Run[C, R], error) {
	rids := make([]string, len(ids))
	release := func(from int) {
		for j := from; j < len(ids); j++ {
			l.budget.Release(l.runHolder(ids[j], rids[j]))
		}
	}
	for i, id := range ids {
		rids[i] = uuid.NewString()
		n, what := l.h.RunBytes(l.items.Value(id))
		if err := l.reserve(l.runHolder(id, rids[i]), n, what); err != nil {
			release(0)
			return nil, err
		}
	}
	runs := make([]*Run[C, R], 0, len(ids))
	for i, id := range ids {
		it := l.items.Value(id)
		l.stop(it) // a run that ended by itself is still on the data plane
		st, err := l.h.Launch(it, rids[i], from)
		if err != nil {
			for _, r := range runs {
				l.stop(r.Item)
				l.deleteRun(r)
			}
			release(i)
			return nil, err
		}
		r := &Run[C, R]{ID: rids[i], Item: it, State: st}
		it.run = r
		l.runs.Add(r.ID, r)
		runs = append(runs, r)
	}
	return runs, nil
}

// stop takes an item's run off the data plane, if it has one.
func (l *Lifecycle[S, C, R, V, RV]) stop(it *Item[C, R]) {
	r := it.run
	if r == nil {
		return
	}
	l.h.Stop(it, r.State)
	it.run = nil
	if l.h.Holds != nil {
		// Shrinking cannot fail.
		_ = l.budget.Reserve(l.runHolder(it.ID, r.ID), l.h.Holds(r.State))
	}
}

// Restart gives a running item a new run; the old result keeps its
// counters.
func (l *Lifecycle[S, C, R, V, RV]) Restart(id string) (RV, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var zero RV
	it, ok := l.items.Get(id)
	if !ok {
		return zero, l.notFound(id)
	}
	if !l.running(it) {
		return zero, fmt.Errorf("%s %s is not running: %w", l.h.Kind, id, packetio.ErrInUse)
	}
	l.stop(it)
	runs, err := l.launch([]string{id}, nil)
	if err != nil {
		return zero, err
	}
	return l.resultView(runs[0]), nil
}

// Stop stops items; unknown and idle ones are ignored.
func (l *Lifecycle[S, C, R, V, RV]) Stop(ids []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		if it, ok := l.items.Get(id); ok {
			l.stop(it)
		}
	}
}

// StopOne stops one item; an unknown one is an error.
func (l *Lifecycle[S, C, R, V, RV]) StopOne(id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	it, ok := l.items.Get(id)
	if !ok {
		return l.notFound(id)
	}
	l.stop(it)
	return nil
}

// Finish takes a run that ended by itself off the data plane, if it is
// still its item's current run. The kind calls it when it learns a run
// has ended.
func (l *Lifecycle[S, C, R, V, RV]) Finish(resultID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r, ok := l.runs.Get(resultID); ok && r.Item.run == r {
		l.stop(r.Item)
	}
}
