// Package logging writes one structured log record per finished call to a
// *slog.Logger, on the server and on the client, with Bulwark's fields.
//
// # Records
//
// Each record has the field names of go-grpc-middleware's logging
// interceptor (grpc.component, grpc.service, grpc.method,
// grpc.method_type, grpc.code, grpc.time_ms, grpc.error), so log queries
// written for it keep working, and adds Bulwark's: request_id, and for
// application errors app.code, app.retryable and, on the client,
// app.request_id (the id the server logged the failure under).
//
// A successful call is logged at Debug by default and failures at a level
// chosen by their code (WithLevels). When the logger does not record the
// level, a successful call costs one clock read and no allocation: unlike
// go-grpc-middleware's interceptor, this one builds no fields for records
// nobody keeps.
//
// # Placement
//
// The interceptors belong outermost: on the server, after the request-id
// interceptor and outside the error boundary, so that records carry the
// request id and the code the caller received; on the client, outside retry,
// so one record stands for the whole call (the retry observer logs the
// attempts).
package logging
