package circuit

import (
	"context"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/internal/observe"
)

// Observer receives what the Circuit's breakers do, for metrics (breaker
// state and transitions, calls by outcome, rejections): a struct of optional
// hooks, each given a context and one event. A nil hook is not called. Hooks
// are called outside the breakers' locks, must be safe for concurrent use,
// should return quickly, and should not allocate: OnCall is on the path of
// every call.
type Observer struct {
	// OnStateChange is called on every transition of a breaker, with
	// context.Background(): a transition belongs to no one call, and may
	// be reported on the breaker's timer goroutine or on the goroutine of
	// another call than the one that caused it.
	OnStateChange func(ctx context.Context, e StateEvent)
	// OnCall is called with the call's context when a call that the
	// breaker let through ends, with its outcome (Ignored and LocalReject
	// outcomes are not recorded by the breaker, but are reported here).
	OnCall func(ctx context.Context, e CallEvent)
	// OnReject is called with the call's context for each call the
	// breaker refused.
	OnReject func(ctx context.Context, e RejectEvent)
}

// add makes o call the hooks of x too, after its own.
func (o *Observer) add(x Observer) {
	o.OnStateChange = observe.Join(o.OnStateChange, x.OnStateChange)
	o.OnCall = observe.Join(o.OnCall, x.OnCall)
	o.OnReject = observe.Join(o.OnReject, x.OnReject)
}

// StateEvent describes a transition of a breaker.
type StateEvent struct {
	// Target is the client's cc.Target(), empty on the server.
	Target string
	// Method is the full method name ("/package.Service/Method"); empty
	// for a client breaker that guards a whole target.
	Method string
	// From and To are the states left and entered.
	From, To breaker.State
}

// CallEvent describes the end of a call that a breaker let through.
type CallEvent struct {
	// Target is the client's cc.Target(), empty on the server.
	Target string
	// Method is the call's full method name.
	Method string
	// Outcome is how the call ended.
	Outcome outcome.Outcome
}

// RejectEvent describes a call that a breaker refused.
type RejectEvent struct {
	// Target is the client's cc.Target(), empty on the server.
	Target string
	// Method is the call's full method name.
	Method string
}
