// Package callclock shares one clock read among the layers of a call. The
// composed chains read the time once when a call enters them; the layers
// that time the call or judge its deadline (metrics, logging, deadline)
// take that reading instead of their own. Run outside a composed chain, a
// layer reads the clock itself.
package callclock

import (
	"context"
	"time"

	"google.golang.org/grpc"
)

// Key is the context key of a server call's start: its value is a
// *time.Time.
type Key struct{}

// Start returns when the server call of ctx entered its composed chain, or
// the time now when no chain recorded it.
func Start(ctx context.Context) time.Time {
	if t, ok := ctx.Value(Key{}).(*time.Time); ok {
		return *t
	}
	return time.Now()
}

// Starter is a CallOption, which gRPC ignores, that knows when a client
// call entered its composed chain.
type Starter interface {
	grpc.CallOption
	CallStart() time.Time
}

// StartOf returns when the client call whose options are opts entered its
// innermost composed chain, or the time now when no chain recorded it.
func StartOf(opts []grpc.CallOption) time.Time {
	for i := len(opts) - 1; i >= 0; i-- {
		if s, ok := opts[i].(Starter); ok {
			return s.CallStart()
		}
	}
	return time.Now()
}
