package concurrency

import (
	"time"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency/limit"
)

// Observer receives a Limiter's events, for metrics and logs. Methods are
// called after the limiter's locks are released, from the goroutine of the
// call concerned; they must be safe for concurrent use, return quickly and
// not allocate on the healthy path. Embed NopObserver to implement only some
// of them.
//
// In-flight calls, the limit and the queue length are not events: read them
// with Limiter.Stats and Limiter.MethodStats (for example from a Prometheus
// GaugeFunc), which costs the calls nothing.
type Observer interface {
	// OnReject is called for every call the limiter refuses.
	OnReject(RejectEvent)
	// OnWait is called when a call that had to queue stops waiting, with
	// or without a permit.
	OnWait(WaitEvent)
	// OnSample is called for every call that feeds the adaptive limit.
	OnSample(SampleEvent)
	// OnLimit is called when the adaptive limit changes.
	OnLimit(LimitEvent)
}

// NopObserver ignores every event. Embed it in an Observer to implement only
// the methods you need.
type NopObserver struct{}

// OnReject does nothing.
func (NopObserver) OnReject(RejectEvent) {}

// OnWait does nothing.
func (NopObserver) OnWait(WaitEvent) {}

// OnSample does nothing.
func (NopObserver) OnSample(SampleEvent) {}

// OnLimit does nothing.
func (NopObserver) OnLimit(LimitEvent) {}

// RejectEvent describes a refused call.
type RejectEvent struct {
	// Method is the full method name, /package.Service/Method.
	Method string
	// Target is the client connection's target; empty on the server.
	Target string
	// Reason says why the call was refused.
	Reason Reason
	// Criticality is the call's criticality.
	Criticality Criticality
	// Stop is true when a server rejection asked the caller not to retry.
	Stop bool
	// Limit, InFlight and Queued describe the limiter that refused the call
	// (the method's limiter for a method limit) as it refused it.
	Limit, InFlight, Queued int
}

// WaitEvent describes the end of a wait in the queue.
type WaitEvent struct {
	// Method is the full method name.
	Method string
	// Target is the client connection's target; empty on the server.
	Target string
	// Waited is how long the call waited.
	Waited time.Duration
	// Acquired is true when the wait ended with a permit.
	Acquired bool
}

// SampleEvent describes a call that fed the adaptive limit, which is
// global: samples carry no method.
type SampleEvent struct {
	// RTT is how long the call held its permit.
	RTT time.Duration
	// InFlight is the number of calls in flight as it started, itself
	// included.
	InFlight int
	// Dropped is true when the call ended in an overload signal.
	Dropped bool
}

// LimitEvent describes a change of the adaptive limit.
type LimitEvent struct {
	// Old and New are the limits before and after.
	Old, New int
	// Sample is the window that caused the change.
	Sample limit.Sample
}

// observers is what WithObserver makes of several Observers: it hands each
// event to every one, in order.
type observers []Observer

func (l observers) OnReject(e RejectEvent) {
	for _, o := range l {
		o.OnReject(e)
	}
}

func (l observers) OnWait(e WaitEvent) {
	for _, o := range l {
		o.OnWait(e)
	}
}

func (l observers) OnSample(e SampleEvent) {
	for _, o := range l {
		o.OnSample(e)
	}
}

func (l observers) OnLimit(e LimitEvent) {
	for _, o := range l {
		o.OnLimit(e)
	}
}

func isNop(o Observer) bool {
	_, ok := o.(NopObserver)
	return ok
}
