package deadline

import (
	"context"
	"time"

	"github.com/bulwarkrpc/bulwark/internal/observe"
)

// Observer receives a Policy's events, for metrics and logs: a struct of
// optional hooks, each given the context of the call concerned and one
// event. A nil hook is not called. Hooks are called from the goroutine of
// the call concerned; they must be safe for concurrent use, return quickly
// and not allocate.
type Observer struct {
	// OnDefault is called when a client gives a call without a deadline
	// the default timeout. Its context is the caller's, before the
	// timeout is applied.
	OnDefault func(ctx context.Context, e DefaultEvent)
	// OnAdjust is called when a server caps or shaves the deadline its
	// handler sees. Its context is the request's, before the adjustment.
	OnAdjust func(ctx context.Context, e AdjustEvent)
	// OnReject is called when a server refuses a request with too little
	// time left.
	OnReject func(ctx context.Context, e RejectEvent)
}

// add makes o call the hooks of x too, after its own.
func (o *Observer) add(x Observer) {
	o.OnDefault = observe.Join(o.OnDefault, x.OnDefault)
	o.OnAdjust = observe.Join(o.OnAdjust, x.OnAdjust)
	o.OnReject = observe.Join(o.OnReject, x.OnReject)
}

// DefaultEvent describes a client call given the default timeout.
type DefaultEvent struct {
	// Method is the full method name, /package.Service/Method.
	Method string
	// Target is the client connection's target.
	Target string
	// Timeout is the timeout the call was given (WithDefaultTimeout's unary
	// or stream timeout).
	Timeout time.Duration
}

// AdjustEvent describes a server request whose deadline was capped or
// shaved.
type AdjustEvent struct {
	// Method is the full method name.
	Method string
	// HasDeadline is true when the caller set a deadline.
	HasDeadline bool
	// Remaining is the time the caller's deadline left; zero without one.
	Remaining time.Duration
	// Given is the time the handler was given, after the cap and the
	// shave.
	Given time.Duration
}

// RejectEvent describes a server request refused for too little time left.
type RejectEvent struct {
	// Method is the full method name.
	Method string
	// Remaining is the time the caller's deadline left.
	Remaining time.Duration
	// Given is the time left after the shave, which was too short.
	Given time.Duration
}
