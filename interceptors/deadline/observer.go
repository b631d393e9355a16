package deadline

import "time"

// Observer receives a Policy's events, for metrics and logs. Methods are
// called from the goroutine of the call concerned; they must be safe for
// concurrent use, return quickly and not allocate. Embed NopObserver to
// implement only some of them.
type Observer interface {
	// OnDefault is called when a client gives a call without a deadline
	// the default timeout.
	OnDefault(Event)
	// OnReject is called when a server refuses a request with too little
	// time left.
	OnReject(Event)
	// OnAdjust is called when a server caps or shaves the deadline its
	// handler sees.
	OnAdjust(Event)
}

// NopObserver ignores every event. Embed it in an Observer to implement only
// the methods you need.
type NopObserver struct{}

// OnDefault does nothing.
func (NopObserver) OnDefault(Event) {}

// OnReject does nothing.
func (NopObserver) OnReject(Event) {}

// OnAdjust does nothing.
func (NopObserver) OnAdjust(Event) {}

// Event describes what a Policy did to a call.
type Event struct {
	// Method is the full method name, /package.Service/Method.
	Method string
	// Target is the client connection's target; empty on the server.
	Target string
	// HasDeadline is true when the caller set a deadline.
	HasDeadline bool
	// Remaining is the time the caller's deadline left; zero without one.
	Remaining time.Duration
	// Given is the time the call or the handler was given: the default
	// timeout (OnDefault), the time left after the cap and the shave
	// (OnAdjust), or the time left after the shave that made the request
	// too short (OnReject; Remaining otherwise).
	Given time.Duration
}

// observers is what WithObserver makes of several Observers: it hands each
// event to every one, in order.
type observers []Observer

func (l observers) OnDefault(e Event) {
	for _, o := range l {
		o.OnDefault(e)
	}
}

func (l observers) OnReject(e Event) {
	for _, o := range l {
		o.OnReject(e)
	}
}

func (l observers) OnAdjust(e Event) {
	for _, o := range l {
		o.OnAdjust(e)
	}
}

func isNop(o Observer) bool {
	_, ok := o.(NopObserver)
	return ok
}
