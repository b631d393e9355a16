package retry_test

import (
	"context"
	"io"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/requestid"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/reqctx"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// sentIDs records the x-request-id values each attempt arrived with, by
// attempt number.
type sentIDs struct {
	mu  sync.Mutex
	ids map[int][]string
}

func (s *sentIDs) add(ctx context.Context) int {
	n := attemptOf(ctx)
	md, _ := metadata.FromIncomingContext(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil {
		s.ids = map[int][]string{}
	}
	s.ids[n] = md.Get(requestid.MetadataKey)
	return n
}

func (s *sentIDs) get(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids[n]
}

// TestRetriesKeepOneRequestID: every attempt after the first of a call
// carries one request id, so the server logs the call's attempts under it:
// the id the server gave the failed first attempt, else a new one; the
// caller's own id, when it sends one, goes unchanged on every attempt.
func TestRetriesKeepOneRequestID(t *testing.T) {
	retryable := func() *errdetails.ApplicationError {
		e := errdetails.New("DB_ERROR", "db down")
		e.Retryable = true
		e.GRPCCode = codes.Unavailable
		return e
	}()
	for _, tc := range []struct {
		name   string
		err    error  // of the first two attempts
		caller string // the caller's x-request-id, if any
		want   string // which id the later attempts send: "server", "new" or "caller"
	}{
		{name: "server id from RequestInfo", err: retryable, want: "server"},
		{name: "no RequestInfo: a new id", err: status.Error(codes.Unavailable, "down"), want: "new"},
		{name: "the caller's id", err: retryable, caller: "caller-7", want: "caller"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var sent sentIDs
				svc := &grpctest.Service{UnaryFunc: func(ctx context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
					if sent.add(ctx) <= 2 {
						return nil, tc.err
					}
					return &testpb.UnaryResponse{}, nil
				}}
				var first error // the first attempt's error, as the client saw it
				record := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
					err := invoker(ctx, method, req, reply, cc, opts...)
					if first == nil {
						first = err
					}
					return err
				}
				env, _ := start(t, svc, setup{retry: []retry.Option{noJitter}, inner: []grpc.UnaryClientInterceptor{record}})
				ctx := t.Context()
				if tc.caller != "" {
					ctx = metadata.AppendToOutgoingContext(ctx, requestid.MetadataKey, tc.caller)
				}
				if _, err := env.Client.Unary(ctx, &testpb.UnaryRequest{}); err != nil {
					t.Fatal(err)
				}
				one, two, three := sent.get(1), sent.get(2), sent.get(3)
				switch tc.want {
				case "caller":
					for n, got := range [][]string{one, two, three} {
						if len(got) != 1 || got[0] != tc.caller {
							t.Errorf("attempt %d sent x-request-id %q; want only the caller's %q", n+1, got, tc.caller)
						}
					}
				case "server":
					ae, ok := errdetails.FromError(first)
					if !ok || ae.RequestID == "" {
						t.Fatalf("first attempt: %v; want an application error with the server's request id", first)
					}
					if len(one) != 0 || len(two) != 1 || two[0] != ae.RequestID || len(three) != 1 || three[0] != ae.RequestID {
						t.Errorf("x-request-id of attempts 1, 2, 3: %q, %q, %q; want none, then the server's id of the first attempt (%q) twice",
							one, two, three, ae.RequestID)
					}
				case "new":
					if len(one) != 0 || len(two) != 1 || !reqctx.Valid(two[0]) || len(three) != 1 || three[0] != two[0] {
						t.Errorf("x-request-id of attempts 1, 2, 3: %q, %q, %q; want none, then one new id twice", one, two, three)
					}
				}
			})
		})
	}
}

// TestStreamRetriesKeepOneRequestID: a stream retried before commit sends
// one id on its later attempts.
func TestStreamRetriesKeepOneRequestID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sent sentIDs
		svc := &grpctest.Service{ServerStreamFunc: func(req *testpb.ServerStreamRequest, s grpc.ServerStreamingServer[testpb.ServerStreamResponse]) error {
			if sent.add(s.Context()) <= 2 {
				return status.Error(codes.Unavailable, "down")
			}
			return s.Send(&testpb.ServerStreamResponse{})
		}}
		env, _ := start(t, svc, setup{retry: []retry.Option{noJitter}})
		stream, err := env.Client.ServerStream(t.Context(), &testpb.ServerStreamRequest{Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != io.EOF {
			t.Fatalf("Recv = %v; want io.EOF", err)
		}
		two, three := sent.get(2), sent.get(3)
		if len(sent.get(1)) != 0 || len(two) != 1 || !reqctx.Valid(two[0]) || len(three) != 1 || three[0] != two[0] {
			t.Errorf("x-request-id of attempts 1, 2, 3: %q, %q, %q; want none, then one id twice", sent.get(1), two, three)
		}
	})
}

// TestHedgesKeepOneRequestID: the hedges of a call share one id.
func TestHedgesKeepOneRequestID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sent sentIDs
		svc := &grpctest.Service{UnaryFunc: func(ctx context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			if sent.add(ctx) < 3 {
				<-ctx.Done() // a slow replica, until the call cancels it
				return nil, ctx.Err()
			}
			return &testpb.UnaryResponse{}, nil
		}}
		env, _ := start(t, svc, setup{retry: []retry.Option{retry.WithHedging(50*time.Millisecond, 3)}})
		if _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}); err != nil {
			t.Fatal(err)
		}
		two, three := sent.get(2), sent.get(3)
		if len(two) != 1 || !reqctx.Valid(two[0]) || len(three) != 1 || three[0] != two[0] {
			t.Errorf("x-request-id of hedges 2, 3: %q, %q; want one id twice", two, three)
		}
	})
}
