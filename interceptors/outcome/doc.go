// Package outcome classifies how a call or an attempt ended, so that the
// circuit breaker, the retry loop, the retry budget and the adaptive
// concurrency limiter all judge it the same way.
//
// # The outcome table
//
// Every attempt ends in one Outcome. Default decides it like this:
//
//	outcome            gRPC codes                                     breaker     retry   budget
//	Success            OK; INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS,  success     stop    deposit
//	                   PERMISSION_DENIED, UNAUTHENTICATED,
//	                   FAILED_PRECONDITION, OUT_OF_RANGE, UNIMPLEMENTED
//	Ignored            CANCELLED; ABORTED; any failure once the caller's -           stop    -
//	                   context is done (it cancelled or its own
//	                   deadline passed), whatever the handler returned;
//	                   DEADLINE_TOO_SHORT
//	RetryableFailure   UNAVAILABLE; RESOURCE_EXHAUSTED with RetryInfo   failure     retry   withdraw
//	                   or a non-negative pushback; DEADLINE_EXCEEDED
//	                   when the per-attempt timeout fired
//	FatalFailure       UNKNOWN, INTERNAL, DATA_LOSS, DEADLINE_EXCEEDED   failure     stop    -
//	                   from the server, other RESOURCE_EXHAUSTED
//	LocalReject        a Bulwark component refused the call locally      -           stop    -
//	                   (errors matching ErrLocalReject)
//	Shed               UNAVAILABLE or RESOURCE_EXHAUSTED whose           -           retry   withdraw
//	                   ApplicationError is marked unprocessed and
//	                   retryable (SERVER_OVERLOADED, a server's
//	                   CIRCUIT_OPEN); Ignored when the server asks
//	                   not to retry
//
// A server that sheds load refuses cheaply and says so; counting its
// refusals as failures would open every client's breaker against a server
// that is protecting itself, and turn a partial overload into a full outage.
//
// An ApplicationError in the status details refines a failure: retryable
// false makes it fatal, retryable true makes it retryable. A negative
// grpc-retry-pushback-ms or a negative google.rpc.RetryInfo (the server asks
// not to retry) makes it fatal.
//
// On a server, ctx is the request's context: a handler that returns an
// error after its caller hung up (often an UNAVAILABLE wrapping ctx.Err())
// is Ignored, so callers that cancel, hedging clients among them, never trip
// a server's breaker or shrink its adaptive limit.
//
// Users replace the table by passing their own Classifier to the
// interceptors.
package outcome
