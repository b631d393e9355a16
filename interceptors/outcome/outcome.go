package outcome

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/internal/gone"
	"github.com/bulwarkrpc/bulwark/internal/wire"
)

// Outcome is how one call or attempt ended.
type Outcome uint8

// The outcomes, in the order of the package's table.
const (
	// Success: the peer is healthy, whether or not the call succeeded.
	Success Outcome = iota
	// Ignored: the call says nothing about the peer's health (the caller
	// gave up, or the server aborted a transaction).
	Ignored
	// RetryableFailure: the peer failed in a way a retry may fix.
	RetryableFailure
	// FatalFailure: the peer failed and a retry will not help.
	FatalFailure
	// LocalReject: a Bulwark component refused the call before it reached
	// the network.
	LocalReject
	// Shed: the server refused the call before processing it, to protect
	// itself (an overload rejection, its own open breaker), and invites a
	// retry. The peer is alive and shedding cheaply, so a breaker does not
	// count it; it is safe to retry after the server's delay, and a client's
	// adaptive limiter takes it as a sign of congestion.
	Shed
)

var outcomeNames = [...]string{"success", "ignored", "retryable_failure", "fatal_failure", "local_reject", "shed"}

// String returns the outcome in snake_case, as used in metric labels.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "unknown"
}

// ErrLocalReject is matched, with errors.Is, by every error with which a
// Bulwark component refuses a call locally: an open circuit, a full
// client-side limiter, an empty retry budget. Such calls never reached the
// network, so they are always safe to retry elsewhere, and they never count
// against a circuit breaker.
var ErrLocalReject = errors.New("bulwark: call rejected locally")

// Attempt is what a classifier knows of an attempt. Its zero value, with
// Err set, is an attempt without pushback that the caller's deadline ended,
// if anything did.
type Attempt struct {
	// Err is the attempt's error, nil on success.
	Err error
	// Pushback is the server's grpc-retry-pushback-ms, when HasPushback:
	// negative asks not to retry.
	Pushback time.Duration
	// HasPushback is true when the server sent a grpc-retry-pushback-ms
	// trailer.
	HasPushback bool
	// AttemptTimedOut is true when the per-attempt timeout of the retry
	// interceptor ended the attempt, rather than the caller's deadline.
	AttemptTimedOut bool
}

// A Classifier decides the Outcome of an attempt. ctx is the caller's
// context, not the attempt's, so that a classifier can tell the caller's
// cancellation from a timeout of one attempt. It must be safe for
// concurrent use and should not allocate on success.
type Classifier func(ctx context.Context, a Attempt) Outcome

// Default is the classifier of the package's table.
func Default(ctx context.Context, a Attempt) Outcome { return classify(ctx, a) }

func classify(ctx context.Context, r Attempt) Outcome {
	if r.Err == nil {
		return Success
	}
	if errors.Is(r.Err, ErrLocalReject) {
		return LocalReject
	}
	code := status.Code(r.Err)
	if o, ok := byCode(code); ok {
		return o
	}
	if !r.AttemptTimedOut && expired(ctx) {
		// The caller hung up or its own deadline ran out: whatever the
		// handler or the server made of that (a DEADLINE_EXCEEDED, or an
		// UNAVAILABLE wrapping ctx.Err()), it says nothing of the peer.
		return Ignored
	}
	// A failure: its ApplicationError, decoded once, refines it.
	if ae, ok := errdetails.FromError(r.Err); ok {
		return byApplicationError(ae, code, r.HasPushback && r.Pushback < 0)
	}
	if r.HasPushback && r.Pushback < 0 {
		return FatalFailure
	}
	return byFailureCode(code, r)
}

// byCode is the outcome that the code alone decides: a success (the peer
// is healthy, the caller erred) or Ignored (cancelled, aborted).
func byCode(code codes.Code) (Outcome, bool) {
	switch code {
	case codes.OK, codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.PermissionDenied,
		codes.Unauthenticated, codes.FailedPrecondition, codes.OutOfRange, codes.Unimplemented:
		return Success, true
	case codes.Canceled, codes.Aborted:
		return Ignored, true
	}
	return 0, false
}

// byApplicationError refines a failure by its ApplicationError; stop is a
// negative pushback.
func byApplicationError(ae *errdetails.ApplicationError, code codes.Code, stop bool) Outcome {
	switch {
	case ae.Unprocessed && (code == codes.Unavailable || code == codes.ResourceExhausted):
		if ae.Retryable && !stop {
			return Shed
		}
		return Ignored // the server is alive, and asks not to retry
	case ae.Code == errdetails.CodeDeadlineTooShort:
		return Ignored // the caller's deadline was too short for the server to start
	case stop || !ae.Retryable:
		return FatalFailure
	}
	return RetryableFailure
}

// byFailureCode classifies a failure without an ApplicationError.
func byFailureCode(code codes.Code, r Attempt) Outcome {
	switch code {
	case codes.Unavailable:
		return RetryableFailure
	case codes.DeadlineExceeded:
		if r.AttemptTimedOut {
			return RetryableFailure
		}
	case codes.ResourceExhausted:
		if r.HasPushback {
			return RetryableFailure // a non-negative pushback: stop was handled above
		}
		if _, ok := wire.RetryDelay(r.Err); ok {
			return RetryableFailure // not for a negative RetryInfo, which asks not to retry
		}
	}
	return FatalFailure // Unknown, Internal, DataLoss, codes gRPC does not define, and the rest
}

// expired reports whether the caller's context has ended or its deadline
// has passed: the server's DEADLINE_EXCEEDED for the caller's own deadline
// can arrive before the local timer fires.
func expired(ctx context.Context) bool {
	if ctx.Err() != nil {
		return gone.Caller(ctx) // not when a server's own deadline passed
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}
