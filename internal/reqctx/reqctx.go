// Package reqctx holds the context in which a server call carries its
// request id, found or made only when first asked for. The requestid
// package gives it to calls; the composed server chain is one, so that the
// request id costs a call no allocation of its own.
package reqctx

import (
	"context"
	"sync"

	"google.golang.org/grpc/metadata"
)

// Key is the context key of a request id: its value is a string, or the
// *Lazy that finds it.
type Key struct{}

// DefaultResolve is the requestid package's Resolve, which it sets when it
// is initialised: a caller's valid x-request-id, else a new id.
var DefaultResolve func(ctx context.Context) string

// Lazy is a context that carries a call's request id, resolved by Resolve
// on the first call of ID. Embed it in a larger context only by value, and
// set Context and Resolve before use.
type Lazy struct {
	context.Context
	// Resolve returns the request id of the call whose context is ctx.
	Resolve func(ctx context.Context) string

	once sync.Once
	val  string
}

// Value returns the Lazy itself for Key.
func (c *Lazy) Value(key any) any {
	if _, ok := key.(Key); ok {
		return c
	}
	return c.Context.Value(key)
}

// ID returns the request id, resolving it on the first call.
func (c *Lazy) ID() string {
	c.once.Do(func() { c.val = c.Resolve(c.Context) })
	return c.val
}

// MetadataKey is the metadata key that carries the request id: the value
// of requestid.MetadataKey, which a test of that package checks.
const MetadataKey = "x-request-id"

// maxLength is the longest request id accepted from a caller; a longer or
// non-printable one is replaced by a new id.
const maxLength = 128

// FromContext returns the request id ctx carries (requestid.FromContext).
func FromContext(ctx context.Context) (string, bool) {
	switch v := ctx.Value(Key{}).(type) {
	case string:
		return v, v != ""
	case *Lazy:
		return v.ID(), true
	}
	return "", false
}

// Incoming returns the request id of a server-side ctx: the one on the
// context, else a valid x-request-id from the incoming metadata.
func Incoming(ctx context.Context) (string, bool) {
	if id, ok := FromContext(ctx); ok {
		return id, true
	}
	return IncomingMetadata(ctx)
}

// IncomingMetadata returns the first valid x-request-id of the incoming
// metadata.
func IncomingMetadata(ctx context.Context) (string, bool) {
	for _, id := range metadata.ValueFromIncomingContext(ctx, MetadataKey) {
		if Valid(id) {
			return id, true
		}
	}
	return "", false
}

// Valid reports whether id may be used as a request id: 1 to 128
// printable ASCII characters.
func Valid(id string) bool {
	if id == "" || len(id) > maxLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}
