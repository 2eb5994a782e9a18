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

// usageError is a mistake on the command line; opctl prints the command's
// usage after it and exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

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
	var unreach *unreachableError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &unreach):
		return exitUnreachable
	default:
		return exitFailure
	}
}
