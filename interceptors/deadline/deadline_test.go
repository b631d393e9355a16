package deadline_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/boundary"
	"github.com/bulwarkrpc/bulwark/interceptors/deadline"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder records the time left before the deadline of the contexts its
// handlers see; -1 for no deadline.
type recorder struct {
	mu   sync.Mutex
	left []time.Duration
}

func (r *recorder) note(ctx context.Context) {
	left := time.Duration(-1)
	if dl, ok := ctx.Deadline(); ok {
		left = time.Until(dl)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.left = append(r.left, left)
}

func (r *recorder) last() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.left[len(r.left)-1]
}

func (r *recorder) service() *grpctest.Service {
	return &grpctest.Service{
		UnaryFunc: func(ctx context.Context, _ *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			r.note(ctx)
			return &testpb.UnaryResponse{}, nil
		},
		BidiStreamFunc: func(s grpc.BidiStreamingServer[testpb.BidiStreamRequest, testpb.BidiStreamResponse]) error {
			r.note(s.Context())
			return nil
		},
	}
}

// events records an Observer's events.
type events struct {
	mu       sync.Mutex
	defaults []deadline.DefaultEvent
	rejects  []deadline.RejectEvent
	adjusts  []deadline.AdjustEvent
}

// observer returns the Observer whose hooks record into e.
func (e *events) observer() deadline.Observer {
	return deadline.Observer{
		OnDefault: func(_ context.Context, ev deadline.DefaultEvent) { add(&e.mu, &e.defaults, ev) },
		OnReject:  func(_ context.Context, ev deadline.RejectEvent) { add(&e.mu, &e.rejects, ev) },
		OnAdjust:  func(_ context.Context, ev deadline.AdjustEvent) { add(&e.mu, &e.adjusts, ev) },
	}
}

func add[E any](mu *sync.Mutex, to *[]E, ev E) {
	mu.Lock()
	defer mu.Unlock()
	*to = append(*to, ev)
}

func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

func newPolicy(t testing.TB, opts ...deadline.Option) *deadline.Policy {
	t.Helper()
	p, err := deadline.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClientDefaultTimeout(t *testing.T) {
	tests := []struct {
		name     string
		opts     []deadline.Option
		caller   time.Duration // 0: no deadline
		stream   bool
		want     time.Duration // -1: no deadline
		defaults int
	}{
		{name: "none set: default", caller: 0, want: 10 * time.Second, defaults: 1},
		{name: "earlier kept", caller: 2 * time.Second, want: 2 * time.Second},
		{name: "later kept", caller: time.Minute, want: time.Minute},
		{name: "default off", opts: []deadline.Option{deadline.WithDefaultTimeout(0, 0)}, want: -1},
		{name: "custom default", opts: []deadline.Option{deadline.WithDefaultTimeout(3*time.Second, 0)}, want: 3 * time.Second, defaults: 1},
		{name: "stream: none by default", stream: true, want: -1},
		{name: "stream timeout", stream: true, opts: []deadline.Option{deadline.WithDefaultTimeout(10*time.Second, 5*time.Second)}, want: 5 * time.Second, defaults: 1},
		{name: "stream: caller's kept", stream: true, caller: time.Second, opts: []deadline.Option{deadline.WithDefaultTimeout(10*time.Second, 5*time.Second)}, want: time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				obs := &events{}
				p := newPolicy(t, append(tc.opts, deadline.WithObserver(obs.observer()))...)
				rec := &recorder{}
				env := grpctest.Start(t, rec.service(), grpctest.Options{Dial: []grpc.DialOption{
					grpc.WithChainUnaryInterceptor(p.UnaryClientInterceptor()),
					grpc.WithChainStreamInterceptor(p.StreamClientInterceptor()),
				}})
				ctx, cancel := withTimeout(t.Context(), tc.caller)
				defer cancel()
				if tc.stream {
					s, err := env.Client.BidiStream(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := s.Recv(); err != io.EOF {
						t.Fatalf("Recv = %v; want io.EOF", err)
					}
				} else if _, err := env.Client.Unary(ctx, &testpb.UnaryRequest{}); err != nil {
					t.Fatal(err)
				}
				if got := rec.last(); got != tc.want {
					t.Errorf("handler's time left = %v; want %v", got, tc.want)
				}
				obs.mu.Lock()
				defer obs.mu.Unlock()
				if len(obs.defaults) != tc.defaults {
					t.Fatalf("OnDefault called %d times; want %d", len(obs.defaults), tc.defaults)
				}
				if tc.defaults > 0 && (obs.defaults[0].Timeout != tc.want || obs.defaults[0].Target != "passthrough:///bufnet") {
					t.Errorf("OnDefault(%+v)", obs.defaults[0])
				}
			})
		})
	}
}

func TestClientDefaultTimeoutEndsCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := grpctest.Start(t, &grpctest.Service{UnaryFunc: func(ctx context.Context, _ *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}}, grpctest.Options{Dial: []grpc.DialOption{grpc.WithChainUnaryInterceptor(newPolicy(t).UnaryClientInterceptor())}})
		start := time.Now()
		_, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
		if status.Code(err) != codes.DeadlineExceeded || time.Since(start) != 10*time.Second {
			t.Fatalf("call ended after %v with %v; want DEADLINE_EXCEEDED after 10s", time.Since(start), err)
		}
	})
}

// server starts rec's service behind the boundary and p's interceptors.
func server(t *testing.T, p *deadline.Policy, svc *grpctest.Service) *grpctest.Env {
	t.Helper()
	b, err := boundary.New(boundary.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	return grpctest.Start(t, svc, grpctest.Options{Server: []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(b.UnaryServerInterceptor(), p.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(b.StreamServerInterceptor(), p.StreamServerInterceptor()),
	}})
}

func TestServerRejectsTooShort(t *testing.T) {
	tests := []struct {
		name   string
		opts   []deadline.Option
		caller time.Duration // 0: no deadline
		reject bool
		left   float64 // remainingMs sent when rejected
	}{
		{name: "half a millisecond", caller: 500 * time.Microsecond, reject: true, left: 0.5},
		{name: "exactly the minimum", caller: time.Millisecond, reject: true, left: 1},
		{name: "enough", caller: 2 * time.Millisecond},
		{name: "no deadline", caller: 0},
		{name: "custom minimum", opts: []deadline.Option{deadline.WithMinRemaining(50 * time.Millisecond)}, caller: 40 * time.Millisecond, reject: true, left: 40},
		{name: "shave leaves too little", opts: []deadline.Option{deadline.WithShave(100*time.Millisecond, 0)}, caller: 100 * time.Millisecond, reject: true, left: 0},
	}
	for _, tc := range tests {
		for _, stream := range []bool{false, true} {
			name := tc.name + "/unary"
			if stream {
				name = tc.name + "/stream"
			}
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					obs := &events{}
					p := newPolicy(t, append(tc.opts, deadline.WithObserver(obs.observer()))...)
					rec := &recorder{}
					svc := rec.service()
					env := server(t, p, svc)
					ctx, cancel := withTimeout(t.Context(), tc.caller)
					defer cancel()
					start := time.Now()
					var err error
					if stream {
						var s grpc.BidiStreamingClient[testpb.BidiStreamRequest, testpb.BidiStreamResponse]
						if s, err = env.Client.BidiStream(ctx); err == nil {
							if _, err = s.Recv(); err == io.EOF {
								err = nil
							}
						}
					} else {
						_, err = env.Client.Unary(ctx, &testpb.UnaryRequest{})
					}
					if !tc.reject {
						if err != nil {
							t.Fatalf("call failed: %v", err)
						}
						return
					}
					if time.Since(start) != 0 {
						t.Errorf("rejection took %v; want 0", time.Since(start))
					}
					if n := svc.Calls("Unary") + svc.Calls("BidiStream"); n != 0 {
						t.Errorf("%d calls reached the handler", n)
					}
					st := status.Convert(err)
					ae, ok := errdetails.FromError(st.Err())
					if st.Code() != codes.DeadlineExceeded || !ok || ae.Code != errdetails.CodeDeadlineTooShort {
						t.Fatalf("err = %v (%+v); want DEADLINE_EXCEEDED with DEADLINE_TOO_SHORT", err, ae)
					}
					if !ae.Unprocessed || ae.Retryable || ae.Domain != "bulwark.testing.v1.TestService" {
						t.Errorf("details %+v; want unprocessed, not retryable, with the service as domain", ae)
					}
					if ae.Details["remainingMs"] != tc.left || ae.Details["minimumMs"] == nil {
						t.Errorf("details %v; want remainingMs %v", ae.Details, tc.left)
					}
					obs.mu.Lock()
					defer obs.mu.Unlock()
					if len(obs.rejects) != 1 || obs.rejects[0].Remaining != tc.caller {
						t.Errorf("OnReject events %+v", obs.rejects)
					}
				})
			})
		}
	}
}

