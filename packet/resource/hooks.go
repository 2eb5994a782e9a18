package resource

import (
	"context"
)

// Hooks are what one kind of resource does at each step of the
// lifecycle. The type parameters are the API's spec of an item (S), the
// kind's state of an item (C) and of a run (R), and the views the API
// shows of an item (V) and of a result (RV).
//
// Hooks run with the lifecycle's lock held unless their comment says
// otherwise, so they see items and runs as the lifecycle leaves them;
// they must not call the Lifecycle's methods (Finish, from another
// goroutine, is the exception).
type Hooks[S, C, R, V, RV any] struct {
	// Kind names the resource in messages and budget holders
	// ("generator").
	Kind string
	// Endpoint is the API's word for an item's endpoint ("target",
	// "source"); its id field is Endpoint + "_id".
	Endpoint string
	// ErrInvalid is the kind's sentinel for requests it refuses (one of
	// class packetio.ErrInvalid, in the kind's words).
	ErrInvalid error
	// Invalid words an error in one field of a request; nil: "field: msg:
	// ErrInvalid". A kind that names fields its own way sets it.
	Invalid func(field, msg string) error

	// IDs returns the item id a spec asks for ("" for a new UUID) and
	// the id of its endpoint.
	IDs func(S) (id, endpointID string)
	// Build checks a spec and makes an item's state, the endpoint
	// resolved. It runs without the lock.
	Build func(S, Endpoint) (C, error)
	// ItemBytes, if set, is the memory an item holds from create until
	// delete, and what it is for messages ("12 flows").
	ItemBytes func(C) (n int64, what string)
	// Created, if set, runs without the lock once items are created
	// (a generator starts learning).
	Created func(*Item[C, R])
	// Release, if set, ends what an item does in the background when it
	// is deleted or the lifecycle closes.
	Release func(*Item[C, R])

	// Await, if set, waits (up to ctx) without the lock until an item
	// may start (a generator still learning).
	Await func(context.Context, *Item[C, R]) error
	// Check, if set, refuses to start an item; every item of a start is
	// checked before any starts.
	Check func(*Item[C, R]) error
	// RunBytes is the memory a run reserves from its start until its
	// result is deleted, and what it is for messages.
	RunBytes func(*Item[C, R]) (n int64, what string)
	// Launch starts a run of an item: once it returns the data plane
	// feeds it. from is the run it takes over from (Replace), already
	// stopped, or nil.
	Launch func(it *Item[C, R], resultID string, from *Run[C, R]) (R, error)
	// Stop takes a run off the data plane: once it returns nothing feeds
	// it and its results are final. It is called once per run.
	Stop func(*Item[C, R], R)
	// Running, if set, reports whether a run is still going: a run that
	// ended by itself stays the item's current run, not running, until
	// the lifecycle stops it. nil: a run goes until it is stopped.
	Running func(R) bool
	// Holds, if set, is the memory a stopped run keeps; nil: what it
	// reserved.
	Holds func(R) int64

	// View and ResultView are what the API shows; active says whether
	// the item or result is running.
	View       func(it *Item[C, R], active bool) V
	ResultView func(r *Run[C, R], active bool) RV
}
