package requestid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"

	"github.com/bulwarkrpc/bulwark/internal/reqctx"
)

// MetadataKey is the metadata key that carries the request id.
const MetadataKey = "x-request-id"

type ctxKey = reqctx.Key

// NewContext returns a copy of ctx that carries id.
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the request id ctx carries. On the context of a call
// that went through the server interceptors it always has one, made on the
// first FromContext (see newLazy).
func FromContext(ctx context.Context) (string, bool) {
	return reqctx.FromContext(ctx)
}

// newLazy returns the context the server interceptors give a call: it
// carries the call's request id, the caller's valid x-request-id or a new
// one, but finds or makes it only when first asked. Most calls succeed
// without anyone asking (successes are logged at Debug), so they pay one
// small allocation instead of three; inside Bulwark's composed server
// chain, none.
func newLazy(ctx context.Context) *reqctx.Lazy {
	return &reqctx.Lazy{Context: ctx, Resolve: resolve}
}

// resolve finds or makes the request id of the call whose context is ctx:
// one an interceptor before this one put on it, else the caller's valid
// x-request-id, else a new one.
func resolve(ctx context.Context) string {
	if id, ok := reqctx.Incoming(ctx); ok {
		return id
	}
	return New()
}

// prefix is random per process, so ids from different processes differ;
// the counter makes ids within a process differ without a system call.
var (
	prefix  = randomPrefix()
	counter atomic.Uint64
)

func randomPrefix() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:]) + "-"
}

// New returns a new request id, unique across processes: 16 random
// hexadecimal digits fixed for the process, a dash, and a counter in
// hexadecimal. It allocates only the returned string.
func New() string {
	var buf [16 + 1 + 16]byte
	b := append(buf[:0], prefix...)
	return string(strconv.AppendUint(b, counter.Add(1), 16))
}
