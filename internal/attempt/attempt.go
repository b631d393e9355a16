// Package attempt holds what the retry interceptor shares with the layers
// inside it (the circuit breaker, the outlier balancer) about one attempt:
// its per-attempt timeout, told apart from the caller's deadline, and
// whether an error proves the server never processed the request.
package attempt

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
)

// ErrTimeout is the cause (context.Cause) of a per-attempt context
// whose timeout fired (see WithTimeout), so that the layers inside
// the retry interceptor (the circuit breaker) can tell a slow attempt,
// which is a failure, from the caller giving up, which is ignored.
var ErrTimeout = errors.New("bulwark: per-attempt timeout")

type deadlineKey struct{}

// WithTimeout returns a child of ctx for one attempt that ends after
// d with the cause ErrTimeout. When the attempt's deadline is earlier
// than ctx's own, it is recorded, so that TimedOut recognises the
// attempt's end even when the server's DEADLINE_EXCEEDED (the server got
// the same deadline through grpc-timeout) arrives before the local timer
// has fired.
func WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(d)
	if parent, ok := ctx.Deadline(); ok && !deadline.Before(parent) {
		return context.WithTimeoutCause(ctx, d, ErrTimeout)
	}
	return context.WithDeadlineCause(context.WithValue(ctx, deadlineKey{}, deadline), deadline, ErrTimeout)
}

// TimedOut reports whether an attempt made with ctx ended in err
// because of the per-attempt timeout of WithTimeout, rather than the
// caller's deadline or the server.
func TimedOut(ctx context.Context, err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(context.Cause(ctx), ErrTimeout) {
		return true
	}
	deadline, ok := ctx.Value(deadlineKey{}).(time.Time)
	return ok && status.Code(err) == codes.DeadlineExceeded && !time.Now().Before(deadline)
}

// Unprocessed reports whether err proves the server never processed the
// request, so that even a method with side effects may be retried: a local
// reject, or an ApplicationError marked unprocessed (such as a server's
// SERVER_OVERLOADED rejection).
func Unprocessed(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, outcome.ErrLocalReject) {
		return true
	}
	ae, ok := errdetails.FromError(err)
	return ok && ae.Unprocessed
}

// Failure reports whether a circuit breaker counts o as a failure: a
// RetryableFailure or a FatalFailure.
func Failure(o outcome.Outcome) bool {
	return o == outcome.RetryableFailure || o == outcome.FatalFailure
}

// Retryable reports whether a retry may follow o: a RetryableFailure, or a
// Shed call (which the server never processed).
func Retryable(o outcome.Outcome) bool { return o == outcome.RetryableFailure || o == outcome.Shed }
