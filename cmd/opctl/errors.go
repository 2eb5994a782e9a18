package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"syscall"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1 // the API answered with an error, or another failure
	exitUsage       = 2 // bad flags or arguments; also an unreachable daemon
	exitUnreachable = 2
	exitInterrupted = 130
)

// usageError is a mistake on the command line; opctl exits 2 and prints
// the command's usage after it, or only the suggestions when it has some
// (a mistyped command is better answered with the name meant than with
// every name there is).
type usageError struct {
	msg         string
	suggestions []string // commands whose names are close to the one given
}

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// setupError is a global setting opctl cannot connect with (a bad
// --server, an unreadable --token-file or --ca-file): exit 2 like a
// usage error, but the usage would not help, so it is not printed.
type setupError struct{ err error }

func (e *setupError) Error() string { return e.err.Error() }
func (e *setupError) Unwrap() error { return e.err }

// apiError is an error reply of the API: {"code", "message"}.
type apiError struct {
	code    int
	message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.message, e.code) }

// unreachableError means no HTTP answer came back at all.
type unreachableError struct {
	server string
	reason string
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("cannot reach openperfd at %s: %s; is it running? (make run)", e.server, e.reason)
}

// errInterrupted is returned when Ctrl-C cancels a request.
var errInterrupted = errors.New("interrupted")

// transportError classifies an error of the HTTP client: a request that got
// no answer becomes an unreachableError, anything else (a reply that does
// not decode) a plain error.
func transportError(server string, err error) error {
	if errors.Is(err, context.Canceled) {
		return errInterrupted
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		return fmt.Errorf("bad reply from openperfd: %w", err)
	}
	var dns *net.DNSError
	var op *net.OpError
	reason := ue.Err.Error()
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		reason = "connection refused"
	case ue.Timeout():
		reason = "no answer in time (see --timeout)"
	case errors.As(err, &dns):
		reason = "unknown host " + dns.Name
	case errors.As(err, &op):
		reason = op.Err.Error()
	}
	return &unreachableError{server: server, reason: reason}
}

// exitCode maps an error to opctl's exit code.
func exitCode(err error) int {
	var ue *usageError
	var se *setupError
	var unreach *unreachableError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	case errors.As(err, &ue), errors.As(err, &se):
		return exitUsage
	case errors.As(err, &unreach):
		return exitUnreachable
	default:
		return exitFailure
	}
}
