package circuit_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/boundary"
	"github.com/bulwarkrpc/bulwark/interceptors/circuit"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/interceptors/requestid"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/retrystate"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
	"github.com/bulwarkrpc/bulwark/internal/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	target        = "passthrough:///bufnet"
	unaryM        = "/bulwark.testing.v1.TestService/Unary"
	unaryUnsafeM  = "/bulwark.testing.v1.TestService/UnaryUnsafe"
	serverStreamM = "/bulwark.testing.v1.TestService/ServerStream"
	bidiM         = "/bulwark.testing.v1.TestService/BidiStream"
)

var errDown = status.Error(codes.Unavailable, "dependency down")

// trips builds breakers that open after n consecutive failures (no rate
// rule), stay open exactly 5 s, and close after one successful probe, which
// is the only one allowed at a time.
func trips(n int) circuit.Option {
	return circuit.WithBreakerOptions(breaker.WithTimeWindow(0, 0), breaker.WithConsecutiveFailures(n),
		breaker.WithOpenJitter(0), breaker.WithOpenDuration(5*time.Second, time.Minute),
		breaker.WithHalfOpen(1, 1))
}

// recObserver records what the Circuit reports.
type recObserver struct {
	mu      sync.Mutex
	changes []string
	calls   map[string]int
	rejects []string
}

// observer returns the Observer whose hooks record into o.
func (o *recObserver) observer() circuit.Observer {
	return circuit.Observer{OnStateChange: o.OnStateChange, OnCall: o.OnCall, OnReject: o.OnReject}
}

func (o *recObserver) OnStateChange(_ context.Context, e circuit.StateEvent) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.changes = append(o.changes, fmt.Sprintf("%s %s %v>%v", e.Target, e.Method, e.From, e.To))
}

func (o *recObserver) OnCall(_ context.Context, e circuit.CallEvent) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.calls == nil {
		o.calls = map[string]int{}
	}
	o.calls[fmt.Sprintf("%s %s %v", e.Target, e.Method, e.Outcome)]++
}

func (o *recObserver) OnReject(_ context.Context, e circuit.RejectEvent) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.rejects = append(o.rejects, e.Target+" "+e.Method)
}

func (o *recObserver) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return fmt.Sprintf("changes %q calls %v rejects %d", o.changes, o.calls, len(o.rejects))
}

