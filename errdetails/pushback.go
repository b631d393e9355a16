package errdetails

import (
	"strconv"
	"time"
)

// PushbackTrailer is the trailer through which a server tells gRPC clients
// in every language (gRFC A6) how long to wait before a retry, in
// milliseconds, or with a negative value not to retry at all.
const PushbackTrailer = "grpc-retry-pushback-ms"

// PushbackValue returns the PushbackTrailer value for a delay hint: the
// delay in milliseconds, rounded up so that a client never retries earlier
// than asked, for a positive d; "-1" (do not retry) for a negative d; and
// "" (send no trailer) for zero.
func PushbackValue(d time.Duration) string {
	switch {
	case d < 0:
		return "-1"
	case d > 0:
		return strconv.FormatInt(int64((d+time.Millisecond-1)/time.Millisecond), 10)
	}
	return ""
}
