package opentelemetry

import (
	"context"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
)

// ConcurrencyObserver returns the concurrency.Observer that records
// bulwark.limiter.rejections (by grpc.method and bulwark.reason) and
// bulwark.limiter.wait.duration; the in-flight and limit gauges come from
// TrackLimiter. The span event of a rejection comes from the interceptors,
// which see the call's context.
func (t *Telemetry) ConcurrencyObserver() concurrency.Observer { return concurrencyObserver{t: t} }

type concurrencyObserver struct {
	concurrency.NopObserver
	t *Telemetry
}

func (o concurrencyObserver) OnReject(e concurrency.RejectEvent) {
	o.t.in.limiterRejections.Add(context.Background(), 1, o.t.limiter.get(attrKey{method: trimMethod(e.Method), target: e.Target, code: noStatus, extra: e.Reason.String()}).add...)
}

func (o concurrencyObserver) OnWait(e concurrency.WaitEvent) {
	o.t.in.limiterWait.Record(context.Background(), e.Waited.Seconds(), o.t.methods.get(attrKey{method: trimMethod(e.Method), target: e.Target, code: noStatus}).record...)
}
