package requestid_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/bulwarkrpc/bulwark/interceptors/requestid"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/reqctx"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestOneMetadataKey: the key the server side reads (reqctx) is the one
// the client side writes.
func TestOneMetadataKey(t *testing.T) {
	if requestid.MetadataKey != "x-request-id" || reqctx.MetadataKey != requestid.MetadataKey {
		t.Errorf("MetadataKey = %q, reqctx reads %q; want both x-request-id", requestid.MetadataKey, reqctx.MetadataKey)
	}
}

func TestIncoming(t *testing.T) {
	bg := context.Background()
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		want   string
		wantOK bool
	}{
		{"none", bg, "", false},
		{"on the context", requestid.NewContext(bg, "ctx-id"), "ctx-id", true},
		{"context wins over metadata", requestid.NewContext(metadata.NewIncomingContext(bg, metadata.Pairs("x-request-id", "md-id")), "ctx-id"), "ctx-id", true},
		{"from metadata", metadata.NewIncomingContext(bg, metadata.Pairs("X-Request-Id", "md-id")), "md-id", true},
		{"invalid metadata is ignored", metadata.NewIncomingContext(bg, metadata.Pairs("x-request-id", "has space")), "", false},
		{"too long", metadata.NewIncomingContext(bg, metadata.Pairs("x-request-id", strings.Repeat("a", 129))), "", false},
		{"second value valid", metadata.NewIncomingContext(bg, metadata.MD{"x-request-id": {"", "ok"}}), "ok", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := reqctx.Incoming(tc.ctx)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("Incoming = %q, %v; want %q, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestNewMakesValidUniqueIDs(t *testing.T) {
	a, b := requestid.New(), requestid.New()
	if a == b || len(a) < 18 || !reqctx.Valid(a) || !reqctx.Valid(b) {
		t.Errorf("New = %q, %q; want two different valid ids", a, b)
	}
}

func TestInterceptorsPropagate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen []string
		svc := &grpctest.Service{UnaryFunc: func(ctx context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			id, _ := requestid.FromContext(ctx)
			seen = append(seen, id)
			return &testpb.UnaryResponse{}, nil
		}}
		env := grpctest.Start(t, svc, grpctest.Options{
			Server: []grpc.ServerOption{grpc.ChainUnaryInterceptor(requestid.UnaryServerInterceptor())},
			Dial:   []grpc.DialOption{grpc.WithChainUnaryInterceptor(requestid.UnaryClientInterceptor())},
		})
		// A caller with an id on its context sends it.
		if _, err := env.Client.Unary(requestid.NewContext(t.Context(), "from-ctx"), &testpb.UnaryRequest{}); err != nil {
			t.Fatal(err)
		}
		// Explicit metadata wins over the context.
		ctx := metadata.AppendToOutgoingContext(requestid.NewContext(t.Context(), "from-ctx"), requestid.MetadataKey, "explicit")
		if _, err := env.Client.Unary(ctx, &testpb.UnaryRequest{}); err != nil {
			t.Fatal(err)
		}
		// A caller without one gets a new id on the server.
		if _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}); err != nil {
			t.Fatal(err)
		}
		if len(seen) != 3 || seen[0] != "from-ctx" || seen[1] != "explicit" || !reqctx.Valid(seen[2]) || seen[2] == "from-ctx" {
			t.Errorf("server saw %q; want from-ctx, explicit, and a new id", seen)
		}
	})
}

func TestStreamServerInterceptor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen string
		svc := &grpctest.Service{BidiStreamFunc: func(s grpc.BidiStreamingServer[testpb.BidiStreamRequest, testpb.BidiStreamResponse]) error {
			seen, _ = requestid.FromContext(s.Context())
			return nil
		}}
		env := grpctest.Start(t, svc, grpctest.Options{
			Server: []grpc.ServerOption{grpc.ChainStreamInterceptor(requestid.StreamServerInterceptor())},
			Dial:   []grpc.DialOption{grpc.WithChainStreamInterceptor(requestid.StreamClientInterceptor())},
		})
		s, err := env.Client.BidiStream(requestid.NewContext(t.Context(), "stream-id"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Recv(); err != io.EOF {
			t.Fatalf("Recv = %v; want io.EOF", err)
		}
		if seen != "stream-id" {
			t.Errorf("handler saw %q; want stream-id", seen)
		}
	})
}

// serverCall runs the unary server interceptor on ctx with handler.
func serverCall(ctx context.Context, handler grpc.UnaryHandler) {
	_, _ = requestid.UnaryServerInterceptor()(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/s/M"}, handler)
}

// TestServerIDOnFirstUse: the server interceptor finds or makes the id only
// when asked; asked again, or from other goroutines, it is the same id.
func TestServerIDOnFirstUse(t *testing.T) {
	// A call whose handler never asks costs one allocation (the context):
	// no id is made.
	noop := func(context.Context, any) (any, error) { return nil, nil }
	if n := testing.AllocsPerRun(100, func() { serverCall(context.Background(), noop) }); n != 1 {
		t.Errorf("a call that never asks for its id allocates %v times; want 1", n)
	}

	var ids [8]string
	serverCall(context.Background(), func(ctx context.Context, _ any) (any, error) {
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() { ids[i], _ = requestid.FromContext(ctx) })
		}
		wg.Wait()
		return nil, nil
	})
	for _, id := range ids {
		if id != ids[0] || !reqctx.Valid(id) {
			t.Fatalf("ids seen by 8 goroutines: %q; want one valid id", ids)
		}
	}

	// The caller's valid id, read from the metadata when asked.
	md := metadata.NewIncomingContext(context.Background(), metadata.Pairs(requestid.MetadataKey, "caller-1"))
	var got, incoming string
	serverCall(md, func(ctx context.Context, _ any) (any, error) {
		got, _ = requestid.FromContext(ctx)
		incoming, _ = reqctx.Incoming(ctx)
		return nil, nil
	})
	if got != "caller-1" || incoming != "caller-1" {
		t.Errorf("FromContext, Incoming = %q, %q; want the caller's caller-1", got, incoming)
	}
}

// TestServerContextPropagatesCancel: contexts made from the handler's
// context end when the call's context ends, and keep its values.
func TestServerContextPropagatesCancel(t *testing.T) {
	type key struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	serverCall(parent, func(ctx context.Context, _ any) (any, error) {
		child, stop := context.WithCancel(ctx)
		defer stop()
		if ctx.Value(key{}) != "v" || child.Value(key{}) != "v" {
			t.Errorf("the handler's context lost the call's values")
		}
		cancel()
		<-child.Done()
		if child.Err() != context.Canceled {
			t.Errorf("child context: %v; want context.Canceled", child.Err())
		}
		return nil, nil
	})
}

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		_ = requestid.New()
	}
}
