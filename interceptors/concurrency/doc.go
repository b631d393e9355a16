// Package concurrency bounds the calls in flight, on clients (a bulkhead:
// one slow dependency cannot tie up every goroutine) and on servers (load
// shedding: refuse quickly what cannot be served in time, instead of
// queueing it until everything times out).
//
// # Limits
//
// A Limiter (New) holds a global limit (WithLimit), limits per method
// (WithMethodLimit, within the global one), or an adaptive global limit
// (WithAdaptive). A call that finds no free permit is refused at once, or,
// with WithQueue, waits for one at most the queue's wait and never past its
// own deadline, behind a bounded number of others. The limit is exact: no
// more calls than the limit ever hold a permit at once. Taking and giving
// back a permit is a compare-and-swap and an atomic add on one word; the
// queue and its mutex are touched only when someone waits.
//
// # Sides
//
// The side is chosen by the interceptor installed. UnaryServerInterceptor
// and StreamServerInterceptor shed load on a server; UnaryClientInterceptor
// and StreamClientInterceptor are a bulkhead on a client. Both are unary and
// stream: a unary call holds its permit while its handler (or invoker) runs,
// a stream for its whole life. Every permit is given back exactly once,
// whether the call succeeds, fails, is cancelled, runs out of time or
// panics. Use one Limiter per side.
//
// # Chains
//
// On the server the limiter belongs after the error boundary and the
// deadline interceptor (so that requests with too little time left are
// refused before they take a permit or queue) and before the circuit
// breaker and the handler:
//
//	logging → metrics → boundary → deadline → concurrency → circuit → handler
//
// On the client it runs per attempt, inside the retry interceptor (so a
// permit is never held during a backoff) and outside the circuit breaker
// (so its rejections never reach the breaker):
//
//	logging → metrics → deadline → retry → concurrency → circuit → transport
//
// # Server rejections
//
// A refused call never reaches the handler and no response header has been
// sent. It fails with UNAVAILABLE and these details: google.rpc.ErrorInfo
// with reason SERVER_OVERLOADED (metadata "rejection" names the reason, see
// RejectEvent.Reason), a bulwark.v1.ApplicationError marked unprocessed (so
// even a call with side effects may be retried), and google.rpc.RetryInfo
// with the WithRetryAfter delay (100 ms by default). The error matches
// ErrRejected and converts with errors.As to that
// *errdetails.ApplicationError; the error boundary (package
// interceptors/boundary) sends it, with the same delay in the
// grpc-retry-pushback-ms trailer.
//
// The rejection asks the caller not to retry at all (pushback -1, RetryInfo
// left out, retryable false), so that retries do not pile onto an overloaded
// server, when:
//   - the caller is already retrying: its grpc-previous-rpc-attempts
//     metadata is above 0 (gRFC A6 clients and Bulwark's retry interceptor
//     send it);
//   - the overload is severe: the queue is full, or the call waited in the
//     queue until its wait or its deadline ran out, so the backlog is at its
//     bound and not a blip;
//   - the caller's remaining deadline is no longer than the retry delay, so
//     a retry could not finish.
//
// # Client rejections
//
// A call refused by a client-side limiter never reaches the network. Its
// error matches ErrRejected and outcome.ErrLocalReject, so the outcome classifier
// calls it a LocalReject: never retried and never counted by a circuit
// breaker. Its status is RESOURCE_EXHAUSTED (a local resource, the bulkhead,
// is exhausted; CANCELLED or DEADLINE_EXCEEDED when the caller gave up while
// it waited in the queue) with ErrorInfo reason CLIENT_CONCURRENCY_LIMIT
// (the *errdetails.ApplicationError it converts to with errors.As), not
// retryable: should a handler return it, its own callers will not retry
// it either.
//
// # Adaptive limits
//
// WithAdaptive lets an algorithm of package limit move the global limit:
// limit.NewAIMD on clients, where the peer's refusals and timeouts are the
// signal, and limit.NewGradient on servers, where latency is. Unary calls
// that end are gathered into windows (WithWindow) and the algorithm runs
// once per window. On the server, a handler that ran out of deadline is a
// drop, a cancelled one is ignored, and every other one is a latency sample.
// On the client, DEADLINE_EXCEEDED and retryable failures are drops,
// cancellations and local rejects are ignored, and the rest are latency
// samples. Streams hold permits but do not feed the algorithm. The current
// limit is Stats().Limit; the Observer's OnLimit hook reports each
// change.
//
// # Priority
//
// With WithPriority, calls carry a Criticality: critical, default or
// sheddable. Near the limit, sheddable calls are refused first (they may use
// only part of the limit), then default ones; critical calls may use all of
// it, and in the queue they are served first. A server reads the criticality
// from the x-bulwark-criticality metadata of each call; a client from the
// call's context (NewCriticalityContext), else from the incoming call a
// handler is serving. The Limiter's client interceptors forward it on
// outgoing calls in the same metadata, so it propagates down a call graph.
//
// # Reconfiguration
//
// The client and server chains change a running Limiter's options (their
// Reconfigure), without stopping calls. The new options are a complete
// list, checked as New checks them: an option left out returns to its
// default, and a refused list changes nothing. The kind of global limit
// cannot change: a Limiter made with WithLimit keeps a fixed one, one made
// with WithAdaptive an adaptive one, one made with neither has none.
// Everything else can change, and nothing held is taken back:
//   - WithLimit: calls above a lowered limit keep their permits and are not
//     cancelled; no new call is admitted until fewer than the new limit are
//     in flight. A raised limit admits queued calls at once.
//   - WithAdaptive: a new algorithm takes over at once, its Limit() the
//     limit, with a new window; the same algorithm keeps its state.
//     WithWindow applies from the next window.
//   - WithMethodLimit: a changed limit behaves as WithLimit; an added one
//     limits new calls at once; a removed one stops limiting new calls, and
//     the calls that hold its permits end as usual.
//   - WithQueue, WithRetryAfter, WithPriority (shares and trust),
//     WithObserver and WithClassifier apply to the calls that start after
//     the change. Calls already queued stay queued, even beyond a shorter
//     queue; raised priority shares admit queued calls at once.
//
// A call reads the Limiter's settings once as it starts, with one atomic
// load: reconfiguration costs calls no lock.
//
// # Observability
//
// An Observer (WithObserver), a struct of optional hooks that each take a
// context and one event, receives rejections with their reason (limit,
// shed_priority, queue_full, queue_timeout, deadline, canceled), the end of
// each wait in the queue, the samples of the adaptive limit and its
// changes. In-flight calls, the limit and the queue length are read with
// Limiter.Stats (the metrics package exports the per-method limits too).
package concurrency
