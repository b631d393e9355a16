// Package circuit puts circuit breakers (package breaker) in front of gRPC
// calls, so that calls to a failing target or method fail fast, without
// touching the network, until probes show it has recovered.
//
// # Client side
//
// New returns a Circuit; its UnaryClientInterceptor and
// StreamClientInterceptor methods keep one breaker per target
// (cc.Target()), or per target and method with WithPerMethod, in a bounded
// registry (WithMaxBreakers; the least recently used breaker is
// evicted). Finding the breaker of a call takes no lock and allocates
// nothing. The interceptors belong inside retry and the client-side
// concurrency limiter, so that each attempt is judged on its own and
// limiter rejections never reach the breaker:
//
//	logging → metrics → deadline → retry → concurrency → circuit → transport
//
// A stream holds its permit for its whole life and is judged by how it ends
// (io.EOF is a success; the caller cancelling is ignored). A unary call that
// the breaker refuses can be answered by a Fallback instead (WithFallback),
// for example from a cache.
//
// # Server side
//
// Its UnaryServerInterceptor and StreamServerInterceptor methods keep one
// breaker per method, so that a handler whose own dependency is down fails fast before it
// runs. They belong innermost, next to the handler and inside the error
// boundary and the concurrency limiter.
//
// # Outcomes
//
// Outcomes come from an outcome.Classifier (WithClassifier; default
// outcome.Default): a Success counts as a success, a RetryableFailure or
// FatalFailure as a failure, and Ignored and LocalReject calls release their
// permit without being counted. So the caller cancelling, its deadline
// expiring, and codes that prove the peer healthy, such as INVALID_ARGUMENT
// or NOT_FOUND, never trip a breaker; an ApplicationError's retryability
// refines a failure.
//
// # Codes returned
//
// A refused call fails with an error that wraps the breaker's
// *breaker.OpenError (errors.As gives its RefusesFor): UNAVAILABLE with
// ErrorInfo reason CIRCUIT_OPEN (errdetails.CodeCircuitOpen), marked
// unprocessed, and a RetryInfo holding the remaining open time (none while half-open or
// forced open). It matches breaker.ErrOpen and outcome.ErrLocalReject with
// errors.Is, so the retry interceptor never re-enters an open breaker, and
// errors.As converts it to an *errdetails.ApplicationError. Every other
// error is the call's own. The client chain tells its retry interceptor,
// outside the breaker, how long the breaker will still refuse calls, so
// that it does not sleep only to be refused; ClientBreaker(target,
// method).RefusesFor() tells anyone else (ClientBreaker makes the breaker
// when there is none).
//
// # Reconfiguring
//
// The client and server chains can give a running Circuit a new option list
// while calls run. WithPerMethod and WithMaxBreakers are fixed when the
// Circuit is made, and a change of either is refused. Every breaker the
// Circuit holds is reconfigured with the new breaker options and keeps its
// state (see breaker.(*Breaker).Reconfigure: an open breaker stays open to
// the end of its open time); breakers made afterwards use them, and calls
// that start afterwards use the new classifier, observer and fallback.
//
// # Observing
//
// An Observer (WithObserver), a struct of optional hooks that each take a
// context and one event (StateEvent, CallEvent, RejectEvent), hears about
// transitions, calls by outcome and rejections, for the metrics
// interceptors. ClientBreaker and ServerBreaker
// give access to a breaker, for example to force it open.
package circuit
