// Package retry is Bulwark's client-side retry interceptor: exponential
// backoff with jitter, a retry budget per target, server pushback, hedging,
// and retries that never outlive the caller's deadline.
//
// # Where it goes
//
// Client side only, unary and all three kinds of streams. In the client
// chain it sits inside the deadline interceptor and outside the
// per-attempt interceptors:
//
//	logging → metrics(call) → deadline → retry → concurrency → circuit → metrics(attempt) → transport
//
// so that the deadline covers every attempt, a limiter permit is not held
// during a backoff, and the breaker and the attempt metrics see each
// attempt. Build one Retrier per client connection (or share one: budgets
// are kept per target) and register both interceptors:
//
//	r, err := retry.New()
//	conn, err := grpc.NewClient(target,
//		grpc.WithChainUnaryInterceptor(r.UnaryClientInterceptor()),
//		grpc.WithChainStreamInterceptor(r.StreamClientInterceptor()))
//
// # What is retried
//
// An attempt is retried only when all of these hold:
//   - the classifier (outcome.Default unless WithClassifier) calls its
//     result outcome.RetryableFailure: UNAVAILABLE; RESOURCE_EXHAUSTED with
//     a server delay; DEADLINE_EXCEEDED from the per-attempt timeout while
//     the caller still has time; or an ApplicationError marked retryable;
//     or outcome.Shed: a server's retryable rejection marked unprocessed,
//     such as SERVER_OVERLOADED;
//   - the method is safe to retry: its descriptor's idempotency_level is
//     IDEMPOTENT or NO_SIDE_EFFECTS (read once per method from
//     protoregistry.GlobalFiles), or WithSafeToRetry says so (for a call,
//     or for a method with WithMethodPolicy); or the error proves the request was not processed
//     (a local reject, or a SERVER_OVERLOADED
//     rejection marked unprocessed), which makes any method safe;
//   - attempts remain (WithMaxAttempts counts them all, the first
//     included: default 3, at most 5, as in gRFC A6, unless
//     WithAttemptsCap raises the cap, to at most 10);
//   - the server did not ask to stop (a negative grpc-retry-pushback-ms,
//     or a google.rpc.RetryInfo with a negative delay);
//   - the caller's deadline leaves time for the delay and an attempt
//     (WithMinAttemptTime); otherwise the call returns the last attempt's
//     error at once, without sleeping;
//   - the target's retry budget allows it (see below);
//   - for a stream, it has not committed (see below).
//
// Every attempt after the first carries grpc-previous-rpc-attempts, and one
// x-request-id for all of them, so that the server logs a call's attempts
// under one id: the caller's, when the outgoing metadata carries it (the
// requestid client interceptor puts it there); else the id the server gave
// the first failed attempt in its google.rpc.RequestInfo, which Bulwark's
// error boundary sends; else the context's (requestid.FromContext); else a
// new one. A call whose first attempt succeeds pays nothing for this.
//
// # What it returns
//
// A call returns the last attempt's error as it is (so its status code is
// whatever the server or the inner interceptors said), except:
//   - when the budget stopped it, an error that wraps that one:
//     errors.Is(err, ErrBudgetExhausted) is true and status.Code(err) is
//     still the last attempt's code;
//   - when the caller's context ends while the Retrier waits, CANCELLED or
//     DEADLINE_EXCEEDED from the context;
//   - when a retry CallOption passed to the call is invalid, INTERNAL,
//     naming the option, before any attempt.
//
// Every wait selects on the caller's context; per-attempt contexts are
// cancelled when their attempt returns.
//
// # Delays
//
// Before retry n the Retrier waits initial×multiplier^(n-1), at most the
// maximum (WithBackoff: 100 ms, ×2, 1 s), randomised by WithJitter (±20% by
// default). A delay set by the
// server replaces the backoff: the google.rpc.RetryInfo in the status
// details or the grpc-retry-pushback-ms trailer, whichever is longer,
// capped at WithMaxServerDelay (30 s); the backoff starts again after it.
//
// Reading the trailer takes a grpc.Trailer call option, which costs time on
// every call. So the first attempt of a unary call does not read it unless
// the target has been seen sending pushback:
// until then the first retry's delay comes from RetryInfo, which Bulwark
// servers send with every positive pushback, and a stop sent only as a
// trailer on the very first failed attempt is honoured from the second
// attempt on. Stream attempts and later unary attempts always read it.
//
// # Retry budget
//
// Each target (cc.Target()) has a budget, kept by the Retrier (two
// Retriers do not share budgets): over the last 10 s, retries and hedges
// may be at most 20% of the calls plus 10 per second (WithBudget, after
// Finagle and Linkerd). So a failing server receives at most about 1.2
// times the calls plus 100 per 10 s, however many attempts each call may
// make. gRPC's token bucket (gRFC A6 retryThrottling) is an alternative
// (WithTokenBucket).
//
// The fast path only adds one to a striped atomic counter and reads no
// clock: the ten one-second buckets are brought up to date when a retry
// asks, and the calls counted since the last time are spread evenly over
// the time since. While a target fails often that is a few milliseconds; after a
// long quiet spell it is an estimate, which assumes the calls came at an
// even pace.
//
// # Streams
//
// A stream commits, and is not retried after that, when a response header
// or message arrives, or when the messages it sent outgrow the replay
// buffer (WithBufferLimit, 256 KiB by proto.Size; messages that are not
// proto.Message commit it at once), or the replay buffers of all the
// streams to the same target together outgrow WithTargetBufferLimit (16
// MiB, gRFC A6's channel-wide limit; a stream gives its share back when it
// commits or ends, or its context ends). Until then the Retrier keeps the sent
// messages as gRPC encoded them (grpc.PreparedMsg: the buffer holds the wire
// bytes it counts, not copies of the messages) and replays them, and
// CloseSend, on each new attempt (interceptors inside the Retrier see a
// replayed message as a *grpc.PreparedMsg),
// so the server sees the whole stream every time and the caller sees every
// response message exactly once. While an attempt has ended and the next
// may follow, SendMsg keeps the message and returns nil (gRPC allows a
// sent message to be lost on a stream that fails); RecvMsg reports how the
// stream ended. The per-attempt timeout does not apply to streams. As with
// any gRPC stream, the caller must read until RecvMsg returns an error, or
// cancel the context, for the attempt's resources to be released.
//
// # Hedging
//
// WithHedging (off by default) sends a unary call to a method that is safe
// to retry again after a delay while no answer has come, up to N attempts
// in all, each into its own reply message; the first answer that is not a
// retryable failure wins, is copied into the caller's reply (with its
// header, trailer and peer), and the other attempts are cancelled and
// waited for. A retryable failure sends the next attempt at once, a server
// delay postpones it, a stop ends the hedging; every attempt after the
// first draws on the budget. WithMaxAttempts(1) turns hedging off too.
//
// # gRPC's own retries
//
// gRPC retries by itself when the service config has a retryPolicy for the
// method. Both must not be on: attempts would multiply (3 × 4 = 12
// attempts for one call) and neither budget would see the other's
// retries. Before retrying a call the Retrier asks the channel for the
// method's config (cc.GetMethodConfig) and, when it has a retryPolicy,
// leaves retrying to gRPC (the observer sees the stop reason
// "service_config"). It cannot see grpc.WithDisableRetry; a channel built
// with it should use WithServiceConfigCheck(false). Transparent retries by gRPC (requests
// that never reached the server application) are not affected.
//
// # Speed
//
// A unary call whose first attempt succeeds, with no retry call options, no
// per-attempt timeout and no hedging, costs a type check of each call
// option, three atomic loads and one atomic add, on a counter striped across
// cache lines so that no line is written by every core: no allocation, no
// lock, no clock read, no context or metadata work, and the same CPU time
// per call from one core to eight (BenchmarkUnarySuccess,
// BenchmarkUnarySuccessParallel). A
// per-attempt timeout costs a context.WithTimeout per attempt; reading the
// first attempt's trailer, once a target has sent pushback, a pooled call
// option.
//
// # Reconfiguration
//
// The client chains change a running Retrier's options (Reconfigure) with
// a whole new set of options, as New takes: an option left out goes back
// to its default. Each option is checked as New checks it, and nothing
// changes unless all are valid. Everything may change: attempts, backoff
// and jitter, per-attempt timeout, hedging, method policies, server delay
// caps, buffer limits, the classifier, observers, the service config
// check, and the budget's parameters. Calls that start after the change
// use the new settings; calls in progress finish under those they
// started with, except that every retry asked for after the change meets
// the budget's new parameters, since the budget is the target's, not the
// call's. Each target's budget keeps what it holds: a window its calls
// and retries (with a new length, each bucket keeps its counts and its
// place, so counts 3 s old in a 10 s window are 6 s old in a 20 s one), a
// token bucket its tokens (cut to a lower maximum, not refilled by a
// higher one). The cache of method idempotency is kept too.
//
// What cannot change is the budget's kind: a window (WithBudget), a token
// bucket (WithTokenBucket) or none (WithBudget(math.Inf(1), 0, 0)); the
// change is refused with an error naming the option. The circuit breaker
// that the client chain puts inside the Retrier stays as it is.
//
// # Hooks
//
// An Observer (WithObserver), a struct of optional hooks that each take the
// call's context and one event, sees each retry or hedge with its attempt
// number, delay and the reason for it, and the budget level; each stream
// commit; and the end of every call that needed a retry, with the reason
// the Retrier stopped (FinishEvent.Reason).
package retry
