// Package sent holds the error a server's error boundary returns: the
// status that goes on the wire, and the handler's own error behind it for
// the interceptors outside the boundary (logging, metrics).
package sent

import (
	"errors"

	"google.golang.org/grpc/status"
)

// Error is an error as the boundary sends it. Its text is the status
// message, not the handler's error: an interceptor outside the boundary
// that wraps it (fmt.Errorf("audit: %w", err)) makes grpc-go send the
// wrapper's text as the status message, and that text must not carry the
// cause. Unwrap gives the handler's error, so errors.Is and errors.As see
// it; the logging interceptor logs Cause.
type Error struct {
	// Cause is the handler's own error, for this server's logs.
	Cause error
	// Status is what the caller receives.
	Status *status.Status
}

// Error returns the message the caller receives.
func (e *Error) Error() string { return e.Status.Message() }

// Unwrap returns the handler's own error.
func (e *Error) Unwrap() error { return e.Cause }

// GRPCStatus returns the status the caller receives.
func (e *Error) GRPCStatus() *status.Status { return e.Status }

// Received is a status error that an outgoing call returned, as the client
// chain's decoder passes it on when it carries no application error. It is
// transparent (its text, status and chain are the call's error); a
// server's boundary, seeing one a handler returned, applies its downstream
// rule instead of sending it as a status the handler built itself.
type Received struct{ err error }

// Receive marks err, the error of an outgoing call, as received.
func Receive(err error) *Received { return &Received{err: err} }

// Error returns the text of the call's error.
func (r *Received) Error() string { return r.err.Error() }

// Unwrap returns the call's error.
func (r *Received) Unwrap() error { return r.err }

// GRPCStatus returns the status of the call's error.
func (r *Received) GRPCStatus() *status.Status { return status.Convert(r.err) }

// IsReceived reports whether err is or wraps an error an outgoing call
// returned.
func IsReceived(err error) bool {
	var r *Received
	return errors.As(err, &r)
}
