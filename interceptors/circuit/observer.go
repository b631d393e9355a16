package circuit

import (
	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
)

// Observer receives what the Circuit's breakers do, for metrics (breaker
// state and transitions, calls by outcome, rejections). target is the
// client's cc.Target(), empty on the server; method is the full method name
// ("/package.Service/Method"). Methods are called outside the breakers'
// locks, must be safe for concurrent use, should return quickly, and should
// not allocate: OnCall is on the path of every call. Embed NopObserver to
// implement only some methods.
type Observer interface {
	// OnStateChange is called on every transition of a breaker. method is
	// empty for a client breaker that guards a whole target. It may run on
	// the breaker's timer goroutine.
	OnStateChange(target, method string, from, to breaker.State)
	// OnCall is called when a call that the breaker let through ends, with
	// its outcome (Ignored and LocalReject outcomes are not recorded by the
	// breaker, but are reported here).
	OnCall(target, method string, o outcome.Outcome)
	// OnReject is called for each call the breaker refused.
	OnReject(target, method string)
}

// NopObserver is an Observer that does nothing; embed it in observers that
// implement only some of the methods.
type NopObserver struct{}

// OnStateChange does nothing.
func (NopObserver) OnStateChange(string, string, breaker.State, breaker.State) {}

// OnCall does nothing.
func (NopObserver) OnCall(string, string, outcome.Outcome) {}

// OnReject does nothing.
func (NopObserver) OnReject(string, string) {}

// observers is what WithObserver makes of several Observers: it hands each
// event to every one, in order.
type observers []Observer

func (l observers) OnStateChange(target, method string, from, to breaker.State) {
	for _, o := range l {
		o.OnStateChange(target, method, from, to)
	}
}

func (l observers) OnCall(target, method string, oc outcome.Outcome) {
	for _, o := range l {
		o.OnCall(target, method, oc)
	}
}

func (l observers) OnReject(target, method string) {
	for _, o := range l {
		o.OnReject(target, method)
	}
}

func isNop(o Observer) bool {
	_, ok := o.(NopObserver)
	return ok
}
