package concurrency_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/internal/attempt"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// client starts svc and a client whose calls go through l.
func client(t *testing.T, l *concurrency.Limiter, svc *grpctest.Service, inner ...grpc.UnaryClientInterceptor) *grpctest.Env {
	t.Helper()
	return grpctest.Start(t, svc, grpctest.Options{Dial: []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(append([]grpc.UnaryClientInterceptor{l.UnaryClientInterceptor()}, inner...)...),
		grpc.WithChainStreamInterceptor(l.StreamClientInterceptor()),
	}})
}

func TestClientBulkheadRejectsLocally(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		obs := &events{}
		l := newLimiter(t, concurrency.WithLimit(2), concurrency.WithObserver(obs.observer()))
		g := newGate()
		defer g.release()
		svc := &grpctest.Service{UnaryFunc: func(_ context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			return g.unary(req)
		}}
		env := client(t, l, svc)
		for range 2 {
			go env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
		}
		synctest.Wait()
		start := time.Now()
		_, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
		if time.Since(start) != 0 {
			t.Errorf("rejection took %v; want 0", time.Since(start))
		}
		if !errors.Is(err, outcome.ErrLocalReject) || !errors.Is(err, concurrency.ErrRejected) {
			t.Fatalf("err = %v; want a local reject", err)
		}
		if o := outcome.Default(t.Context(), outcome.Attempt{Err: err}); o != outcome.LocalReject {
			t.Errorf("outcome = %v; want local_reject (never counted by a breaker)", o)
		}
		if o := outcome.Default(t.Context(), outcome.Attempt{Err: err}); o == outcome.Success || attempt.Failure(o) {
			t.Error("a breaker would count the rejection")
		}
		if got := rejection(err); got != "limit" || !strings.Contains(err.Error(), "client rejected "+unaryMethod) {
			t.Errorf("rejection = %q (%v); want a client limit rejection of %s", got, err, unaryMethod)
		}
		st := status.Convert(err)
		if st.Code() != codes.ResourceExhausted {
			t.Errorf("code = %v; want ResourceExhausted", st.Code())
		}
		if ae, ok := errdetails.FromError(st.Err()); !ok || ae.Code != errdetails.CodeClientConcurrencyLimit || ae.Retryable || !ae.Unprocessed {
			t.Errorf("details = %+v, %v", ae, ok)
		}
		if n := svc.Calls("Unary"); n != 2 {
			t.Errorf("%d calls reached the server; want 2 (the rejection never left)", n)
		}
		obs.mu.Lock()
		if len(obs.rejects) != 1 || obs.rejects[0].Target != "passthrough:///bufnet" || obs.rejects[0].InFlight != 2 {
			t.Errorf("reject events = %+v", obs.rejects)
		}
		obs.mu.Unlock()
	})
}

func TestAcquireWaitReasons(t *testing.T) {
	tests := []struct {
		name    string
		ctx     func(context.Context) (context.Context, context.CancelFunc)
		cancel  bool
		reason  string
		is      error
		code    codes.Code
		elapsed time.Duration
	}{
		{
			name: "deadline",
			ctx: func(c context.Context) (context.Context, context.CancelFunc) {
				return context.WithTimeout(c, 20*time.Millisecond)
			},
			reason:  "deadline",
			is:      context.DeadlineExceeded,
			code:    codes.DeadlineExceeded,
			elapsed: 20 * time.Millisecond,
		},
		{
			name:    "canceled",
			ctx:     func(c context.Context) (context.Context, context.CancelFunc) { return context.WithCancel(c) },
			cancel:  true,
			reason:  "canceled",
			is:      context.Canceled,
			code:    codes.Canceled,
			elapsed: 5 * time.Millisecond,
		},
		{
			name:    "max wait",
			ctx:     func(c context.Context) (context.Context, context.CancelFunc) { return context.WithCancel(c) },
			reason:  "queue_timeout",
			is:      outcome.ErrLocalReject,
			code:    codes.ResourceExhausted,
			elapsed: 50 * time.Millisecond,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				obs := &events{}
				l := newLimiter(t, concurrency.WithLimit(1), concurrency.WithQueue(1, 50*time.Millisecond), concurrency.WithObserver(obs.observer()))
				held, err := l.Acquire(t.Context(), unaryMethod)
				if err != nil {
					t.Fatal(err)
				}
				defer held.Release()
				ctx, cancel := tc.ctx(t.Context())
				defer cancel()
				if tc.cancel {
					time.AfterFunc(5*time.Millisecond, cancel)
				}
				start := time.Now()
				_, err = l.Acquire(ctx, unaryMethod)
				if el := time.Since(start); el != tc.elapsed {
					t.Errorf("waited %v; want %v", el, tc.elapsed)
				}
				if rejection(err) != tc.reason || !errors.Is(err, tc.is) || !errors.Is(err, outcome.ErrLocalReject) {
					t.Fatalf("err = %v; want reason %v matching %v", err, tc.reason, tc.is)
				}
				if status.Code(err) != tc.code {
					t.Errorf("code = %v; want %v", status.Code(err), tc.code)
				}
				obs.mu.Lock()
				defer obs.mu.Unlock()
				if len(obs.waits) != 1 || obs.waits[0].Acquired || obs.waits[0].Waited != tc.elapsed {
					t.Errorf("wait events = %+v", obs.waits)
				}
			})
		})
	}
}

