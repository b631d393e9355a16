package interceptors_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/interceptors"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// The cases of gRPC's interoperability suite that concern statuses and
// metadata (status_code_and_message, special_status_message,
// custom_metadata, cancel_after_begin, timeout_on_sleeping_server), through
// both of Bulwark's chains with every component on: what a handler builds
// itself with status.Error reaches the caller byte for byte, as with plain
// gRPC.
func TestInteropCasesThroughBothChains(t *testing.T) {
	const (
		initialKey  = "x-grpc-test-echo-initial"
		trailingKey = "x-grpc-test-echo-trailing-bin"
		special     = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"
	)
	echo := func(ctx context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		if v := md.Get(initialKey); len(v) > 0 {
			_ = grpc.SetHeader(ctx, metadata.Pairs(initialKey, v[0]))
		}
		if v := md.Get(trailingKey); len(v) > 0 {
			_ = grpc.SetTrailer(ctx, metadata.Pairs(trailingKey, v[0]))
		}
		switch req.GetText() {
		case "status":
			return nil, status.Error(codes.Unknown, "test status message")
		case "special":
			return nil, status.Error(codes.Unknown, special)
		case "sleep":
			<-ctx.Done()
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		return &testpb.UnaryResponse{Text: req.GetText()}, nil
	}
	// start serves echo through both chains, inside the caller's bubble.
	start := func(t *testing.T) func(ctx context.Context, text string, opts ...grpc.CallOption) error {
		sc := serverChain(t, []interceptors.ServerOption{interceptors.WithDeadline(), interceptors.WithCircuitBreaker(),
			interceptors.WithConcurrency(concurrency.WithLimit(64))})
		cc := clientChain(t, []interceptors.ClientOption{interceptors.WithDeadline(), interceptors.WithRetry(),
			interceptors.WithCircuitBreaker(), interceptors.WithConcurrency(concurrency.WithLimit(64))})
		env := grpctest.Start(t, &grpctest.Service{UnaryFunc: echo}, grpctest.Options{Server: sc.ServerOptions(), Dial: cc.DialOptions()})
		return func(ctx context.Context, text string, opts ...grpc.CallOption) error {
			_, err := env.Client.Unary(ctx, &testpb.UnaryRequest{Text: text}, opts...)
			return err
		}
	}
	cases := map[string]func(t *testing.T, call func(ctx context.Context, text string, opts ...grpc.CallOption) error){
		"status_code_and_message": func(t *testing.T, call func(ctx context.Context, text string, opts ...grpc.CallOption) error) {
			var tr metadata.MD
			err := call(t.Context(), "status", grpc.Trailer(&tr))
			if st := status.Convert(err); st.Code() != codes.Unknown || st.Message() != "test status message" || len(st.Proto().GetDetails()) != 0 {
				t.Errorf("status = %v; want UNKNOWN \"test status message\" and nothing else", st.Proto())
			}
		},
		"special_status_message": func(t *testing.T, call func(ctx context.Context, text string, opts ...grpc.CallOption) error) {
			if st := status.Convert(call(t.Context(), "special")); st.Code() != codes.Unknown || st.Message() != special {
				t.Errorf("status = %q %q; want UNKNOWN %q", st.Code(), st.Message(), special)
			}
		},
		"custom_metadata": func(t *testing.T, call func(ctx context.Context, text string, opts ...grpc.CallOption) error) {
			ctx := metadata.AppendToOutgoingContext(t.Context(), initialKey, "test_initial_metadata_value",
				trailingKey, "\x0a\x0b\x0a\x0b\x0a\x0b")
			var header, trailer metadata.MD
			if err := call(ctx, "ok", grpc.Header(&header), grpc.Trailer(&trailer)); err != nil {
				t.Fatal(err)
			}
			if got := header.Get(initialKey); len(got) != 1 || got[0] != "test_initial_metadata_value" {
				t.Errorf("initial metadata = %q", got)
			}
			if got := trailer.Get(trailingKey); len(got) != 1 || got[0] != "\x0a\x0b\x0a\x0b\x0a\x0b" {
				t.Errorf("trailing metadata = %q", got)
			}
		},
		"cancel_after_begin": func(t *testing.T, call func(ctx context.Context, text string, opts ...grpc.CallOption) error) {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			if code := status.Code(call(ctx, "ok")); code != codes.Canceled {
				t.Errorf("code = %v; want CANCELLED", code)
			}
		},
		"timeout_on_sleeping_server": func(t *testing.T, call func(ctx context.Context, text string, opts ...grpc.CallOption) error) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			if code := status.Code(call(ctx, "sleep")); code != codes.DeadlineExceeded {
				t.Errorf("code = %v; want DEADLINE_EXCEEDED", code)
			}
		},
	}
	for name, check := range cases {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { check(t, start(t)) })
		})
	}
}
