package concurrency

import (
	"context"
	"errors"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/internal/method"
)

// ErrRejected is matched, with errors.Is, by every error with which a
// Limiter refuses a call, on either side. The error also converts, with
// errors.As, to the *errdetails.ApplicationError it is sent or seen as:
// SERVER_OVERLOADED on the server, CLIENT_CONCURRENCY_LIMIT on the client,
// with the reason in its detail "rejection" (see RejectEvent.Reason).
var ErrRejected = errors.New("concurrency: call rejected")

// reason says why a Limiter refused a call.
type reason uint8

// The reasons a call is refused.
const (
	// reasonLimit: no permit was free and the limiter has no queue.
	reasonLimit reason = iota + 1
	// reasonPriority: a permit was free for more critical calls only (see
	// WithPriority).
	reasonPriority
	// reasonQueueFull: no permit was free and the queue was full.
	reasonQueueFull
	// reasonQueueTimeout: the call waited the longest wait (see WithQueue).
	reasonQueueTimeout
	// reasonDeadline: the caller's deadline expired while the call waited.
	reasonDeadline
	// reasonCanceled: the caller cancelled the call while it waited.
	reasonCanceled
)

var reasonNames = [...]string{"", "limit", "shed_priority", "queue_full", "queue_timeout", "deadline", "canceled"}

// String returns the reason in snake_case, as used in metric labels and in
// the detail "rejection".
func (r reason) String() string {
	if int(r) < len(reasonNames) && r != 0 {
		return reasonNames[r]
	}
	return "unknown"
}

// rejectError is the error with which a Limiter refuses a call. It matches
// ErrRejected; on the client side it also matches outcome.ErrLocalReject
// (the call never reached the network), and, for reasonDeadline and
// reasonCanceled, context.DeadlineExceeded and context.Canceled. It
// converts with errors.As to its *errdetails.ApplicationError, which the
// server's error boundary sends (with the grpc-retry-pushback-ms trailer).
//
// On the server its status is UNAVAILABLE with the details described in the
// package documentation; on the client it is RESOURCE_EXHAUSTED (or
// DEADLINE_EXCEEDED and CANCELLED for the context reasons).
type rejectError struct {
	reason reason
	method string // the full method name of the call
	client bool
	// retryAfter is the server's delay hint: positive, the delay sent in
	// RetryInfo and grpc-retry-pushback-ms; negative, the server asked the
	// caller not to retry; zero, no hint. Always zero on the client.
	retryAfter time.Duration
	app        *errdetails.ApplicationError // the server's; nil on the client
}

// Error describes the rejection for logs.
func (e *rejectError) Error() string {
	var b strings.Builder
	b.WriteString("concurrency: ")
	if e.client {
		b.WriteString("client ")
	} else {
		b.WriteString("server ")
	}
	b.WriteString("rejected ")
	b.WriteString(e.method)
	b.WriteString(" (")
	b.WriteString(e.reason.String())
	b.WriteString(")")
	switch {
	case e.retryAfter < 0:
		b.WriteString(", asked not to retry")
	case e.retryAfter > 0:
		b.WriteString(", retry after ")
		b.WriteString(e.retryAfter.String())
	}
	return b.String()
}

// Unwrap returns ErrRejected.
func (e *rejectError) Unwrap() error { return ErrRejected }

// Is reports whether target is outcome.ErrLocalReject for a client-side
// rejection, or the context error of reasonDeadline or reasonCanceled.
func (e *rejectError) Is(target error) bool {
	switch target {
	case outcome.ErrLocalReject:
		return e.client
	case context.DeadlineExceeded:
		return e.reason == reasonDeadline
	case context.Canceled:
		return e.reason == reasonCanceled
	}
	return false
}

// As converts the rejection to its *errdetails.ApplicationError.
func (e *rejectError) As(target any) bool {
	if p, ok := target.(**errdetails.ApplicationError); ok {
		*p = e.appError()
		return true
	}
	return false
}

// GRPCStatus returns the status the rejection is sent or seen as.
func (e *rejectError) GRPCStatus() *status.Status { return e.appError().GRPCStatus() }

// Rejection returns the full method and the reason of the rejection, for
// telemetry.
func (e *rejectError) Rejection() (fullMethod, reason string) { return e.method, e.reason.String() }

// appError returns the ApplicationError the rejection is sent or seen as.
func (e *rejectError) appError() *errdetails.ApplicationError {
	if e.app != nil {
		return e.app
	}
	msg := "client concurrency limit reached"
	switch e.reason {
	case reasonDeadline:
		msg = "deadline exceeded waiting for a client permit"
	case reasonCanceled:
		msg = "canceled waiting for a client permit"
	}
	ae := errdetails.New(errdetails.CodeClientConcurrencyLimit, msg, errdetails.WithDetail("rejection", e.reason.String()))
	ae.GRPCCode, ae.Retryable, ae.Unprocessed = codeOf(e.reason), false, true
	ae.Domain = method.Service(e.method)
	return ae
}

// codeOf is the status code of a client-side rejection.
func codeOf(r reason) codes.Code {
	switch r {
	case reasonDeadline:
		return codes.DeadlineExceeded
	case reasonCanceled:
		return codes.Canceled
	}
	return codes.ResourceExhausted
}