func newCircuit(t *testing.T, opts ...circuit.Option) *circuit.Circuit {
	t.Helper()
	c, err := circuit.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// startClient serves svc with the circuit on the client.
func startClient(t *testing.T, svc *grpctest.Service, c *circuit.Circuit) *grpctest.Env {
	t.Helper()
	return grpctest.Start(t, svc, grpctest.Options{Dial: []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(c.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(c.StreamClientInterceptor()),
	}})
}

// startServer serves svc with the circuit on the server.
func startServer(t *testing.T, svc *grpctest.Service, c *circuit.Circuit) *grpctest.Env {
	t.Helper()
	return grpctest.Start(t, svc, grpctest.Options{Server: []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(c.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(c.StreamServerInterceptor()),
	}})
}

func unary(env *grpctest.Env) error {
	_, err := env.Client.Unary(context.Background(), &testpb.UnaryRequest{Text: "hi"})
	return err
}

// wantOpen checks that err is a circuit rejection with the given remaining
// open time (0: no RetryInfo).
func wantOpen(t *testing.T, err error, remaining time.Duration) {
	t.Helper()
	if err == nil {
		t.Fatal("call allowed, want a CIRCUIT_OPEN rejection")
	}
	if !errors.Is(err, breaker.ErrOpen) || !errors.Is(err, outcome.ErrLocalReject) {
		t.Fatalf("%v: does not match breaker.ErrOpen and outcome.ErrLocalReject", err)
	}
	var oe *breaker.OpenError
	if !errors.As(err, &oe) {
		t.Fatalf("%T does not wrap a *breaker.OpenError", err)
	}
	st := status.Convert(err)
	if st.Code() != codes.Unavailable {
		t.Fatalf("code = %v, want UNAVAILABLE", st.Code())
	}
	ae, ok := errdetails.FromError(st.Err())
	if !ok || ae.Code != errdetails.CodeCircuitOpen || !ae.Unprocessed || !ae.Retryable {
		t.Fatalf("details = %+v, want CIRCUIT_OPEN, unprocessed, retryable", ae)
	}
	delay, ok := wire.RetryDelay(err)
	if remaining == 0 {
		if ok {
			t.Fatalf("RetryInfo %v, want none", delay)
		}
		return
	}
	if !ok || delay != remaining {
		t.Fatalf("RetryInfo = %v (%v), want %v", delay, ok, remaining)
	}
	if oe.RefusesFor() != remaining {
		t.Fatalf("RefusesFor = %v, want %v", oe.RefusesFor(), remaining)
	}
}

func TestClientTripsFailsFastAndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var down atomic.Bool
		down.Store(true)
		svc := &grpctest.Service{UnaryFunc: func(_ context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			if down.Load() {
				return nil, errDown
			}
			return &testpb.UnaryResponse{Text: req.GetText()}, nil
		}}
		obs := &recObserver{}
		c := newCircuit(t, trips(3), circuit.WithObserver(obs.observer()), circuit.WithBreakerOptions(breaker.WithHalfOpen(3, 2)))
		env := startClient(t, svc, c)

		for i := range 3 {
			if err := unary(env); status.Code(err) != codes.Unavailable || errors.Is(err, breaker.ErrOpen) {
				t.Fatalf("call %d: %v, want the server's UNAVAILABLE", i, err)
			}
		}
		time.Sleep(2 * time.Second)
		for range 5 {
			wantOpen(t, unary(env), 3*time.Second)
		}
		_, err := env.Client.ServerStream(context.Background(), &testpb.ServerStreamRequest{Count: 1})
		wantOpen(t, err, 3*time.Second)
		if n := svc.Calls("Unary") + svc.Calls("ServerStream"); n != 3 {
			t.Fatalf("%d calls reached the server, want 3", n)
		}

		down.Store(false)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if s := c.ClientBreaker(target, unaryM).State(); s != breaker.StateHalfOpen {
			t.Fatalf("state = %v, want half_open", s)
		}
		for range 2 {
			if err := unary(env); err != nil {
				t.Fatalf("probe: %v", err)
			}
		}
		if s := c.ClientBreaker(target, "").State(); s != breaker.StateClosed {
			t.Fatalf("state = %v, want closed", s)
		}
		if n := svc.Calls("Unary"); n != 5 {
			t.Fatalf("%d calls reached the server, want 5", n)
		}
		want := `changes ["passthrough:///bufnet  closed>open" "passthrough:///bufnet  open>half_open" "passthrough:///bufnet  half_open>closed"] ` +
			`calls map[passthrough:///bufnet /bulwark.testing.v1.TestService/Unary retryable_failure:3 passthrough:///bufnet /bulwark.testing.v1.TestService/Unary success:2] rejects 6`
		if got := obs.String(); got != want {
			t.Fatalf("observer:\n got %s\nwant %s", got, want)
		}
	})
}

// halfOpen trips the breaker of env's target with one failed unary call and
// waits for it to become half-open.
func halfOpen(t *testing.T, env *grpctest.Env, c *circuit.Circuit, down *atomic.Bool) {
	t.Helper()
	down.Store(true)
	if err := unary(env); status.Code(err) != codes.Unavailable {
		t.Fatalf("tripping call: %v", err)
	}
	down.Store(false)
	wantOpen(t, unary(env), 5*time.Second)
	time.Sleep(5 * time.Second)
	synctest.Wait()
	if s := c.ClientBreaker(target, "").State(); s != breaker.StateHalfOpen {
		t.Fatalf("state = %v, want half_open", s)
	}
}

func flakyService(down *atomic.Bool) *grpctest.Service {
	return &grpctest.Service{UnaryFunc: func(_ context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
		if down.Load() {
			return nil, errDown
		}
		return &testpb.UnaryResponse{Text: req.GetText()}, nil
	}}
}

func TestStreamHoldsPermitUntilItEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var down atomic.Bool
		svc := flakyService(&down)
		release := make(chan struct{})
		svc.ServerStreamFunc = func(req *testpb.ServerStreamRequest, stream grpc.ServerStreamingServer[testpb.ServerStreamResponse]) error {
			select {
			case <-release:
			case <-stream.Context().Done():
				return stream.Context().Err()
			}
			return stream.Send(&testpb.ServerStreamResponse{Text: req.GetText()})
		}
		c := newCircuit(t, trips(1))
		env := startClient(t, svc, c)
		halfOpen(t, env, c, &down)

		stream, err := env.Client.ServerStream(context.Background(), &testpb.ServerStreamRequest{Text: "probe", Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		wantOpen(t, unary(env), 0) // the stream holds the only probe
		synctest.Wait()
		wantOpen(t, unary(env), 0) // still, while it waits
		close(release)
		if m, err := stream.Recv(); err != nil || m.GetText() != "probe" {
			t.Fatalf("Recv = %v, %v", m, err)
		}
		if s := c.ClientBreaker(target, "").State(); s != breaker.StateHalfOpen {
			t.Fatalf("state after a message = %v, want half_open: the stream has not ended", s)
		}
		if _, err := stream.Recv(); err != io.EOF {
			t.Fatalf("Recv = %v, want EOF", err)
		}
		if s := c.ClientBreaker(target, "").State(); s != breaker.StateClosed {
			t.Fatalf("state after EOF = %v, want closed", s)
		}
		if err := unary(env); err != nil {
			t.Fatal(err)
		}
	})
}

func TestStreamReleasesPermitOnCancel(t *testing.T) {
	tests := []struct {
		name string
		// open opens a stream with ctx and exchanges a message on it.
		open func(t *testing.T, ctx context.Context, env *grpctest.Env)
	}{
		{"bidi stream", func(t *testing.T, ctx context.Context, env *grpctest.Env) {
			s, err := env.Client.BidiStream(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Send(&testpb.BidiStreamRequest{Text: "a"}); err != nil {
				t.Fatal(err)
			}
			if m, err := s.Recv(); err != nil || m.GetText() != "a" {
				t.Fatalf("Recv = %v, %v", m, err)
			}
		}},
		{"server stream", func(t *testing.T, ctx context.Context, env *grpctest.Env) {
			s, err := env.Client.ServerStream(ctx, &testpb.ServerStreamRequest{Text: "a", Count: 5})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Recv(); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var down atomic.Bool
				svc := flakyService(&down)
				svc.ServerStreamFunc = func(req *testpb.ServerStreamRequest, stream grpc.ServerStreamingServer[testpb.ServerStreamResponse]) error {
					if err := stream.Send(&testpb.ServerStreamResponse{Text: req.GetText()}); err != nil {
						return err
					}
					<-stream.Context().Done() // the rest never comes
					return stream.Context().Err()
				}
				obs := &recObserver{}
				c := newCircuit(t, trips(1), circuit.WithObserver(obs.observer()))
				env := startClient(t, svc, c)
				halfOpen(t, env, c, &down)

				ctx, cancel := context.WithCancel(context.Background())
				tc.open(t, ctx, env)
				wantOpen(t, unary(env), 0) // the stream holds the only probe
				cancel()                   // and the caller walks away without reading again
				synctest.Wait()
				b := c.ClientBreaker(target, "")
				if s := b.State(); s != breaker.StateHalfOpen {
					t.Fatalf("state after cancel = %v, want half_open (a cancel is not counted)", s)
				}
				if p := b.Counts().Probes; p != 0 {
					t.Fatalf("%d probes in flight after cancel, want 0", p)
				}
				if err := unary(env); err != nil { // the permit is back: this call probes
					t.Fatalf("probe after cancel: %v", err)
				}
				if s := b.State(); s != breaker.StateClosed {
					t.Fatalf("state = %v, want closed", s)
				}
				if !strings.Contains(obs.String(), "ignored:1") {
					t.Fatalf("observer: %s, want the stream reported as ignored", obs)
				}
			})
		})
	}
}

func TestClientStreamIsJudgedByItsResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var down atomic.Bool
		c := newCircuit(t, trips(1))
		env := startClient(t, flakyService(&down), c)
		halfOpen(t, env, c, &down)
		s, err := env.Client.ClientStream(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range []string{"a", "b"} {
			if err := s.Send(&testpb.ClientStreamRequest{Text: text}); err != nil {
				t.Fatal(err)
			}
		}
		wantOpen(t, unary(env), 0)
		if m, err := s.CloseAndRecv(); err != nil || m.GetCount() != 2 {
			t.Fatalf("CloseAndRecv = %v, %v", m, err)
		}
		if st := c.ClientBreaker(target, "").State(); st != breaker.StateClosed {
			t.Fatalf("state = %v, want closed", st)
		}
	})
}

func TestStreamFailureCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := &grpctest.Service{BidiStreamFunc: func(grpc.BidiStreamingServer[testpb.BidiStreamRequest, testpb.BidiStreamResponse]) error {
			return errDown
		}}
		c := newCircuit(t, trips(2))
		env := startClient(t, svc, c)
		for range 2 {
			s, err := env.Client.BidiStream(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Recv(); status.Code(err) != codes.Unavailable {
				t.Fatalf("Recv = %v", err)
			}
		}
		_, err := env.Client.BidiStream(context.Background())
		wantOpen(t, err, 5*time.Second)
		if n := svc.Calls("BidiStream"); n != 2 {
			t.Fatalf("%d streams reached the server, want 2", n)
		}
	})
}

func TestHealthyOutcomesNeverTrip(t *testing.T) {
	tests := []struct {
		name    string
		handler func(context.Context) error
		call    func(env *grpctest.Env) error
		want    codes.Code
		trips   bool
	}{
		{
			name:    "INVALID_ARGUMENT",
			handler: func(context.Context) error { return status.Error(codes.InvalidArgument, "bad") },
			want:    codes.InvalidArgument,
		},
		{
			name:    "validation application error",
			handler: func(context.Context) error { return errdetails.Validation("email", "must contain @") },
			want:    codes.InvalidArgument,
		},
		{
			name:    "NOT_FOUND",
			handler: func(context.Context) error { return status.Error(codes.NotFound, "gone") },
			want:    codes.NotFound,
		},
		{
			name: "caller cancels",
			handler: func(ctx context.Context) error {
				<-ctx.Done()
				return ctx.Err()
			},
			call: func(env *grpctest.Env) error {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(time.Second, cancel)
				_, err := env.Client.Unary(ctx, &testpb.UnaryRequest{})
				return err
			},
			want: codes.Canceled,
		},
		{
			name: "caller's deadline expires",
			handler: func(ctx context.Context) error {
				<-ctx.Done()
				return ctx.Err()
			},
			call: func(env *grpctest.Env) error {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				_, err := env.Client.Unary(ctx, &testpb.UnaryRequest{})
				return err
			},
			want: codes.DeadlineExceeded,
		},
		{
			name:    "ABORTED",
			handler: func(context.Context) error { return status.Error(codes.Aborted, "conflict") },
			want:    codes.Aborted,
		},
		// Controls: the same setup trips on failures.
		{
			name:    "UNAVAILABLE trips",
			handler: func(context.Context) error { return errDown },
			want:    codes.Unavailable,
			trips:   true,
		},
		{
			name:    "server's DEADLINE_EXCEEDED trips",
			handler: func(context.Context) error { return status.Error(codes.DeadlineExceeded, "db timeout") },
			want:    codes.DeadlineExceeded,
			trips:   true,
		},
		{
			name: "not retryable application error on UNAVAILABLE trips",
			handler: func(context.Context) error {
				return func() *errdetails.ApplicationError {
					e := errdetails.New(errdetails.CodeDatabase, "db down")
					e.Retryable = false
					return e
				}()
			},
			want:  codes.Unavailable,
			trips: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				svc := &grpctest.Service{UnaryFunc: func(ctx context.Context, _ *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
					return nil, tc.handler(ctx)
				}}
				c := newCircuit(t, trips(1))
				env := startClient(t, svc, c)
				call := tc.call
				if call == nil {
					call = unary
				}
				for range 3 {
					err := call(env)
					if errors.Is(err, breaker.ErrOpen) {
						if !tc.trips {
							t.Fatalf("tripped: %v", err)
						}
						break
					}
					if status.Code(err) != tc.want {
						t.Fatalf("call: %v, want %v", err, tc.want)
					}
				}
				if s := c.ClientBreaker(target, "").State(); (s == breaker.StateOpen) != tc.trips {
					t.Fatalf("state = %v, want tripped %v", s, tc.trips)
				}
			})
		})
	}
}

func TestPerMethodIsolation(t *testing.T) {
	tests := []struct {
		perMethod  bool
		unsafeOpen bool
	}{
		{perMethod: true, unsafeOpen: false},
		{perMethod: false, unsafeOpen: true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("per method %v", tc.perMethod), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				svc := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
					return nil, errDown
				}}
				obs := &recObserver{}
				c := newCircuit(t, trips(2), circuit.WithPerMethod(tc.perMethod), circuit.WithObserver(obs.observer()))
				env := startClient(t, svc, c)
				for range 2 {
					_ = unary(env)
				}
				wantOpen(t, unary(env), 5*time.Second)
				_, err := env.Client.UnaryUnsafe(context.Background(), &testpb.UnaryUnsafeRequest{Text: "x"})
				if tc.unsafeOpen {
					wantOpen(t, err, 5*time.Second)
				} else if err != nil {
					t.Fatalf("UnaryUnsafe: %v, want it unaffected", err)
				}
				method := ""
				if tc.perMethod {
					method = unaryM
				}
				if !strings.Contains(obs.String(), fmt.Sprintf("%q", target+" "+method+" closed>open")) {
					t.Fatalf("observer: %s", obs)
				}
			})
		})
	}
}

func TestRegistryBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			return nil, errDown
		}}
		c := newCircuit(t, trips(1), circuit.WithPerMethod(true), circuit.WithMaxBreakers(2))
		env := startClient(t, svc, c)
		_ = unary(env)
		first := c.ClientBreaker(target, unaryM)
		if first.State() != breaker.StateOpen {
			t.Fatalf("state = %v", first.State())
		}
		if _, err := env.Client.UnaryUnsafe(context.Background(), &testpb.UnaryUnsafeRequest{}); err != nil {
			t.Fatal(err)
		}
		unsafe := c.ClientBreaker(target, "/bulwark.testing.v1.TestService/UnaryUnsafe")
		s, err := env.Client.ServerStream(context.Background(), &testpb.ServerStreamRequest{Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := s.Recv(); err != nil {
				break
			}
		}
		// A third breaker evicted a closed one, UnaryUnsafe's, and never the
		// open one: Unary is still refused without reaching the server.
		if err := unary(env); !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("Unary after the third breaker: %v, want the open breaker's refusal", err)
		}
		if n := svc.Calls("Unary"); n != 1 {
			t.Fatalf("%d calls reached Unary, want 1", n)
		}
		if c.ClientBreaker(target, unaryM) != first {
			t.Fatal("the open breaker was evicted")
		}
		// The evicted breaker's timers were stopped and it guards nothing.
		if c.ClientBreaker(target, "/bulwark.testing.v1.TestService/UnaryUnsafe") == unsafe {
			t.Fatal("UnaryUnsafe's breaker was not evicted")
		}
	})
}

// When every breaker the registry holds is open, a new key shares one
// overflow breaker instead of evicting any of them.
func TestRegistryNeverEvictsOpenBreakers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCircuit(t, trips(1), circuit.WithMaxBreakers(2))
		a, b := c.ClientBreaker("a", ""), c.ClientBreaker("b", "")
		for _, br := range []*breaker.Breaker{a, b} {
			p, err := br.Allow()
			if err != nil {
				t.Fatal(err)
			}
			p.Done(breaker.Failed)
			if br.State() != breaker.StateOpen {
				t.Fatalf("state = %v, want open", br.State())
			}
		}
		x, y := c.ClientBreaker("x", ""), c.ClientBreaker("y", "")
		if x != y || x == a || x == b {
			t.Fatal("new keys did not share one overflow breaker")
		}
		if c.ClientBreaker("a", "") != a || c.ClientBreaker("b", "") != b {
			t.Fatal("an open breaker was evicted")
		}
	})
}

func TestFallback(t *testing.T) {
	tests := []struct {
		name      string
		onFailure bool
		want      []string // text of each of three calls, or the error code
	}{
		{"on reject", false, []string{"Unavailable", "cached", "cached"}},
		{"on failure too", true, []string{"cached", "cached", "cached"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				svc := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
					return nil, errDown
				}}
				var seen []string
				fallback := func(_ context.Context, method string, req, reply any, err error) error {
					var oe *breaker.OpenError
					seen = append(seen, fmt.Sprintf("%s %v %v", method, errors.As(err, &oe), status.Code(err)))
					reply.(*testpb.UnaryResponse).Text = "cached"
					return nil
				}
				c := newCircuit(t, trips(1), circuit.WithFallback(fallback, tc.onFailure))
				env := startClient(t, svc, c)
				var got []string
				for range 3 {
					resp, err := env.Client.Unary(context.Background(), &testpb.UnaryRequest{})
					if err != nil {
						got = append(got, status.Code(err).String())
					} else {
						got = append(got, resp.GetText())
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Fatalf("results = %v, want %v", got, tc.want)
				}
				if n := svc.Calls("Unary"); n != 1 {
					t.Fatalf("%d calls reached the server, want 1", n)
				}
				want := []string{unaryM + " true Unavailable", unaryM + " true Unavailable"}
				if tc.onFailure {
					want = append([]string{unaryM + " false Unavailable"}, want...)
				}
				if fmt.Sprint(seen) != fmt.Sprint(want) {
					t.Fatalf("fallback saw %q, want %q", seen, want)
				}
			})
		})
	}
}

