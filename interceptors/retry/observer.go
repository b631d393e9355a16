package retry

import (
	"context"
	"time"
)

// Observer receives what the Retrier does, for metrics and logs. It is
// called after the Retrier has released its locks, on a goroutine of the
// call, and never on the fast path: a unary call whose first attempt
// succeeds produces no events (a stream reports its commit). Events are
// passed by value and cost no allocation. Implementations must be safe for
// concurrent use and should return quickly. Embed NopObserver to implement
// only some methods.
type Observer interface {
	// OnRetry is called before each attempt after the first (a retry or a
	// hedge), once the Retrier has decided to make it and taken it from the
	// budget, before it waits the delay.
	OnRetry(ctx context.Context, e RetryEvent)
	// OnCommit is called when a stream commits: from then on it is not
	// retried.
	OnCommit(ctx context.Context, e CommitEvent)
	// OnFinish is called once for each call whose first attempt failed or
	// was hedged, and each stream that failed after it committed, when the
	// call ends.
	OnFinish(ctx context.Context, e FinishEvent)
}

// NopObserver is an Observer that does nothing; embed it in observers that
// implement only some of the methods.
type NopObserver struct{}

// OnRetry does nothing.
func (NopObserver) OnRetry(context.Context, RetryEvent) {}

// OnCommit does nothing.
func (NopObserver) OnCommit(context.Context, CommitEvent) {}

// OnFinish does nothing.
func (NopObserver) OnFinish(context.Context, FinishEvent) {}

// RetryEvent describes an attempt about to be made after the first.
type RetryEvent struct {
	// Method is the full method name, "/package.Service/Method".
	Method string
	// Target is the channel's target, cc.Target().
	Target string
	// Attempt is the number of the attempt about to be made: 2 for the
	// first retry or hedge.
	Attempt int
	// Delay is how long the Retrier waits before making it.
	Delay time.Duration
	// Reason says where Delay came from.
	Reason DelayReason
	// Err is the error of the attempt that failed before, or nil for a
	// hedge sent because no attempt answered within the hedging delay.
	Err error
	// Budget is what the target's budget holds after this attempt was
	// taken from it: retries left in the window, tokens, or +Inf.
	Budget float64
}

// DelayReason says where the delay before an attempt came from.
type DelayReason uint8

// The delay reasons.
const (
	// DelayBackoff: the exponential backoff, with jitter.
	DelayBackoff DelayReason = iota
	// DelayPushback: the server's grpc-retry-pushback-ms trailer.
	DelayPushback
	// DelayRetryInfo: the google.rpc.RetryInfo in the server's status.
	DelayRetryInfo
	// DelayHedge: the hedging delay, or none after a retryable failure.
	DelayHedge
)

var delayReasonNames = [...]string{"backoff", "pushback", "retry_info", "hedge"}

// String returns the reason in snake_case, as used in metric labels.
func (r DelayReason) String() string {
	if int(r) < len(delayReasonNames) {
		return delayReasonNames[r]
	}
	return "unknown"
}

// CommitEvent describes a stream that committed.
type CommitEvent struct {
	// Method is the full method name.
	Method string
	// Target is the channel's target.
	Target string
	// Attempt is the number of the attempt that committed.
	Attempt int
	// Reason says why it committed.
	Reason CommitReason
}

// CommitReason says why a stream committed.
type CommitReason uint8

// The commit reasons.
const (
	// CommitHeader: the response headers arrived.
	CommitHeader CommitReason = iota
	// CommitMessage: a response message arrived.
	CommitMessage
	// CommitBuffer: the sent messages outgrew the buffer (WithBufferLimit),
	// or a message was not a proto.Message and could not be kept.
	CommitBuffer
)

var commitReasonNames = [...]string{"header", "message", "buffer"}

// String returns the reason in snake_case, as used in metric labels.
func (r CommitReason) String() string {
	if int(r) < len(commitReasonNames) {
		return commitReasonNames[r]
	}
	return "unknown"
}

// FinishEvent describes the end of a call that needed the Retrier.
type FinishEvent struct {
	// Method is the full method name.
	Method string
	// Target is the channel's target.
	Target string
	// Attempts is how many attempts the call made, hedges included.
	Attempts int
	// Err is the call's error, nil when it succeeded.
	Err error
	// Reason says why the Retrier stopped.
	Reason StopReason
	// Hedged is true when the call was hedged.
	Hedged bool
}

// StopReason says why a call made no more attempts.
type StopReason uint8

// The stop reasons.
const (
	// StopSucceeded: an attempt after the first succeeded, or a hedged
	// call won.
	StopSucceeded StopReason = iota
	// StopNotRetryable: the last attempt's outcome was not a retryable
	// failure.
	StopNotRetryable
	// StopNotSafe: the method is not safe to retry (see WithSafeToRetry)
	// and the error does not prove that the server did not process it.
	StopNotSafe
	// StopMaxAttempts: the call made all its attempts.
	StopMaxAttempts
	// StopBudget: the retry budget had nothing left; the error is a
	// *BudgetError.
	StopBudget
	// StopDeadline: the caller's deadline left too little time for the
	// delay and another attempt.
	StopDeadline
	// StopContext: the caller's context ended while the Retrier waited.
	StopContext
	// StopPushback: the server asked not to retry (a negative
	// grpc-retry-pushback-ms, or a google.rpc.RetryInfo with a negative
	// delay).
	StopPushback
	// StopCommitted: the stream had committed.
	StopCommitted
	// StopServiceConfig: gRPC's own retryPolicy is on for the method, so
	// the Retrier leaves retries to gRPC (see WithServiceConfigCheck).
	StopServiceConfig
	// StopCircuitOpen: the circuit breaker inside the Retrier would still
	// refuse the next attempt when its delay ends (see WithCircuitGate).
	StopCircuitOpen
)

var stopReasonNames = [...]string{
	"succeeded", "not_retryable", "not_safe", "max_attempts", "budget",
	"deadline", "context", "pushback", "committed", "service_config",
	"circuit_open",
}

// String returns the reason in snake_case, as used in metric labels.
func (r StopReason) String() string {
	if int(r) < len(stopReasonNames) {
		return stopReasonNames[r]
	}
	return "unknown"
}

// observers is what WithObserver makes of several Observers: it hands each
// event to every one, in order.
type observers []Observer

func (l observers) OnRetry(ctx context.Context, e RetryEvent) {
	for _, o := range l {
		o.OnRetry(ctx, e)
	}
}

func (l observers) OnCommit(ctx context.Context, e CommitEvent) {
	for _, o := range l {
		o.OnCommit(ctx, e)
	}
}

func (l observers) OnFinish(ctx context.Context, e FinishEvent) {
	for _, o := range l {
		o.OnFinish(ctx, e)
	}
}

func isNop(o Observer) bool {
	_, ok := o.(NopObserver)
	return ok
}
