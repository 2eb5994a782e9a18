package packetio

import (
	"errors"
	"fmt"
	"testing"
)

func TestASentinelKeepsItsWordingAndIsOfItsClass(t *testing.T) {
	errBad := New(ErrInvalid, "invalid widget")
	err := fmt.Errorf("widget w: %w", errBad)
	if err.Error() != "widget w: invalid widget" {
		t.Fatalf("message %q", err)
	}
	if !errors.Is(err, errBad) || !errors.Is(err, ErrInvalid) || errors.Is(err, ErrNotFound) {
		t.Fatalf("classes of %v", err)
	}
}

func TestItemAndFieldErrorsUnwrap(t *testing.T) {
	err := &ItemError{Index: 2, Err: &FieldError{Path: "id", Err: fmt.Errorf(`"a" already exists: %w`, ErrInUse)}}
	if err.Error() != `item 2: id: "a" already exists: in use` {
		t.Fatalf("message %q", err)
	}
	var fe *FieldError
	if !errors.Is(err, ErrInUse) || !errors.As(err, &fe) || fe.Path != "id" {
		t.Fatalf("unwrap %v", err)
	}
}