func TestServerFailsFastWhenItsDependencyIsDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var down atomic.Bool
		down.Store(true)
		svc := &grpctest.Service{
			UnaryFunc: func(_ context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
				if down.Load() {
					return nil, errdetails.Database("", errors.New("connection refused"))
				}
				return &testpb.UnaryResponse{Text: req.GetText()}, nil
			},
			BidiStreamFunc: func(grpc.BidiStreamingServer[testpb.BidiStreamRequest, testpb.BidiStreamResponse]) error {
				if down.Load() {
					return errDown
				}
				return nil
			},
		}
		obs := &recObserver{}
		c := newCircuit(t, trips(2), circuit.WithObserver(obs.observer()))
		env := startServer(t, svc, c)
		for range 2 {
			if err := unary(env); status.Code(err) != codes.Unavailable {
				t.Fatalf("call: %v", err)
			}
		}
		time.Sleep(time.Second)
		err := unary(env)
		if errors.Is(err, breaker.ErrOpen) {
			t.Fatal("the client sees the server's status, not a local error")
		}
		st := status.Convert(err)
		ae, ok := errdetails.FromError(st.Err())
		if st.Code() != codes.Unavailable || !ok || ae.Code != errdetails.CodeCircuitOpen || ae.RetryAfter != 4*time.Second ||
			ae.Domain != "bulwark.testing.v1.TestService" || !ae.Unprocessed {
			t.Fatalf("rejection = %v %+v", st.Code(), ae)
		}
		if n := svc.Calls("Unary"); n != 2 {
			t.Fatalf("%d calls reached the handler, want 2", n)
		}
		// Other methods have their own breakers.
		for range 2 {
			s, err := env.Client.BidiStream(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Recv(); status.Code(err) != codes.Unavailable {
				t.Fatalf("bidi: %v", err)
			}
		}
		s, err := env.Client.BidiStream(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Recv(); !strings.Contains(fmt.Sprint(err), "circuit breaker open") {
			t.Fatalf("bidi after two failures: %v, want a rejection", err)
		}
		if n := svc.Calls("BidiStream"); n != 2 {
			t.Fatalf("%d streams reached the handler, want 2", n)
		}

		down.Store(false)
		time.Sleep(4 * time.Second)
		synctest.Wait()
		if err := unary(env); err != nil {
			t.Fatalf("probe: %v", err)
		}
		if st := c.ServerBreaker(unaryM).State(); st != breaker.StateClosed {
			t.Fatalf("state = %v, want closed", st)
		}
		if !strings.Contains(obs.String(), `" /bulwark.testing.v1.TestService/Unary half_open>closed"`) ||
			!strings.Contains(obs.String(), "rejects 2") {
			t.Fatalf("observer: %s", obs)
		}
	})
}

func TestServerRejectionThroughErrorBoundary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			return nil, errDown
		}}
		c := newCircuit(t, trips(1))
		bnd, err := boundary.New(boundary.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		env := grpctest.Start(t, svc, grpctest.Options{Server: []grpc.ServerOption{
			grpc.ChainUnaryInterceptor(bnd.UnaryServerInterceptor(), c.UnaryServerInterceptor()),
		}})
		_ = unary(env)
		ctx := metadata.AppendToOutgoingContext(context.Background(), requestid.MetadataKey, "req-7")
		var trailer metadata.MD
		_, err = env.Client.Unary(ctx, &testpb.UnaryRequest{}, grpc.Trailer(&trailer))
		ae, ok := errdetails.FromError(err)
		if !ok || ae.Code != errdetails.CodeCircuitOpen || ae.RequestID != "req-7" || ae.RetryAfter != 5*time.Second || !ae.Unprocessed {
			t.Fatalf("rejection = %v, %+v", err, ae)
		}
		if got := trailer.Get("grpc-retry-pushback-ms"); fmt.Sprint(got) != "[5000]" {
			t.Fatalf("pushback trailer = %q, want 5000", got)
		}
	})
}

