package retry

import (
	"strconv"
	"sync"
	"time"

	rpcerrdetails "google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
)

// PushbackKey is the trailer through which a server sets the delay before a
// retry, in milliseconds, or asks with a negative value not to retry at all
// (gRFC A6).
const PushbackKey = errdetails.PushbackTrailer

// PreviousAttemptsKey is the request header that tells the server how many
// attempts of the call came before this one (gRFC A6). The Retrier sets it
// on every attempt after the first.
const PreviousAttemptsKey = "grpc-previous-rpc-attempts"

// ParsePushback reads the values of a grpc-retry-pushback-ms trailer as gRFC
// A6 and grpc-go do: outcome.NoPushback when there are none; the delay when
// there is one value that is a non-negative 32-bit decimal integer; and a
// negative duration, meaning "do not retry", for a negative value, a value
// that does not parse, or more than one value.
func ParsePushback(values []string) time.Duration {
	switch len(values) {
	case 0:
		return outcome.NoPushback
	case 1:
	default:
		return -1
	}
	ms, err := strconv.ParseInt(values[0], 10, 32)
	if err != nil || ms < 0 {
		return -1
	}
	return time.Duration(ms) * time.Millisecond
}

// pushbackOf returns the pushback a trailer carries; see ParsePushback.
func pushbackOf(md metadata.MD) time.Duration {
	return ParsePushback(md[PushbackKey])
}

// retryInfoDelay returns the delay of the google.rpc.RetryInfo in err's
// status details, if there is one with a non-negative delay. Bulwark servers
// send it with every positive pushback, so the first attempt of a call can
// honour the server's delay without reading the trailer.
func retryInfoDelay(err error) (time.Duration, bool) {
	ri, ok := firstDetail[*rpcerrdetails.RetryInfo](err)
	if !ok || !ri.GetRetryDelay().IsValid() {
		return 0, false
	}
	d := ri.GetRetryDelay().AsDuration()
	return d, d >= 0
}

// firstDetail returns the first detail of type T in err's status.
func firstDetail[T any](err error) (T, bool) {
	var none T
	st, ok := status.FromError(err)
	if !ok || st == nil {
		return none, false
	}
	// Details, unlike Proto, does not copy the status: a status without
	// details costs nothing here.
	for _, d := range st.Details() {
		if v, ok := d.(T); ok {
			return v, true
		}
	}
	return none, false
}

// trailerCapture is what a unary attempt needs to read its trailer: the
// call options with a grpc.Trailer option appended. Captures are pooled so
// that reading trailers allocates nothing in the steady state.
type trailerCapture struct {
	md   metadata.MD
	opt  grpc.TrailerCallOption
	opts []grpc.CallOption
}

var capturePool = sync.Pool{New: func() any { return new(trailerCapture) }}

// captureTrailer returns a capture whose opts are opts plus a trailer
// option; call done when the attempt has returned.
func captureTrailer(opts []grpc.CallOption) *trailerCapture {
	c := capturePool.Get().(*trailerCapture)
	c.opt.TrailerAddr = &c.md
	c.opts = append(append(c.opts[:0], opts...), &c.opt)
	return c
}

// done returns the pushback the attempt's trailer carried and releases c.
func (c *trailerCapture) done() (pushback time.Duration, md metadata.MD) {
	md = c.md
	pushback = pushbackOf(md)
	c.md = nil
	clear(c.opts)
	c.opts = c.opts[:0]
	capturePool.Put(c)
	return pushback, md
}
