package metrics

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/internal/method"
	"github.com/bulwarkrpc/bulwark/internal/rpc"
)

// attemptVecs counts client attempts: each try of a call that reaches the
// transport, retries and hedges included.
type attemptVecs struct {
	total    *prometheus.CounterVec
	children sync.Map // full method -> *byCode
}

func newAttemptVecs(o *options) *attemptVecs {
	return &attemptVecs{total: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: o.namespace, Name: "client_attempts_total",
		Help: "Client attempts that reached the transport, retries and hedges included, by code. Divided by grpc_client_started_total it gives the load a client puts on its servers per call.",
	}, []string{"grpc_type", "grpc_service", "grpc_method", "grpc_code"})}
}

func (a *attemptVecs) forMethod(fullMethod, typ string) *byCode {
	if c, ok := a.children.Load(fullMethod); ok {
		return c.(*byCode)
	}
	svc, name := method.Split(fullMethod)
	c, _ := a.children.LoadOrStore(fullMethod, &byCode{vec: a.total, typ: typ, service: svc, method: name})
	return c.(*byCode)
}

// unaryAttempt counts each attempt of a unary call in
// <namespace>_client_attempts_total. It belongs innermost in the client
// chain, inside retry and the circuit breaker, so it sees every attempt that
// reaches the transport and none that Bulwark refused locally.
func (m *Metrics) unaryAttempt() grpc.UnaryClientInterceptor {
	a := m.attempts
	return func(ctx context.Context, fullMethod string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, fullMethod, req, reply, cc, opts...)
		a.forMethod(fullMethod, "unary").get(rpc.Code(err)).Inc()
		return err
	}
}

// streamAttempt is the stream form of unaryAttempt:
// an attempt is counted when the stream ends, or when opening it fails.
func (m *Metrics) streamAttempt() grpc.StreamClientInterceptor {
	a := m.attempts
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, fullMethod string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		c := a.forMethod(fullMethod, rpc.Type(desc.ClientStreams, desc.ServerStreams))
		cs, err := streamer(ctx, desc, cc, fullMethod, opts...)
		if err != nil {
			c.get(rpc.Code(err)).Inc()
			return nil, err
		}
		return rpc.WrapClient(cs, desc.ServerStreams, rpc.ClientHooks{Finished: func(err error) { c.get(rpc.Code(err)).Inc() }}), nil
	}
}
