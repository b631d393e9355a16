package retry

import (
	"context"
	"time"

	"github.com/bulwarkrpc/bulwark/internal/observe"
)

// Observer receives what the Retrier does, for metrics and logs: a struct
// of optional hooks, each given the call's context and one event. A nil hook
// is not called. Hooks are called after the Retrier has released its locks,
// on a goroutine of the call, and never on the fast path: a unary call whose
// first attempt succeeds produces no events (a stream reports its commit).
// Events are passed by value and cost no allocation. Hooks must be safe for
// concurrent use and should return quickly.
type Observer struct {
	// OnRetry is called before each attempt after the first (a retry or a
	// hedge), once the Retrier has decided to make it and taken it from the
	// budget, before it waits the delay.
	OnRetry func(ctx context.Context, e RetryEvent)
	// OnCommit is called when a stream commits: from then on it is not
	// retried.
	OnCommit func(ctx context.Context, e CommitEvent)
	// OnFinish is called once for each call whose first attempt failed or
	// was hedged, and each stream that failed after it committed, when the
	// call ends.
	OnFinish func(ctx context.Context, e FinishEvent)
}

// add makes o call the hooks of x too, after its own.
func (o *Observer) add(x Observer) {
	o.OnRetry = observe.Join(o.OnRetry, x.OnRetry)
	o.OnCommit = observe.Join(o.OnCommit, x.OnCommit)
	o.OnFinish = observe.Join(o.OnFinish, x.OnFinish)
}

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
	// Reason says where Delay came from, in snake_case as metric labels
	// use it: "backoff" (the exponential backoff, with jitter),
	// "pushback" (the server's grpc-retry-pushback-ms trailer),
	// "retry_info" (the google.rpc.RetryInfo in the server's status) or
	// "hedge" (the hedging delay, or none after a retryable failure).
	Reason string
	// Err is the error of the attempt that failed before, or nil for a
	// hedge sent because no attempt answered within the hedging delay.
	Err error
	// Budget is what the target's budget holds after this attempt was
	// taken from it: retries left in the window, tokens, or +Inf.
	Budget float64
}

// The values of RetryEvent.Reason.
const (
	delayBackoff   = "backoff"
	delayPushback  = "pushback"
	delayRetryInfo = "retry_info"
	delayHedge     = "hedge"
)

// CommitEvent describes a stream that committed.
type CommitEvent struct {
	// Method is the full method name.
	Method string
	// Target is the channel's target.
	Target string
	// Attempt is the number of the attempt that committed.
	Attempt int
	// Reason says why it committed: "header" (the response headers
	// arrived), "message" (a response message arrived) or "buffer" (the
	// sent messages outgrew the stream's or the target's replay buffer, or
	// a message was not a proto.Message and could not be kept).
	Reason string
}

// The values of CommitEvent.Reason.
const (
	commitHeader  = "header"
	commitMessage = "message"
	commitBuffer  = "buffer"
)

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
	// Reason says why the Retrier stopped:
	//   - "succeeded": an attempt after the first succeeded, or a hedged
	//     call won;
	//   - "not_retryable": the last attempt's outcome was not a retryable
	//     failure;
	//   - "not_safe": the method is not safe to retry (see
	//     WithSafeToRetry) and the error does not prove that the server did
	//     not process it;
	//   - "max_attempts": the call made all its attempts;
	//   - "budget": the retry budget had nothing left; the error matches
	//     ErrBudgetExhausted;
	//   - "deadline": the caller's deadline left too little time for the
	//     delay and another attempt;
	//   - "context": the caller's context ended while the Retrier waited;
	//   - "pushback": the server asked not to retry (a negative
	//     grpc-retry-pushback-ms, or a google.rpc.RetryInfo with a negative
	//     delay);
	//   - "committed": the stream had committed;
	//   - "service_config": gRPC's own retryPolicy is on for the method, so
	//     the Retrier leaves retries to gRPC (see WithServiceConfigCheck);
	//   - "circuit_open": the circuit breaker inside the Retrier would
	//     still refuse the next attempt when its delay ends (the client
	//     chain lets the Retrier ask it).
	Reason string
	// Hedged is true when the call was hedged.
	Hedged bool
}

// The values of FinishEvent.Reason.
const (
	stopSucceeded     = "succeeded"
	stopNotRetryable  = "not_retryable"
	stopNotSafe       = "not_safe"
	stopMaxAttempts   = "max_attempts"
	stopBudget        = "budget"
	stopDeadline      = "deadline"
	stopContext       = "context"
	stopPushback      = "pushback"
	stopCommitted     = "committed"
	stopServiceConfig = "service_config"
	stopCircuitOpen   = "circuit_open"
)
