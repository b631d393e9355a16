package opentelemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/bulwarkrpc/bulwark/interceptors/circuit"
)

// circuitHooks returns the circuit.Observer that records
// bulwark.circuit.state (by bulwark.circuit.state),
// bulwark.circuit.transitions (by bulwark.circuit.from and
// bulwark.circuit.to) and bulwark.circuit.rejections, with grpc.target (the
// client's cc.Target(), absent on the server) and grpc.method (absent for a
// breaker that guards a whole target). The span event of a refusal comes
// from the interceptors, which see the call's context.
func (t *Telemetry) circuitHooks() circuit.Observer {
	o := circuitObserver{t}
	return circuit.Observer{OnStateChange: o.OnStateChange, OnReject: o.OnReject}
}

type circuitObserver struct{ t *Telemetry }

func (o circuitObserver) OnStateChange(ctx context.Context, e circuit.StateEvent) {
	target, from, to := e.Target, e.From, e.To
	m := trimMethod(e.Method)
	o.t.in.circuitState.Record(ctx, 0, o.t.circuit.get(attrKey{method: m, target: target, code: noStatus, extra: from.String()}).record...)
	o.t.in.circuitState.Record(ctx, 1, o.t.circuit.get(attrKey{method: m, target: target, code: noStatus, extra: to.String()}).record...)
	kvs := make([]attribute.KeyValue, 0, 4)
	if m != "" {
		kvs = append(kvs, attribute.String(keyMethod, m))
	}
	if target != "" {
		kvs = append(kvs, attribute.String(keyTarget, target))
	}
	kvs = append(kvs, attribute.String(keyFrom, from.String()), attribute.String(keyTo, to.String()))
	o.t.in.circuitTransitions.Add(ctx, 1, metric.WithAttributes(kvs...))
}

func (o circuitObserver) OnReject(ctx context.Context, e circuit.RejectEvent) {
	o.t.in.circuitRejections.Add(ctx, 1, o.t.methods.get(attrKey{method: trimMethod(e.Method), target: e.Target, code: noStatus}).add...)
}
