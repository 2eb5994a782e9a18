// Package resource is the lifecycle the packet modules' resources share
// (generators, analyzers, captures; TVLP and network generators next):
// create (all or none), list, get, delete, start (all or none), stop,
// and the result each start leaves until it is deleted. A kind plugs in
// with Hooks; the Lifecycle keeps its items and results in creation
// order, resolves their endpoints, reserves their memory in the budget
// and words the errors the API shows.
//
// Where the kinds used to differ, one rule holds for all: a running item
// cannot be deleted (strictly: an error; in bulk: it is left); a run
// that ended by itself (a capture that filled its buffer) is no longer
// running, and is taken off the data plane when its item starts again,
// is deleted, or its result is deleted; a start that fails leaves no
// run and no result behind.
package resource

import (
	"errors"
	"fmt"
	"sync"

	"github.com/google/uuid"

	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/packet/registry"
	"github.com/openperfd/openperfd/packetio"
)

// Item is one resource: where it sends or listens, and the kind's state.
type Item[C, R any] struct {
	ID, EndpointID string
	// Endpoint is EndpointID resolved at create, and again at each start
	// (an interface may have moved). Written under the lifecycle's lock.
	Endpoint Endpoint
	State    C
	run      *Run[C, R] // the latest run while the data plane has it; nil when idle
}

// Run is one start of an item, and the result it leaves once stopped.
type Run[C, R any] struct {
	ID    string
	Item  *Item[C, R]
	State R
}

// Lifecycle keeps one kind's items and their runs. Safe for concurrent
// use.
type Lifecycle[S, C, R, V, RV any] struct {
	h      Hooks[S, C, R, V, RV]
	eps    Endpoints
	budget *memory.Budget // nil: unbounded

	mu     sync.Mutex
	items  registry.Ordered[*Item[C, R]]
	runs   registry.Ordered[*Run[C, R]]
	before func() // BeforeStart's
}

// New makes a lifecycle. Endpoint ids are resolved with eps; the memory
// of items and runs is reserved in budget (nil: no limit) and released
// when they are deleted.
func New[S, C, R, V, RV any](h Hooks[S, C, R, V, RV], eps Endpoints, budget *memory.Budget) *Lifecycle[S, C, R, V, RV] {
	return &Lifecycle[S, C, R, V, RV]{h: h, eps: eps, budget: budget}
}

// invalid words an error in field (none if "") of a request.
func (l *Lifecycle[S, C, R, V, RV]) invalid(field, msg string) error {
	if l.h.Invalid != nil {
		return l.h.Invalid(field, msg)
	}
	if field != "" {
		msg = field + ": " + msg
	}
	return fmt.Errorf("%s: %w", msg, l.h.ErrInvalid)
}

func (l *Lifecycle[S, C, R, V, RV]) notFound(id string) error {
	return fmt.Errorf("%s %s: %w", l.h.Kind, id, packetio.ErrNotFound)
}

// lookup resolves an endpoint id.
func (l *Lifecycle[S, C, R, V, RV]) lookup(id string) (Endpoint, error) {
	ep, err := l.eps.Endpoint(id)
	if errors.Is(err, packetio.ErrNotFound) {
		return ep, fmt.Errorf("%s %s: %w", l.h.Endpoint, id, packetio.ErrNotFound)
	}
	return ep, err
}

func (l *Lifecycle[S, C, R, V, RV]) itemHolder(id string) string { return l.h.Kind + " " + id }

func (l *Lifecycle[S, C, R, V, RV]) runHolder(itemID, resultID string) string {
	return fmt.Sprintf("%s %s (result %s)", l.h.Kind, itemID, resultID)
}

// reserve reserves n bytes for holder, wording a refusal with what.
func (l *Lifecycle[S, C, R, V, RV]) reserve(holder string, n int64, what string) error {
	if err := l.budget.Reserve(holder, n); err != nil {
		return fmt.Errorf("%s: %w: %w", what, err, l.h.ErrInvalid)
	}
	return nil
}

// build checks one spec and makes its item.
func (l *Lifecycle[S, C, R, V, RV]) build(sp S) (*Item[C, R], error) {
	id, epID := l.h.IDs(sp)
	field := l.h.Endpoint + "_id"
	if epID == "" {
		return nil, l.invalid(field, "required")
	}
	ep, err := l.lookup(epID)
	if err != nil {
		if errors.Is(err, packetio.ErrNotFound) {
			return nil, l.invalid(field, fmt.Sprintf("%q is neither a port nor an interface", epID))
		}
		return nil, fmt.Errorf("look up %s %s: %w", l.h.Endpoint, epID, err)
	}
	c, err := l.h.Build(sp, ep)
	if err != nil {
		return nil, err
	}
	if id == "" {
		id = uuid.NewString()
	}
	return &Item[C, R]{ID: id, EndpointID: epID, Endpoint: ep, State: c}, nil
}

// itemError names item i of a request in err. Whether the request named
// its items by index (a bulk request, even of one item) or was a single
// object is for the API to say, not for a count to guess.
func itemError(i int, err error) error {
	return &packetio.ItemError{Index: i, Err: err}
}

