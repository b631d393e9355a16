package errdetails

// PushbackTrailer is the trailer through which a server tells gRPC clients
// in every language (gRFC A6) how long to wait before a retry, in
// milliseconds, or with a negative value not to retry at all. The server's
// error boundary (interceptors/boundary) sends it from RetryAfter.
const PushbackTrailer = "grpc-retry-pushback-ms"
