package opentelemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/interceptors/circuit"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
)

// CircuitObserver returns the circuit.Observer that records
// bulwark.circuit.state (by bulwark.circuit.state),
// bulwark.circuit.transitions (by bulwark.circuit.from and
// bulwark.circuit.to) and bulwark.circuit.rejections, with grpc.target (the
// client's cc.Target(), absent on the server) and grpc.method (absent for a
// breaker that guards a whole target). The span event of a refusal comes
// from the interceptors, which see the call's context.
func (t *Telemetry) CircuitObserver() circuit.Observer { return circuitObserver{t} }

type circuitObserver struct{ t *Telemetry }

func (o circuitObserver) OnStateChange(target, fullMethod string, from, to breaker.State) {
	ctx := context.Background()
	m := trimMethod(fullMethod)
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

func (o circuitObserver) OnCall(string, string, outcome.Outcome) {}

func (o circuitObserver) OnReject(target, fullMethod string) {
	o.t.in.circuitRejections.Add(context.Background(), 1, o.t.methods.get(attrKey{method: trimMethod(fullMethod), target: target, code: noStatus}).add...)
}
