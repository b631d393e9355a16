package opentelemetry

import (
	"context"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/interceptors/circuit"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
)

// CircuitObserver returns the circuit.Observer that records
// bulwark.circuit.state, bulwark.circuit.transitions and
// bulwark.circuit.rejections, with grpc.target (the client's cc.Target(),
// absent on the server) and grpc.method (absent for a breaker that guards a
// whole target). The span event of a refusal comes from the interceptors,
// which see the call's context.
func (t *Telemetry) CircuitObserver() circuit.Observer { return circuitObserver{t} }

type circuitObserver struct{ t *Telemetry }

func (o circuitObserver) OnStateChange(target, fullMethod string, from, to breaker.State) {
	ctx := context.Background()
	m := trimMethod(fullMethod)
	o.t.in.circuitState.Record(ctx, 0, o.t.circuit.get(attrKey{method: m, target: target, code: noStatus, extra: from.String()}).record...)
	o.t.in.circuitState.Record(ctx, 1, o.t.circuit.get(attrKey{method: m, target: target, code: noStatus, extra: to.String()}).record...)
	o.t.in.circuitTransitions.Add(ctx, 1, o.t.circuit.get(attrKey{method: m, target: target, code: noStatus, extra: from.String() + ">" + to.String()}).add...)
}

func (o circuitObserver) OnCall(string, string, outcome.Outcome) {}

func (o circuitObserver) OnReject(target, fullMethod string) {
	o.t.in.circuitRejections.Add(context.Background(), 1, o.t.circuit.get(attrKey{method: trimMethod(fullMethod), target: target, code: noStatus, extra: "open"}).add...)
}
