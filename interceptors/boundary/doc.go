// Package boundary is Bulwark's error boundary: the place where Go errors
// become statuses on the wire, and statuses become Go errors again.
//
// # Server side
//
// New returns a Boundary; its server interceptors (unary and stream) turn
// every error that leaves a handler into a well-formed status. An error a handler returns is this
// server's answer, whatever it came from:
//   - an *errdetails.ApplicationError made in this process, or an error
//     wrapping one, is sent with its code and details (see
//     ApplicationError.GRPCStatus), its domain and request id filled in,
//     and a grpc-retry-pushback-ms trailer when it carries a delay hint;
//   - an error decoded from a downstream call's status (the ApplicationError
//     a Bulwark client returns for it, or a status carrying one), which a handler
//     passes on, is re-encoded by the DownstreamPolicy (Forward by
//     default): never marked unprocessed (the handler ran), without
//     DebugInfo unless WithDebugInfo, with this hop's domain and request id
//     where absent;
//   - a status error keeps its code, message and details byte for byte
//     (a wrapping error's text is not sent), except that DebugInfo is
//     dropped unless WithDebugInfo, a message over 512 bytes
//     is cut, details are dropped from the last while the status is over
//     4096 bytes, and grpc-go's own errors for a failed
//     outgoing call (which name addresses) become UNAVAILABLE "upstream
//     unavailable";
//   - context.Canceled and context.DeadlineExceeded become CANCELLED and
//     DEADLINE_EXCEEDED;
//   - any other error, and any panic, becomes INTERNAL with code
//     INTERNAL_ERROR, the message "internal error" and the request id. The
//     real error, and a panic's stack, go to the *slog.Logger only (and to
//     the caller in google.rpc.DebugInfo if the operator opts in with
//     WithDebugInfo).
//
// Only the refusals of this server's own interceptors, made before the
// handler ran (an overloaded limiter, an open server breaker, a deadline
// too short), are sent as unprocessed.
//
// It belongs inside the logging and metrics interceptors and outside
// everything else, so that they see the final status and every other
// interceptor's errors and panics pass through it.
//
// # Client side
//
// The Boundary's client interceptors (unary and stream) return an
// *errdetails.ApplicationError for every failed call whose status carries
// Bulwark's or AIP-193 details, so errors.As works; status.Code and
// status.FromError still return what the server sent. They belong innermost,
// next to the transport, so that every other interceptor sees decoded
// errors.
package boundary