// TestClientReleasesPermitOnEveryPath ends client calls in every way and
// checks the permit of a limit of 1 comes back each time.
func TestClientReleasesPermitOnEveryPath(t *testing.T) {
	tests := []struct {
		name string
		run  func(ctx context.Context, cancel context.CancelFunc, c testpb.TestServiceClient)
	}{
		{"unary success", func(ctx context.Context, _ context.CancelFunc, c testpb.TestServiceClient) {
			_, _ = c.Unary(ctx, &testpb.UnaryRequest{})
		}},
		{"unary error", func(ctx context.Context, _ context.CancelFunc, c testpb.TestServiceClient) {
			_, _ = c.UnaryUnsafe(ctx, &testpb.UnaryUnsafeRequest{})
		}},
		{"unary invoker panics", func(ctx context.Context, _ context.CancelFunc, c testpb.TestServiceClient) {
			defer func() { _ = recover() }()
			_, _ = c.Unary(ctx, &testpb.UnaryRequest{Text: "panic"})
		}},
		{"server stream read to the end", func(ctx context.Context, _ context.CancelFunc, c testpb.TestServiceClient) {
			s, err := c.ServerStream(ctx, &testpb.ServerStreamRequest{Count: 3})
			for err == nil {
				_, err = s.Recv()
			}
		}},
		{"server stream abandoned, context cancelled", func(ctx context.Context, cancel context.CancelFunc, c testpb.TestServiceClient) {
			s, err := c.ServerStream(ctx, &testpb.ServerStreamRequest{Count: 3})
			if err == nil {
				_, _ = s.Recv()
			}
			cancel()
		}},
		{"client stream", func(ctx context.Context, _ context.CancelFunc, c testpb.TestServiceClient) {
			s, err := c.ClientStream(ctx)
			if err == nil {
				_ = s.Send(&testpb.ClientStreamRequest{Text: "a"})
				_, _ = s.CloseAndRecv()
			}
		}},
		{"bidi ends with an error", func(ctx context.Context, _ context.CancelFunc, c testpb.TestServiceClient) {
			s, err := c.BidiStream(ctx)
			if err == nil {
				_ = s.Send(&testpb.BidiStreamRequest{Text: "fail"})
				for err == nil {
					_, err = s.Recv()
				}
			}
		}},
		{"stream on a cancelled context", func(ctx context.Context, cancel context.CancelFunc, c testpb.TestServiceClient) {
			cancel()
			_, _ = c.BidiStream(ctx)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newLimiter(t, concurrency.WithLimit(1))
				svc := &grpctest.Service{
					UnaryUnsafeFunc: func(context.Context, *testpb.UnaryUnsafeRequest) (*testpb.UnaryUnsafeResponse, error) {
						return nil, status.Error(codes.Internal, "x")
					},
					BidiStreamFunc: func(s grpc.BidiStreamingServer[testpb.BidiStreamRequest, testpb.BidiStreamResponse]) error {
						if _, err := s.Recv(); err != nil {
							return err
						}
						return status.Error(codes.Aborted, "x")
					},
				}
				panicky := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
					if r, ok := req.(*testpb.UnaryRequest); ok && r.GetText() == "panic" {
						panic(errBoom)
					}
					return invoker(ctx, method, req, reply, cc, opts...)
				}
				env := client(t, l, svc, panicky)
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				tc.run(ctx, cancel, env.Client)
				synctest.Wait()
				if s := l.Stats(); s.InFlight != 0 {
					t.Fatalf("in flight after the call = %d; want 0 (a permit leaked)", s.InFlight)
				}
				if _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}); err != nil {
					t.Errorf("next call: %v", err)
				}
			})
		})
	}
}

func TestClientStreamHoldsPermitUntilItEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, concurrency.WithLimit(1))
		env := client(t, l, &grpctest.Service{})
		s, err := env.Client.BidiStream(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range []string{"a", "b"} {
			if err := s.Send(&testpb.BidiStreamRequest{Text: text}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Recv(); err != nil {
				t.Fatal(err)
			}
			if _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}); !errors.Is(err, outcome.ErrLocalReject) {
				t.Fatalf("call beside an open stream: %v; want a local reject", err)
			}
		}
		if err := s.CloseSend(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Recv(); err != io.EOF {
			t.Fatalf("Recv = %v; want io.EOF", err)
		}
		if l.Stats().InFlight != 0 {
			t.Fatalf("in flight = %d after io.EOF; want 0 at once", l.Stats().InFlight)
		}
	})
}
