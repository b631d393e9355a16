// Package deadline gives every call a deadline and every server a say on
// what time it needs.
//
// # Client side
//
// The client interceptors come from a Policy (New). Policy.UnaryClientInterceptor
// gives a call whose context has no deadline a default timeout (10 s,
// WithDefaultTimeout), so no call can wait forever on
// a peer that never answers. It never changes a deadline the caller set,
// earlier or later: the caller knows best. It costs one
// context.WithTimeout for a call without a deadline and nothing at all for
// one with a deadline. Policy.StreamClientInterceptor does the same for
// streams only when WithDefaultTimeout gives streams a timeout, because many streams (watches,
// subscriptions) are meant to outlive any fixed timeout; the timeout's
// context is released when the stream ends.
//
// On a client the deadline interceptor belongs outside the retry
// interceptor, so that one deadline covers all attempts:
//
//	logging → metrics → deadline → retry → concurrency → circuit → transport
//
// # Server side
//
// Policy.UnaryServerInterceptor and Policy.StreamServerInterceptor refuse a
// request with 1 ms or less left before its deadline (WithMinRemaining)
// before any work is done: DEADLINE_EXCEEDED with google.rpc.ErrorInfo
// reason DEADLINE_TOO_SHORT (metadata remainingMs and minimumMs), marked
// unprocessed, not retryable. The error converts with errors.As to that
// *errdetails.ApplicationError, which the error boundary sends.
//
// Two options change the deadline the handler sees, never to a later one:
//   - WithMaxDeadline caps it: a request with no deadline, or a later one,
//     gets now+max.
//   - WithShave ends the handler's context a fixed time or a fraction of
//     the caller's remaining time before the caller's deadline (the larger
//     of the two), so that the
//     calls the handler makes with its context (which inherit its deadline)
//     give up in time for the handler to answer its own caller, with a
//     fallback or a clean error, before the caller gives up. A request whose
//     shaved deadline would leave WithMinRemaining or less is refused as
//     too short.
//
// On a server it belongs inside the error boundary and before the
// concurrency limiter, so a request with too little time left is refused
// before it takes a permit or waits in a queue:
//
//	logging → metrics → boundary → deadline → concurrency → circuit → handler
//
// # Observability
//
// An Observer (WithObserver), a struct of optional hooks that each take the
// call's context and one event, learns of each default timeout applied
// (DefaultEvent), each request refused (RejectEvent), and each handler
// deadline capped or shaved (AdjustEvent).
package deadline
