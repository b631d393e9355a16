// Package wire holds what Bulwark's interceptors share about an encoded
// error status and that users of errdetails do not need: the size limits of
// a status, the grpc-retry-pushback-ms value of a delay hint, and access to
// the parts of an errdetails.ApplicationError that only the error boundary
// uses.
package wire

import (
	"strconv"
	"time"

	"google.golang.org/grpc/status"
)

// PushbackTrailer is the trailer through which a server tells gRPC clients
// in every language (gRFC A6) how long to wait before a retry, in
// milliseconds, or with a negative value not to retry at all. The server's
// error boundary (interceptors/boundary) sends it from RetryAfter; the
// retry interceptor reads it.
const PushbackTrailer = "grpc-retry-pushback-ms"

// Size limits of an encoded status. Together they keep the trailers of a
// failed call (grpc-status-details-bin in base64, grpc-message
// percent-encoded, grpc-status and grpc-retry-pushback-ms) under 8 KiB,
// grpc-java's default limit on received metadata.
const (
	// MaxStatusBytes bounds the marshalled google.rpc.Status, details and
	// message included (at most 5,462 bytes once base64-encoded).
	MaxStatusBytes = 4096
	// MaxMessageBytes bounds the status message (at most 1,536 bytes once
	// percent-encoded).
	MaxMessageBytes = 512
	// MaxDecodeBytes bounds the statuses that are decoded. A larger status
	// is left as it is: gRPC's own header limits make one unlikely, and
	// decoding it would only cost memory.
	MaxDecodeBytes = 64 << 10
)

// PushbackValue returns the grpc-retry-pushback-ms value for a delay hint:
// the delay in milliseconds, rounded up so that a client never retries
// earlier than asked, for a positive d; "-1" (do not retry) for a negative
// d; and "" (send no trailer) for zero.
func PushbackValue(d time.Duration) string {
	switch {
	case d < 0:
		return "-1"
	case d > 0:
		return strconv.FormatInt(int64((d+time.Millisecond-1)/time.Millisecond), 10)
	}
	return ""
}

// DebugStatus returns the status an *errdetails.ApplicationError is sent
// as, plus google.rpc.DebugInfo holding its cause and Debug; it returns nil
// for any other error. errdetails sets it when it is initialised.
var DebugStatus func(err error) *status.Status

// Remote reports whether err is an *errdetails.ApplicationError decoded
// from a status another process sent. errdetails sets it when it is
// initialised.
var Remote func(err error) bool

// RetryDelay returns the server's retry delay hint that err carries: the
// google.rpc.RetryInfo of its status (with or without an ErrorInfo beside
// it), or the RetryAfter of a retryable in-process ApplicationError; ok
// reports whether the caller may retry after it. errdetails sets it when
// it is initialised.
var RetryDelay func(err error) (d time.Duration, ok bool)

// KnownCode reports whether code is registered in registry, an
// *errdetails.Registry. errdetails sets it when it is initialised.
var KnownCode func(registry any, code string) bool
