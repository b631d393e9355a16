package opentelemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
)

// The span event of a wait in a limiter's queue, and its attributes.
const (
	eventLimiterWait = "bulwark.limiter.wait"
	keyWaited        = "bulwark.waited"
	keyAcquired      = "bulwark.acquired"
)

// concurrencyHooks returns the concurrency.Observer that records
// bulwark.limiter.rejections (by grpc.method and bulwark.reason) and
// bulwark.limiter.wait.duration, and adds bulwark.limiter.wait (how long
// the call waited in the queue, and whether it got a permit) to the call's
// span when it is recording; the in-flight and limit gauges come from
// trackLimiter. The span event of a rejection comes from the interceptors,
// which read the returned error.
func (t *Telemetry) concurrencyHooks() concurrency.Observer {
	o := concurrencyObserver{t: t}
	return concurrency.Observer{OnReject: o.OnReject, OnWait: o.OnWait}
}

type concurrencyObserver struct{ t *Telemetry }

func (o concurrencyObserver) OnReject(ctx context.Context, e concurrency.RejectEvent) {
	o.t.in.limiterRejections.Add(ctx, 1, o.t.limiter.get(attrKey{method: trimMethod(e.Method), target: e.Target, code: noStatus, extra: e.Reason}).add...)
}

func (o concurrencyObserver) OnWait(ctx context.Context, e concurrency.WaitEvent) {
	o.t.in.limiterWait.Record(ctx, e.Waited.Seconds(), o.t.methods.get(attrKey{method: trimMethod(e.Method), target: e.Target, code: noStatus}).record...)
	if !o.t.spanEvents {
		return
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent(eventLimiterWait, trace.WithAttributes(
			attribute.Float64(keyWaited, e.Waited.Seconds()), attribute.Bool(keyAcquired, e.Acquired)))
	}
}
