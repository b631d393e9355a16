package opentelemetry

import (
	"context"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
)

// ConcurrencyObserver returns the concurrency.Observer that records
// bulwark.limiter.rejections (by grpc.method and bulwark.reason) and
// bulwark.limiter.wait.duration; the in-flight and limit gauges come from
// trackLimiter. The span event of a rejection comes from the interceptors,
// which see the call's context.
func (t *Telemetry) ConcurrencyObserver() concurrency.Observer {
	o := concurrencyObserver{t: t}
	return concurrency.Observer{OnReject: o.OnReject, OnWait: o.OnWait}
}

type concurrencyObserver struct{ t *Telemetry }

func (o concurrencyObserver) OnReject(ctx context.Context, e concurrency.RejectEvent) {
	o.t.in.limiterRejections.Add(ctx, 1, o.t.limiter.get(attrKey{method: trimMethod(e.Method), target: e.Target, code: noStatus, extra: e.Reason}).add...)
}

func (o concurrencyObserver) OnWait(ctx context.Context, e concurrency.WaitEvent) {
	o.t.in.limiterWait.Record(ctx, e.Waited.Seconds(), o.t.methods.get(attrKey{method: trimMethod(e.Method), target: e.Target, code: noStatus}).record...)
}
