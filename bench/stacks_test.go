package bench

import (
	"log/slog"
	"testing"

	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/bench/internal/stacks"
)

// The whole-chain benchmarks (chain_test.go, grpc_test.go) compare the
// stacks of internal/stacks: what a team would register on a client and a
// server with Bulwark, go-grpc-middleware or failsafe-go, and bare gRPC.

// benchUnaryMethod is IDEMPOTENT in its descriptor, so every stack may retry it.
const benchUnaryMethod = "/bulwark.testing.v1.TestService/Unary"

// impls lists the implementations in the order benchstat shows them as
// columns: Bulwark first, so that its column is the base of every ratio.
var impls = stacks.Impls

// stack is one implementation's unary interceptors for a client and a server.
type stack struct {
	client []grpc.UnaryClientInterceptor
	server []grpc.UnaryServerInterceptor
	dial   []grpc.DialOption // what else the client chain asks of grpc.NewClient
}

func benchLogger() *slog.Logger { return stacks.Logger() }

// newStack builds impl's stack; log adds the logging interceptors. The
// stack is closed by tb.Cleanup.
func newStack(tb testing.TB, impl string, log bool) stack {
	s, err := stacks.New(impl, log)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return stack{client: s.Client, server: s.Server, dial: s.Dial}
}