// Create adds items, all or none, and returns their views. An item that
// fails is named by its index (an *packetio.ItemError).
func (l *Lifecycle[S, C, R, V, RV]) Create(specs []S) ([]V, error) {
	items := make([]*Item[C, R], len(specs))
	ids := make([]string, len(specs))
	for i, sp := range specs {
		it, err := l.build(sp)
		if err != nil {
			return nil, itemError(i, err)
		}
		items[i], ids[i] = it, it.ID
	}
	l.mu.Lock()
	if err := l.items.AddAll(ids, items); err != nil {
		l.mu.Unlock()
		return nil, err
	}
	if err := l.reserveItems(items); err != nil {
		for _, it := range items {
			l.items.Delete(it.ID)
		}
		l.mu.Unlock()
		return nil, err
	}
	views := make([]V, len(items))
	for i, it := range items {
		views[i] = l.view(it)
	}
	l.mu.Unlock()
	if l.h.Created != nil {
		for _, it := range items {
			l.h.Created(it)
		}
	}
	return views, nil
}

// reserveItems reserves what new items hold, all or none.
func (l *Lifecycle[S, C, R, V, RV]) reserveItems(items []*Item[C, R]) error {
	if l.h.ItemBytes == nil {
		return nil
	}
	for i, it := range items {
		n, what := l.h.ItemBytes(it.State)
		if err := l.reserve(l.itemHolder(it.ID), n, what); err != nil {
			for _, it := range items[:i] {
				l.budget.Release(l.itemHolder(it.ID))
			}
			return itemError(i, err)
		}
	}
	return nil
}

// running reports whether an item's run is going.
func (l *Lifecycle[S, C, R, V, RV]) running(it *Item[C, R]) bool {
	return it.run != nil && (l.h.Running == nil || l.h.Running(it.run.State))
}

func (l *Lifecycle[S, C, R, V, RV]) view(it *Item[C, R]) V { return l.h.View(it, l.running(it)) }

// List returns the items, of one endpoint if endpointID is set.
func (l *Lifecycle[S, C, R, V, RV]) List(endpointID string) []V {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []V
	for _, it := range l.items.All() {
		if endpointID == "" || it.EndpointID == endpointID {
			out = append(out, l.view(it))
		}
	}
	return out
}

// Get returns one item.
func (l *Lifecycle[S, C, R, V, RV]) Get(id string) (V, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	it, ok := l.items.Get(id)
	if !ok {
		var zero V
		return zero, l.notFound(id)
	}
	return l.view(it), nil
}

// Item returns one item, for the kind's own operations; its State is the
// kind's to guard (Do).
func (l *Lifecycle[S, C, R, V, RV]) Item(id string) (*Item[C, R], bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.items.Get(id)
}

// Running reports whether item id is running.
func (l *Lifecycle[S, C, R, V, RV]) Running(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	it, ok := l.items.Get(id)
	return ok && l.running(it)
}

// AnyRunning reports whether any item is running.
func (l *Lifecycle[S, C, R, V, RV]) AnyRunning() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, it := range l.items.All() {
		if l.running(it) {
			return true
		}
	}
	return false
}

// BeforeStart sets f to run before items start, without the lock (nil:
// nothing): the daemon takes back the worker CPUs it lent the control
// threads (workers.Lender) before a run needs them.
func (l *Lifecycle[S, C, R, V, RV]) BeforeStart(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.before = f
}

// Do runs f with the lifecycle's lock held: for a kind's changes to the
// state its hooks read.
func (l *Lifecycle[S, C, R, V, RV]) Do(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f()
}

// Delete removes items that are not running, with their results; unknown
// ids are ignored. With strict a running item is an error; without, it
// is left.
func (l *Lifecycle[S, C, R, V, RV]) Delete(ids []string, strict bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		it, ok := l.items.Get(id)
		if !ok {
			continue
		}
		if l.running(it) {
			if strict {
				return fmt.Errorf("%s %s is running; stop it first: %w", l.h.Kind, id, packetio.ErrInUse)
			}
			continue
		}
		l.stop(it) // a run that ended by itself is still on the data plane
		if l.h.Release != nil {
			l.h.Release(it)
		}
		l.items.Delete(id)
		l.budget.Release(l.itemHolder(id))
		l.runs.DeleteFunc(func(r *Run[C, R]) bool {
			if r.Item != it {
				return false
			}
			l.budget.Release(l.runHolder(id, r.ID))
			return true
		})
	}
	return nil
}

// DeleteAll removes every item that is not running.
func (l *Lifecycle[S, C, R, V, RV]) DeleteAll() {
	l.mu.Lock()
	ids := l.items.IDs()
	l.mu.Unlock()
	_ = l.Delete(ids, false)
}

// Close stops every item and ends what they do in the background.
func (l *Lifecycle[S, C, R, V, RV]) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, it := range l.items.All() {
		l.stop(it)
		if l.h.Release != nil {
			l.h.Release(it)
		}
	}
}
