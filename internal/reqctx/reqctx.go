// Package reqctx holds the context in which a server call carries its
// request id, found or made only when first asked for. The requestid
// package gives it to calls; the composed server chain is one, so that the
// request id costs a call no allocation of its own.
package reqctx

import (
	"context"
	"sync"
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
