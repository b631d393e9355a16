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
)

// ErrRejected is matched, with errors.Is, by every error with which a
// Limiter refuses a call, on either side.
var ErrRejected = errors.New("concurrency: call rejected")

// CodeClientLimit is the application code (google.rpc.ErrorInfo reason) of
// a call refused by a client-side limiter, should that error travel further
// (for example returned by a handler that made the call).
const CodeClientLimit = errdetails.CodeClientConcurrencyLimit

// Reason says why a Limiter refused a call.
type Reason uint8

// The reasons a call is refused.
const (
	// ReasonLimit: no permit was free and the limiter has no queue.
	ReasonLimit Reason = iota + 1
	// ReasonPriority: a permit was free for more critical calls only (see
	// WithPriority).
	ReasonPriority
	// ReasonQueueFull: no permit was free and the queue was full.
	ReasonQueueFull
	// ReasonQueueTimeout: the call waited the longest wait (see WithQueue).
	ReasonQueueTimeout
	// ReasonDeadline: the caller's deadline expired while the call waited.
	ReasonDeadline
	// ReasonCanceled: the caller cancelled the call while it waited.
	ReasonCanceled
)

var reasonNames = [...]string{"", "limit", "shed_priority", "queue_full", "queue_timeout", "deadline", "canceled"}

// String returns the reason in snake_case, as used in metric labels.
func (r Reason) String() string {
	if int(r) < len(reasonNames) && r != 0 {
		return reasonNames[r]
	}
	return "unknown"
}

// RejectError is the error with which a Limiter refuses a call. It matches
// ErrRejected; on the client side it also matches outcome.ErrLocalReject
// (the call never reached the network), and, for ReasonDeadline and
// ReasonCanceled, context.DeadlineExceeded and context.Canceled.
//
// On the server its status is UNAVAILABLE with the details described in the
// package documentation; on the client it is RESOURCE_EXHAUSTED (or
// DEADLINE_EXCEEDED and CANCELLED for the context reasons).
type RejectError struct {
	// Reason says why the call was refused.
	Reason Reason
	// Method is the full method name of the call.
	Method string
	// Client is true for a client-side rejection.
	Client bool
	// RetryAfter is the server's delay hint: positive, the delay sent in
	// RetryInfo and grpc-retry-pushback-ms; negative, the server asked the
	// caller not to retry; zero, no hint. Always zero on the client.
	RetryAfter time.Duration

	st *status.Status
}

// Error describes the rejection for logs.
func (e *RejectError) Error() string {
	var b strings.Builder
	b.WriteString("concurrency: ")
	if e.Client {
		b.WriteString("client ")
	} else {
		b.WriteString("server ")
	}
	b.WriteString("rejected ")
	b.WriteString(e.Method)
	b.WriteString(" (")
	b.WriteString(e.Reason.String())
	b.WriteString(")")
	switch {
	case e.RetryAfter < 0:
		b.WriteString(", asked not to retry")
	case e.RetryAfter > 0:
		b.WriteString(", retry after ")
		b.WriteString(e.RetryAfter.String())
	}
	return b.String()
}

// Unwrap returns ErrRejected.
func (e *RejectError) Unwrap() error { return ErrRejected }

// Is reports whether target is outcome.ErrLocalReject for a client-side
// rejection, or the context error of ReasonDeadline or ReasonCanceled.
func (e *RejectError) Is(target error) bool {
	switch target {
	case outcome.ErrLocalReject:
		return e.Client
	case context.DeadlineExceeded:
		return e.Reason == ReasonDeadline
	case context.Canceled:
		return e.Reason == ReasonCanceled
	}
	return false
}

// GRPCStatus returns the status the rejection is sent or seen as.
func (e *RejectError) GRPCStatus() *status.Status {
	if e.st != nil {
		return e.st
	}
	return clientStatus(e)
}

// codeOf is the status code of a client-side rejection.
func codeOf(r Reason) codes.Code {
	switch r {
	case ReasonDeadline:
		return codes.DeadlineExceeded
	case ReasonCanceled:
		return codes.Canceled
	}
	return codes.ResourceExhausted
}
