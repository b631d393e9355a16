package concurrency

import (
	"context"
	"time"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency/limit"
	"github.com/bulwarkrpc/bulwark/internal/observe"
)

// Observer receives a Limiter's events, for metrics and logs: a struct of
// optional hooks, each given the context of the call concerned and one
// event. A nil hook is not called. Hooks are called after the limiter's
// locks are released, from the goroutine of the call concerned; they must be
// safe for concurrent use, return quickly and not allocate on the healthy
// path.
//
// In-flight calls, the limit and the queue length are not events: read them
// with Limiter.Stats (for example from a Prometheus
// GaugeFunc), which costs the calls nothing.
type Observer struct {
	// OnReject is called for every call the limiter refuses.
	OnReject func(ctx context.Context, e RejectEvent)
	// OnWait is called when a call that had to queue stops waiting, with
	// or without a permit.
	OnWait func(ctx context.Context, e WaitEvent)
	// OnSample is called for every call that feeds the adaptive limit. Its
	// context is context.Background(): a sample is taken when the permit
	// ends, which knows no call's context.
	OnSample func(ctx context.Context, e SampleEvent)
	// OnLimit is called when the adaptive limit changes, with
	// context.Background(): the limit belongs to no one call.
	OnLimit func(ctx context.Context, e LimitEvent)
}

// add makes o call the hooks of x too, after its own.
func (o *Observer) add(x Observer) {
	o.OnReject = observe.Join(o.OnReject, x.OnReject)
	o.OnWait = observe.Join(o.OnWait, x.OnWait)
	o.OnSample = observe.Join(o.OnSample, x.OnSample)
	o.OnLimit = observe.Join(o.OnLimit, x.OnLimit)
}

// RejectEvent describes a refused call.
type RejectEvent struct {
	// Method is the full method name, /package.Service/Method.
	Method string
	// Target is the client connection's target; empty on the server.
	Target string
	// Reason says why the call was refused: "limit" (no permit was free and
	// there is no queue), "shed_priority" (a permit was free for more
	// critical calls only, see WithPriority), "queue_full", "queue_timeout"
	// (the call waited the longest wait, see WithQueue), "deadline" or
	// "canceled" (the caller's context ended while the call waited). The
	// rejection's ApplicationError carries it as its detail "rejection".
	Reason string
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
