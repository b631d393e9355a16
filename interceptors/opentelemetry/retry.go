package opentelemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/rpc"
)

// retryHooks returns the retry.Observer that counts a call's retries and
// hedges for grpc.client.call.retries and grpc.client.call.hedges (recorded
// by unaryClientInterceptor when the call ends), learns the targets of
// bulwark.retry.budget.level, and adds bulwark.retry, bulwark.hedge and
// bulwark.retry.stop events to the caller's span when it is recording.
//
// An attempt is a hedge when the Retrier sent it because no attempt had
// answered within the hedging delay; every other attempt after the first,
// including one a hedged call sends at once after a retryable failure, is
// a retry.
func (t *Telemetry) retryHooks() retry.Observer {
	o := retryObserver{t}
	return retry.Observer{OnRetry: o.OnRetry, OnFinish: o.OnFinish}
}

type retryObserver struct{ t *Telemetry }

func isHedge(e retry.RetryEvent) bool { return e.Err == nil && e.Reason == "hedge" }

func (o retryObserver) OnRetry(ctx context.Context, e retry.RetryEvent) {
	hedge := isHedge(e)
	if c := callFrom(ctx); c != nil {
		if hedge {
			c.hedges.Add(1)
		} else {
			c.retries.Add(1)
		}
	}
	if _, ok := o.t.targets.Load(e.Target); !ok {
		o.t.targets.LoadOrStore(e.Target, struct{}{})
	}
	if !o.t.spanEvents {
		return
	}
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	name := eventRetry
	kvs := []attribute.KeyValue{
		attribute.Int(keyAttempt, e.Attempt),
		attribute.Float64(keyDelay, e.Delay.Seconds()),
		attribute.String(keyReason, e.Reason),
		attribute.Float64(keyBudget, e.Budget),
	}
	if hedge {
		name = eventHedge
	} else if e.Err != nil {
		kvs = append(kvs, attribute.String(keyStatus, statusName(rpc.Code(e.Err))))
	}
	span.AddEvent(name, trace.WithAttributes(kvs...))
}

func (o retryObserver) OnFinish(ctx context.Context, e retry.FinishEvent) {
	if !o.t.spanEvents {
		return
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent(eventRetryStop, trace.WithAttributes(
			attribute.Int(keyAttempts, e.Attempts),
			attribute.String(keyReason, e.Reason),
			attribute.String(keyStatus, statusName(rpc.Code(e.Err)))))
	}
}
