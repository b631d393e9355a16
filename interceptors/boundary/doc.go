// Package boundary is Bulwark's error boundary: the place where Go errors
// become statuses on the wire, and statuses become Go errors again.
//
// # Server side
//
// The server interceptors (unary and stream) turn every error that leaves a
// handler into a well-formed status:
//   - an *errdetails.ApplicationError, or an error wrapping one, is sent with
//     its code and details (see ApplicationError.GRPCStatus), its domain and
//     request id filled in, and a grpc-retry-pushback-ms trailer when it
//     carries a delay hint;
//   - a status error keeps its code, message and details (a wrapping error's
//     text is not sent);
//   - context.Canceled and context.DeadlineExceeded become CANCELLED and
//     DEADLINE_EXCEEDED;
//   - any other error, and any panic, becomes INTERNAL with code
//     INTERNAL_ERROR, the message "internal error" and the request id. The
//     real error, and a panic's stack, go to the *slog.Logger only (and to
//     the caller in google.rpc.DebugInfo if the operator opts in with
//     WithDebugInfo).
//
// It belongs inside the logging and metrics interceptors and outside
// everything else, so that they see the final status and every other
// interceptor's errors and panics pass through it.
//
// # Client side
//
// The client interceptors (unary and stream) return an
// *errdetails.ApplicationError for every failed call whose status carries
// Bulwark's or AIP-193 details, so errors.As works; status.Code and
// status.FromError still return what the server sent. They belong innermost,
// next to the transport, so that every other interceptor sees decoded
// errors.
package boundary
