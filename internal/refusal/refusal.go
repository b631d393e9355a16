// Package refusal marks the errors with which a server's own interceptors
// refuse a request before its handler runs (an overloaded limiter, an open
// server breaker, a deadline too short to start). Only these may tell the
// caller that its request was not processed: an error that comes back out
// of a handler, even one that says "unprocessed" (a downstream server's
// SERVER_OVERLOADED, the handler's own client-side CIRCUIT_OPEN), was
// returned after the handler ran.
package refusal

import (
	"errors"

	"google.golang.org/grpc/status"
)

// Error is a server's own refusal of a request. It is transparent: its
// text, status and chain are those of the error it marks.
type Error struct{ err error }

// Mark returns err marked as a refusal by this server's interceptors.
func Mark(err error) *Error { return &Error{err: err} }

// Error returns the text of the marked error.
func (e *Error) Error() string { return e.err.Error() }

// Unwrap returns the marked error.
func (e *Error) Unwrap() error { return e.err }

// GRPCStatus returns the status of the marked error, so that gRPC sends it
// unchanged when no error boundary is installed.
func (e *Error) GRPCStatus() *status.Status { return status.Convert(e.err) }

// Is reports whether err is or wraps a refusal made by this server's
// interceptors.
func Is(err error) bool {
	var r *Error
	return errors.As(err, &r)
}
