// The error classes the daemon's services share, and the structured errors
// of bulk requests. A service wraps a class (fmt.Errorf("port %s: %w", id,
// packetio.ErrNotFound)) and the API maps each class to a status code in
// one place. They live here because stack, workers and every packet module
// import packetio already.

package packetio

import (
	"errors"
	"fmt"

	"github.com/openperfd/openperfd/memory"
)

// The classes. Their texts end the messages clients see ("generator g:
// not found"), so they do not change.
var (
	// ErrNotFound marks an unknown resource: an API 404.
	ErrNotFound = errors.New("not found")
	// ErrInvalid marks a request the caller got wrong: an API 400.
	ErrInvalid = errors.New("invalid")
	// ErrInUse marks a resource that cannot do what is asked in its
	// present state (running, or its id taken): an API 400, as in
	// OpenPerf.
	ErrInUse = errors.New("in use")
	// ErrOverBudget marks a request refused because the memory it would
	// make the daemon hold does not fit in the memory budget (an API 400).
	// memory declares it, since memory imports nothing of the module.
	ErrOverBudget = memory.ErrOverBudget
)

// New returns a sentinel error that reads msg and is of class (errors.Is
// reports it as both): a package keeps its own wording ("invalid capture
// configuration") while the API maps it by class.
func New(class error, msg string) error { return &sentinel{msg: msg, class: class} }

type sentinel struct {
	msg   string
	class error
}

func (e *sentinel) Error() string { return e.msg }

// Is reports whether target is e's class.
func (e *sentinel) Is(target error) bool { return target == e.class }

// ItemError is the failure of one item of a bulk request. Services name the
// item by its index; the API phrases it as the request spells it
// ("items[2]").
type ItemError struct {
	Index int
	Err   error
}

func (e *ItemError) Error() string { return fmt.Sprintf("item %d: %v", e.Index, e.Err) }

// Unwrap returns the item's error.
func (e *ItemError) Unwrap() error { return e.Err }

// FieldError is an error in one field of a request item: Path is the field's
// place in the item as the API spells it ("id").
type FieldError struct {
	Path string
	Err  error
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Err.Error() }

// Unwrap returns the field's error.
func (e *FieldError) Unwrap() error { return e.Err }