func TestServerPanicCountsAsFailure(t *testing.T) {
	c := newCircuit(t, trips(1))
	unaryInt := c.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: unaryM}
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Fatalf("recovered %v, want the handler's panic", p)
			}
		}()
		_, _ = unaryInt(context.Background(), nil, info, func(context.Context, any) (any, error) { panic("boom") })
	}()
	if s := c.ServerBreaker(unaryM).State(); s != breaker.StateOpen {
		t.Fatalf("state = %v, want open", s)
	}
	streamInt := c.StreamServerInterceptor()
	sinfo := &grpc.StreamServerInfo{FullMethod: bidiM}
	func() {
		defer func() { _ = recover() }()
		_ = streamInt(impl, fakeServerStream{}, sinfo, func(any, grpc.ServerStream) error { panic("boom") })
	}()
	if s := c.ServerBreaker(bidiM).State(); s != breaker.StateOpen {
		t.Fatalf("stream state = %v, want open", s)
	}
	if err := streamInt(impl, fakeServerStream{}, sinfo, nil); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("stream when open: %v", err)
	}
}

type fakeServerStream struct{ grpc.ServerStream }

// impl stands for a registered service's implementation, which gRPC passes
// to stream interceptors (it passes nil for grpc.UnknownServiceHandler).
var impl = struct{}{}

func (fakeServerStream) Context() context.Context { return context.Background() }

func TestForcedOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := &grpctest.Service{}
		c := newCircuit(t)
		env := startClient(t, svc, c)
		c.ClientBreaker(target, "").SetMode(breaker.ModeForcedOpen)
		wantOpen(t, unary(env), 0)
		if svc.Calls("Unary") != 0 {
			t.Fatal("a forced-open breaker let a call through")
		}
		c.ClientBreaker(target, "").SetMode(breaker.ModeNormal)
		if err := unary(env); err != nil {
			t.Fatal(err)
		}
	})
}

func TestNewRefusesInvalidOptions(t *testing.T) {
	tests := []struct {
		opts []circuit.Option
		want string
	}{
		{[]circuit.Option{circuit.WithMaxBreakers(0)}, "circuit: WithMaxBreakers(0): must be at least 1"},
		{[]circuit.Option{circuit.WithClassifier(nil)}, "circuit: WithClassifier(nil): the classifier must not be nil"},
		{[]circuit.Option{circuit.WithFallback(nil, true)}, "circuit: WithFallback(nil, true): the fallback must not be nil"},
		{[]circuit.Option{nil}, "circuit: nil Option"},
		{
			[]circuit.Option{circuit.WithBreakerOptions(breaker.WithFailureRate(1.5))},
			"circuit: WithBreakerOptions: breaker: WithFailureRate(1.5): must be in (0, 1]",
		},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			c, err := circuit.New(tc.opts...)
			if c != nil || err == nil || err.Error() != tc.want {
				t.Fatalf("New = %v, %v; want error %q", c, err, tc.want)
			}
		})
	}
}

func TestOpenErrorText(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCircuit(t, trips(1), circuit.WithPerMethod(true))
		invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return errDown }
		cc, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		u := c.UnaryClientInterceptor()
		_ = u(context.Background(), unaryM, nil, nil, cc, invoker)
		err = u(context.Background(), unaryM, nil, nil, cc, invoker)
		if got, want := err.Error(), "circuit: open for "+target+" "+unaryM+", retry in 5s"; got != want {
			t.Fatalf("Error = %q, want %q", got, want)
		}
	})
}

// TestRefusesFor: the function the client chain gives its Retrier reads
// the breaker of a target without making one, and follows its open time.
func TestRefusesFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := circuit.New(circuit.WithBreakerOptions(breaker.WithOpenDuration(time.Second, time.Minute), breaker.WithOpenJitter(0)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		refusesFor := retrystate.RefusesFor(c)
		if d := refusesFor("dns:///a", "/s/M"); d != 0 {
			t.Errorf("no breaker yet: %v; want 0", d)
		}
		b := c.ClientBreaker("dns:///a", "")
		if d := refusesFor("dns:///a", "/s/M"); d != 0 {
			t.Errorf("closed: %v; want 0", d)
		}
		b.SetMode(breaker.ModeForcedOpen)
		if d := refusesFor("dns:///a", "/s/Other"); d != math.MaxInt64 {
			t.Errorf("forced open: %v; want math.MaxInt64 for every method of the target", d)
		}
		if d := refusesFor("dns:///b", "/s/M"); d != 0 {
			t.Errorf("another target: %v; want 0", d)
		}
	})
}
