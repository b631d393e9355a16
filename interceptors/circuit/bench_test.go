package circuit_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/interceptors/circuit"
)

// benchConn is a client connection that is never used: the interceptors
// only read its target.
func benchConn(b *testing.B) *grpc.ClientConn {
	cc, err := grpc.NewClient("dns:///bench.example:443", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cc.Close() })
	return cc
}

func okInvoker(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
	return nil
}

func benchCircuit(b *testing.B, opts ...circuit.Option) grpc.UnaryClientInterceptor {
	c, err := circuit.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return c.UnaryClientInterceptor()
}

// BenchmarkUnaryClient is the healthy unary client path with a fake invoker:
// registry lookup, permit, classification, report.
func BenchmarkUnaryClient(b *testing.B) {
	tests := []struct {
		name string
		opts []circuit.Option
	}{
		{"per target", nil},
		{"per method", []circuit.Option{circuit.WithPerMethod(true)}},
		// Two observers of every call: their hooks are joined, and neither
		// the join nor the event may allocate.
		{"observed", []circuit.Option{
			circuit.WithObserver(circuit.Observer{OnCall: func(context.Context, circuit.CallEvent) {}}),
			circuit.WithObserver(circuit.Observer{OnCall: func(context.Context, circuit.CallEvent) {}}),
		}},
	}
	for _, tc := range tests {
		b.Run(tc.name, func(b *testing.B) {
			u, cc, ctx := benchCircuit(b, tc.opts...), benchConn(b), context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := u(ctx, unaryM, nil, nil, cc, okInvoker); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUnaryClientParallel is the healthy path from every P at once.
func BenchmarkUnaryClientParallel(b *testing.B) {
	u, cc, ctx := benchCircuit(b), benchConn(b), context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := u(ctx, unaryM, nil, nil, cc, okInvoker); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkUnaryClientReject is a call refused by an open breaker.
func BenchmarkUnaryClientReject(b *testing.B) {
	c, err := circuit.New()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	cc := benchConn(b)
	c.ClientBreaker(cc.Target(), "").SetMode(breaker.ModeForcedOpen)
	u, ctx := c.UnaryClientInterceptor(), context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := u(ctx, unaryM, nil, nil, cc, okInvoker); err == nil {
			b.Fatal("allowed")
		}
	}
}