func TestServerCapAndShave(t *testing.T) {
	cap5 := deadline.WithMaxDeadline(5 * time.Second)
	shave := deadline.WithShave(100*time.Millisecond, 0)
	tests := []struct {
		name   string
		opts   []deadline.Option
		caller time.Duration // 0: none
		want   time.Duration // -1: none
	}{
		{"cap: no deadline", []deadline.Option{cap5}, 0, 5 * time.Second},
		{"cap: later deadline", []deadline.Option{cap5}, 10 * time.Second, 5 * time.Second},
		{"cap: earlier deadline", []deadline.Option{cap5}, 2 * time.Second, 2 * time.Second},
		{"shave", []deadline.Option{shave}, time.Second, 900 * time.Millisecond},
		{"shave short", []deadline.Option{shave}, 150 * time.Millisecond, 50 * time.Millisecond},
		{"shave: no deadline", []deadline.Option{shave}, 0, -1},
		{"fraction", []deadline.Option{deadline.WithShave(0, 0.1)}, time.Second, 900 * time.Millisecond},
		{"fraction long", []deadline.Option{deadline.WithShave(0, 0.1)}, 10 * time.Second, 9 * time.Second},
		{"larger shave wins: fixed", []deadline.Option{deadline.WithShave(100*time.Millisecond, 0.05)}, time.Second, 900 * time.Millisecond},
		{"larger shave wins: fraction", []deadline.Option{deadline.WithShave(100*time.Millisecond, 0.05)}, 10 * time.Second, 9500 * time.Millisecond},
		{"cap and shave: cap", []deadline.Option{cap5, shave}, 10 * time.Second, 5 * time.Second},
		{"cap and shave: shave", []deadline.Option{cap5, shave}, time.Second, 900 * time.Millisecond},
		{"nothing set", nil, time.Second, time.Second},
	}
	for _, tc := range tests {
		for _, stream := range []bool{false, true} {
			name := tc.name + "/unary"
			if stream {
				name = tc.name + "/stream"
			}
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					obs := &events{}
					p := newPolicy(t, append(tc.opts, deadline.WithObserver(obs.observer()))...)
					rec := &recorder{}
					env := server(t, p, rec.service())
					ctx, cancel := withTimeout(t.Context(), tc.caller)
					defer cancel()
					if stream {
						s, err := env.Client.BidiStream(ctx)
						if err != nil {
							t.Fatal(err)
						}
						if _, err := s.Recv(); err != io.EOF {
							t.Fatalf("Recv = %v", err)
						}
					} else if _, err := env.Client.Unary(ctx, &testpb.UnaryRequest{}); err != nil {
						t.Fatal(err)
					}
					if got := rec.last(); got != tc.want {
						t.Errorf("handler's time left = %v; want %v", got, tc.want)
					}
					obs.mu.Lock()
					defer obs.mu.Unlock()
					adjusted := tc.want >= 0 && tc.want != tc.caller
					if adjusted != (len(obs.adjusts) == 1) || (adjusted && obs.adjusts[0].Given != tc.want) {
						t.Errorf("OnAdjust events %+v; adjusted %v", obs.adjusts, adjusted)
					}
				})
			})
		}
	}
}

