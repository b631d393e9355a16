// Package errdetails is the Go side of Bulwark's error contract: the
// ApplicationError a server returns, the Registry that maps its code to a
// gRPC code and a default retryability, and the conversion to and from a
// *status.Status that any gRPC client, in any language, can read.
//
// # On the server
//
// Return an ApplicationError (or an error wrapping one) from a handler:
//
//	if err != nil {
//		return nil, errdetails.Database("could not load the user", err)
//	}
//
// The cause (err above) stays on the server: the error boundary
// (interceptors/boundary) logs it and sends only the code, the safe message
// and the details. Register your own codes once, at start-up:
//
//	if err := errdetails.Default.Register("PAYMENT_DECLINED", codes.FailedPrecondition, false); err != nil {
//		log.Fatal(err)
//	}
//
// # On the wire
//
// GRPCStatus builds a google.rpc.Status whose details hold a
// google.rpc.ErrorInfo (AIP-193: reason = the code, domain = the service,
// metadata = the details), a bulwark.v1.ApplicationError (retryable,
// unprocessed, time, delay, typed details), and where they apply
// google.rpc.RetryInfo, RequestInfo, BadRequest, PreconditionFailure,
// QuotaFailure and ResourceInfo. DebugInfo is sent only when the operator
// opts in. The whole status stays within 4096 bytes, so the trailers
// of a failed call stay under the 8 KiB that grpc-java accepts by default.
//
// # On the client
//
// FromError turns a call's error back into an *ApplicationError, from a
// Bulwark server or from any server that sends an AIP-193 ErrorInfo, and
// keeps the status: status.Code(err) still works. The boundary's client
// interceptor does it for every call, so errors.As works directly.
package errdetails
