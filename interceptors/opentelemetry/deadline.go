package opentelemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/bulwarkrpc/bulwark/interceptors/deadline"
)

// eventDeadlineAdjusted is the span event of a server request whose
// deadline was capped or shaved.
const eventDeadlineAdjusted = "bulwark.deadline.adjusted"

// deadlineHooks returns the deadline.Observer that records
// bulwark.deadline.defaults, bulwark.deadline.rejections and
// bulwark.deadline.adjustments by grpc.method (and grpc.target on the
// client), and adds bulwark.deadline.adjusted (bulwark.timeout: the time
// the handler was given) to the request's span when it is recording. The
// span events of a default deadline (client) and of a rejection (server)
// come from the interceptors.
func (t *Telemetry) deadlineHooks() deadline.Observer {
	o := deadlineObserver{t}
	return deadline.Observer{OnDefault: o.OnDefault, OnAdjust: o.OnAdjust, OnReject: o.OnReject}
}

type deadlineObserver struct{ t *Telemetry }

// key is the attributes of an event: the method, and the target of a
// client's (only a default timeout is a client's).
func (o deadlineObserver) key(method, target string) attrKey {
	return attrKey{method: trimMethod(method), target: target, code: noStatus}
}

func (o deadlineObserver) OnDefault(ctx context.Context, e deadline.DefaultEvent) {
	o.t.in.deadlineDefaults.Add(ctx, 1, o.t.methods.get(o.key(e.Method, e.Target)).add...)
}

func (o deadlineObserver) OnReject(ctx context.Context, e deadline.RejectEvent) {
	o.t.in.deadlineRejections.Add(ctx, 1, o.t.methods.get(o.key(e.Method, "")).add...)
}

func (o deadlineObserver) OnAdjust(ctx context.Context, e deadline.AdjustEvent) {
	o.t.in.deadlineAdjusted.Add(ctx, 1, o.t.methods.get(o.key(e.Method, "")).add...)
	if !o.t.spanEvents {
		return
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent(eventDeadlineAdjusted, trace.WithAttributes(attribute.Float64(keyTimeout, e.Given.Seconds())))
	}
}