// TestShavedHandlerCanStillAnswer: the handler's downstream call gives up
// at the shaved deadline, leaving it time to answer its caller with a
// fallback before the caller's own deadline.
func TestShavedHandlerCanStillAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := grpctest.Start(t, &grpctest.Service{UnaryFunc: func(ctx context.Context, _ *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}}, grpctest.Options{})
		p := newPolicy(t, deadline.WithShave(100*time.Millisecond, 0))
		front := server(t, p, &grpctest.Service{UnaryFunc: func(ctx context.Context, _ *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			if _, err := slow.Client.Unary(ctx, &testpb.UnaryRequest{}); status.Code(err) != codes.DeadlineExceeded {
				return nil, err
			}
			return &testpb.UnaryResponse{Text: "fallback"}, nil
		}})
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		resp, err := front.Client.Unary(ctx, &testpb.UnaryRequest{})
		if err != nil || resp.GetText() != "fallback" {
			t.Fatalf("call = %v, %v; want the handler's fallback", resp, err)
		}
		if el := time.Since(start); el != 900*time.Millisecond {
			t.Errorf("answered after %v; want 900ms (the shaved deadline)", el)
		}
	})
}

func TestTooShortError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		icpt := newPolicy(t).UnaryServerInterceptor()
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond/2)
		defer cancel()
		_, err := icpt(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/s.S/M"}, func(context.Context, any) (any, error) {
			t.Error("handler ran")
			return nil, nil
		})
		var ae *errdetails.ApplicationError
		if !errors.As(err, &ae) || ae.Code != errdetails.CodeDeadlineTooShort {
			t.Fatalf("err = %T %v; want one that converts to DEADLINE_TOO_SHORT", err, err)
		}
		if ae.Domain != "s.S" || ae.Details["remainingMs"] != 0.5 || ae.Details["minimumMs"] != 1.0 || !ae.Unprocessed || ae.Retryable {
			t.Errorf("ApplicationError %+v", ae)
		}
		if st := status.Convert(err); st.Code() != codes.DeadlineExceeded {
			t.Errorf("status %v; want DEADLINE_EXCEEDED", st)
		}
		if want := "deadline: /s.S/M refused: 500µs left, want more than 1ms"; err.Error() != want {
			t.Errorf("Error() = %q; want %q", err.Error(), want)
		}
		if _, ok := errdetails.FromError(err); !ok {
			t.Error("FromError found no application error")
		}
	})
}

func TestNewRefusesInvalidOptions(t *testing.T) {
	tests := []struct {
		opt  deadline.Option
		want string
	}{
		{deadline.WithDefaultTimeout(-1, 0), "deadline: WithDefaultTimeout(-1ns, 0s): must not be negative"},
		{deadline.WithDefaultTimeout(0, -time.Second), "deadline: WithDefaultTimeout(0s, -1s)"},
		{deadline.WithMinRemaining(-time.Second), "deadline: WithMinRemaining(-1s)"},
		{deadline.WithMaxDeadline(-time.Second), "deadline: WithMaxDeadline(-1s)"},
		{deadline.WithShave(-time.Second, 0), "deadline: WithShave(-1s, 0)"},
		{deadline.WithShave(0, 1), "deadline: WithShave(0s, 1): d must not be negative and f must be in [0, 1)"},
		{deadline.WithShave(0, -0.1), "deadline: WithShave(0s, -0.1)"},
		{nil, "deadline: nil Option"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if _, err := deadline.New(tc.opt); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("New = %v; want %q", err, tc.want)
			}
		})
	}
	// Every invalid option is reported, each naming itself.
	_, err := deadline.New(deadline.WithMinRemaining(-1), nil, deadline.WithMaxDeadline(-1))
	for _, want := range []string{"deadline: WithMinRemaining(-1ns)", "deadline: nil Option", "deadline: WithMaxDeadline(-1ns)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New with three invalid options = %v; want it to contain %q", err, want)
		}
	}
}
