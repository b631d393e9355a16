package main

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/bulwarkrpc/bulwark/examples/greeter/internal/workload"
	"github.com/bulwarkrpc/bulwark/interceptors/boundary"
)

// bulwarkChain returns Bulwark's client interceptors, outermost first. Today
// it is the error decoder of the boundary, which belongs innermost; the full
// client chain (deadline, retry, concurrency, circuit, metrics) goes here
// when it exists, with its breaker transitions reported to transitions.
func bulwarkChain(_ *transitionLog) ([]grpc.UnaryClientInterceptor, []grpc.StreamClientInterceptor, error) {
	b, err := boundary.New()
	if err != nil {
		return nil, nil, err
	}
	return []grpc.UnaryClientInterceptor{b.UnaryClientInterceptor()},
		[]grpc.StreamClientInterceptor{b.StreamClientInterceptor()}, nil
}

// dialOptions returns the client's dial options: Bulwark's chain unless
// bare, and in both modes attempts innermost, next to the transport, so that
// it counts the attempts that go on the wire.
func dialOptions(bare bool, attempts *workload.AttemptCounter, transitions *transitionLog) ([]grpc.DialOption, error) {
	var unary []grpc.UnaryClientInterceptor
	var stream []grpc.StreamClientInterceptor
	if !bare {
		var err error
		if unary, stream, err = bulwarkChain(transitions); err != nil {
			return nil, err
		}
	}
	unary = append(unary, attempts.UnaryClientInterceptor())
	stream = append(stream, attempts.StreamClientInterceptor())
	return []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(unary...),
		grpc.WithChainStreamInterceptor(stream...),
	}, nil
}
