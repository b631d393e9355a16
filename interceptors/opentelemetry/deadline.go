package opentelemetry

import (
	"context"

	"github.com/bulwarkrpc/bulwark/interceptors/deadline"
)

// DeadlineObserver returns the deadline.Observer that records
// bulwark.deadline.defaults, bulwark.deadline.rejections and
// bulwark.deadline.adjustments by grpc.method (and grpc.target on the
// client). The span events of a default deadline (client) and of a
// rejection (server) come from the interceptors, which see the call's
// context.
func (t *Telemetry) DeadlineObserver() deadline.Observer { return deadlineObserver{t} }

type deadlineObserver struct{ t *Telemetry }

func (o deadlineObserver) key(e deadline.Event) attrKey {
	return attrKey{method: trimMethod(e.Method), target: e.Target, code: noStatus}
}

func (o deadlineObserver) OnDefault(e deadline.Event) {
	o.t.in.deadlineDefaults.Add(context.Background(), 1, o.t.methods.get(o.key(e)).add...)
}

func (o deadlineObserver) OnReject(e deadline.Event) {
	o.t.in.deadlineRejections.Add(context.Background(), 1, o.t.methods.get(o.key(e)).add...)
}

func (o deadlineObserver) OnAdjust(e deadline.Event) {
	o.t.in.deadlineAdjusted.Add(context.Background(), 1, o.t.methods.get(o.key(e)).add...)
}
