package stacks

import (
	"context"
	"slices"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestChainUnaryClientOrder: the layers run outermost first, and a layer
// that calls next twice (as retry does) runs everything inside it twice.
func TestChainUnaryClientOrder(t *testing.T) {
	var got []string
	layer := func(name string, calls int) grpc.UnaryClientInterceptor {
		return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, next grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			got = append(got, name)
			var err error
			for range calls {
				err = next(ctx, method, req, reply, cc, opts...)
			}
			return err
		}
	}
	ic := ChainUnaryClient([]grpc.UnaryClientInterceptor{layer("a", 1), layer("b", 2), layer("c", 1)})
	final := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
		got = append(got, "transport")
		return nil
	}
	for range 2 { // the second call reuses the pooled frame
		got = nil
		if err := ic(t.Context(), "/s/m", nil, nil, nil, final); err != nil {
			t.Fatal(err)
		}
		if want := []string{"a", "b", "c", "transport", "c", "transport"}; !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	}
}

func TestChainUnaryServerOrder(t *testing.T) {
	var got []string
	layer := func(name string) grpc.UnaryServerInterceptor {
		return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
			got = append(got, name+info.FullMethod)
			return next(ctx, req)
		}
	}
	ic := ChainUnaryServer([]grpc.UnaryServerInterceptor{layer("a"), layer("b")})
	resp, err := ic(t.Context(), 7, &grpc.UnaryServerInfo{FullMethod: "/s/m"}, func(_ context.Context, req any) (any, error) {
		got = append(got, "handler")
		return req, nil
	})
	if err != nil || resp != 7 {
		t.Fatalf("got %v, %v; want 7, nil", resp, err)
	}
	if want := []string{"a/s/m", "b/s/m", "handler"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestLocalDeadline: a call without a deadline gets a context that ends
// but reports no deadline to gRPC; a caller's deadline passes as it is.
func TestLocalDeadline(t *testing.T) {
	ic := LocalDeadline(1 << 40)
	var hasDeadline, cancellable bool
	check := func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
		_, hasDeadline = ctx.Deadline()
		cancellable = ctx.Done() != nil
		return nil
	}
	if err := ic(context.Background(), "/s/m", nil, nil, nil, check); err != nil {
		t.Fatal(err)
	}
	if hasDeadline || !cancellable {
		t.Errorf("no caller deadline: deadline visible %v, cancellable %v; want false, true", hasDeadline, cancellable)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1<<40)
	defer cancel()
	if err := ic(ctx, "/s/m", nil, nil, nil, check); err != nil {
		t.Fatal(err)
	}
	if !hasDeadline {
		t.Error("the caller's deadline was hidden")
	}
}
