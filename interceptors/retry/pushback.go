package retry

import (
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/bulwarkrpc/bulwark/internal/wire"
)

// noPushback is the pushback of a response without a
// grpc-retry-pushback-ms trailer.
const noPushback time.Duration = -1 << 63

// parsePushback reads the values of a grpc-retry-pushback-ms trailer as gRFC
// A6 and grpc-go do: noPushback when there are none; the delay when
// there is one value that is a non-negative 32-bit decimal integer; and a
// negative duration, meaning "do not retry", for a negative value, a value
// that does not parse, or more than one value.
func parsePushback(values []string) time.Duration {
	switch len(values) {
	case 0:
		return noPushback
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

// pushbackOf returns the pushback a trailer carries; see parsePushback.
func pushbackOf(md metadata.MD) time.Duration {
	return parsePushback(md[wire.PushbackTrailer])
}

// serverDelay reads what the server said about retrying an attempt that
// failed with err and carried pushback (noPushback for none). stop
// is true when it asked not to retry: a negative grpc-retry-pushback-ms, or
// a google.rpc.RetryInfo with a negative delay. Otherwise ok is true when
// it set a delay, and d is the longer of the two with where it came from.
func serverDelay(err error, pushback time.Duration) (d time.Duration, reason string, stop, ok bool) {
	if pushback != noPushback && pushback < 0 {
		return 0, delayPushback, true, false
	}
	d, reason = -1, delayPushback
	if pushback >= 0 {
		d = pushback
	}
	// errdetails' reader, within its decode bound: a delay, or a negative
	// one (returned with false) asking not to retry.
	if ri, has := wire.RetryDelay(err); ri < 0 {
		return 0, delayRetryInfo, true, false
	} else if has && ri > d {
		d, reason = ri, delayRetryInfo
	}
	return d, reason, false, d >= 0
}

// firstDetail returns the first detail of type T in err's status that
// unmarshals. Details come from the network: a status larger than
// wire.MaxDecodeBytes is not decoded at all, and of the others only
// the details of type T are.
func firstDetail[T any, PT interface {
	*T
	proto.Message
}](err error) (PT, bool) {
	st, ok := status.FromError(err)
	if !ok || st == nil {
		return nil, false
	}
	p := st.Proto()
	if len(p.GetDetails()) == 0 || proto.Size(p) > wire.MaxDecodeBytes {
		return nil, false
	}
	name := PT(new(T)).ProtoReflect().Descriptor().FullName()
	for _, a := range p.GetDetails() {
		if a.MessageName() != name {
			continue
		}
		if m := PT(new(T)); proto.Unmarshal(a.GetValue(), m) == nil {
			return m, true
		}
	}
	return nil, false
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
