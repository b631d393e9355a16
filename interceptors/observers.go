package interceptors

import (
	"context"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/interceptors/circuit"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/deadline"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
)

// The tees hand each event to the metrics and the logging observers of a
// chain, in that order.

type circuitTee []circuit.Observer

func (t circuitTee) OnStateChange(target, method string, from, to breaker.State) {
	for _, o := range t {
		o.OnStateChange(target, method, from, to)
	}
}

func (t circuitTee) OnCall(target, method string, oc outcome.Outcome) {
	for _, o := range t {
		o.OnCall(target, method, oc)
	}
}

func (t circuitTee) OnReject(target, method string) {
	for _, o := range t {
		o.OnReject(target, method)
	}
}

type retryTee []retry.Observer

func (t retryTee) OnRetry(ctx context.Context, e retry.RetryEvent) {
	for _, o := range t {
		o.OnRetry(ctx, e)
	}
}

func (t retryTee) OnCommit(ctx context.Context, e retry.CommitEvent) {
	for _, o := range t {
		o.OnCommit(ctx, e)
	}
}

func (t retryTee) OnFinish(ctx context.Context, e retry.FinishEvent) {
	for _, o := range t {
		o.OnFinish(ctx, e)
	}
}

type concurrencyTee []concurrency.Observer

func (t concurrencyTee) OnReject(e concurrency.RejectEvent) {
	for _, o := range t {
		o.OnReject(e)
	}
}

func (t concurrencyTee) OnWait(e concurrency.WaitEvent) {
	for _, o := range t {
		o.OnWait(e)
	}
}

func (t concurrencyTee) OnSample(e concurrency.SampleEvent) {
	for _, o := range t {
		o.OnSample(e)
	}
}

func (t concurrencyTee) OnLimit(e concurrency.LimitEvent) {
	for _, o := range t {
		o.OnLimit(e)
	}
}

type deadlineTee []deadline.Observer

func (t deadlineTee) OnDefault(e deadline.Event) {
	for _, o := range t {
		o.OnDefault(e)
	}
}

func (t deadlineTee) OnReject(e deadline.Event) {
	for _, o := range t {
		o.OnReject(e)
	}
}

func (t deadlineTee) OnAdjust(e deadline.Event) {
	for _, o := range t {
		o.OnAdjust(e)
	}
}
