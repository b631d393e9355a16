package concurrency_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// TestServerNeverExceedsLimit sends 1000 concurrent calls to a server with
// a limit of 10: the handler never runs more than 10 at once, and every
// other call is refused at once, before the handler, with the overload
// status.
func TestServerNeverExceedsLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit, callers = 10, 1000
		l := newLimiter(t, concurrency.WithLimit(limit))
		g := newGate()
		svc := &grpctest.Service{UnaryFunc: func(_ context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			return g.unary(req)
		}}
		env := serve(t, l, svc, true)
		type result struct {
			err     error
			elapsed time.Duration
			trailer metadata.MD
		}
		results := make(chan result, callers)
		for range callers {
			go func() {
				start := time.Now()
				var tr metadata.MD
				_, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}, grpc.Trailer(&tr))
				results <- result{err, time.Since(start), tr}
			}()
		}
		for range callers - limit {
			r := <-results
			if r.err == nil {
				t.Fatal("a call succeeded while the handlers were blocked")
			}
			if r.elapsed != 0 {
				t.Errorf("a rejection took %v of fake time; want 0", r.elapsed)
			}
			checkOverloaded(t, r.err, r.trailer, "limit", "100")
		}
		synctest.Wait()
		if p, n := g.peak.Load(), svc.Calls("Unary"); p != limit || n != limit {
			t.Fatalf("peak concurrency in the handler = %d, calls reaching it = %d; want %d, %d", p, n, limit, limit)
		}
		if s := l.Stats(); s.InFlight != limit || s.Limit != limit {
			t.Errorf("Stats = %+v; want %d in flight", s, limit)
		}
		g.release()
		for range limit {
			if r := <-results; r.err != nil {
				t.Errorf("an admitted call failed: %v", r.err)
			}
		}
		synctest.Wait()
		if s := l.Stats(); s.InFlight != 0 {
			t.Errorf("in flight after all calls = %d; want 0", s.InFlight)
		}
	})
}

// TestPushbackExactlyOnce checks the pushback trailer with and without the
// error boundary outside the limiter, for a first attempt and for a retry:
// the boundary writes exactly one; without it the status is the same and
// there is no trailer.
func TestPushbackExactlyOnce(t *testing.T) {
	for _, withBoundary := range []bool{false, true} {
		for _, retrying := range []bool{false, true} {
			want := "100"
			if retrying {
				want = "-1"
			}
			t.Run(fmt.Sprintf("boundary=%v/retrying=%v", withBoundary, retrying), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					l := newLimiter(t, concurrency.WithLimit(1))
					g := newGate()
					defer g.release()
					svc := &grpctest.Service{
						UnaryFunc: func(_ context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
							return g.unary(req)
						},
						ServerStreamFunc: func(*testpb.ServerStreamRequest, grpc.ServerStreamingServer[testpb.ServerStreamResponse]) error {
							return nil
						},
					}
					env := serve(t, l, svc, withBoundary)
					go env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
					synctest.Wait()

					ctx := t.Context()
					if retrying {
						ctx = metadata.AppendToOutgoingContext(ctx, "grpc-previous-rpc-attempts", "1")
					}
					check := func(err error, tr metadata.MD) {
						t.Helper()
						if withBoundary {
							checkOverloaded(t, err, tr, "limit", want)
							return
						}
						checkOverloaded(t, err, metadata.Pairs(pushbackKey, want), "limit", want)
						if got := tr.Get(pushbackKey); len(got) != 0 {
							t.Errorf("pushback trailer %q without the boundary; want none", got)
						}
					}
					var tr metadata.MD
					_, err := env.Client.Unary(ctx, &testpb.UnaryRequest{}, grpc.Trailer(&tr))
					check(err, tr)

					stream, err := env.Client.ServerStream(ctx, &testpb.ServerStreamRequest{})
					if err != nil {
						t.Fatal(err)
					}
					if _, err := stream.Recv(); err == nil {
						t.Fatal("stream Recv succeeded; want the rejection")
					} else {
						check(err, stream.Trailer())
					}
					if hdr, _ := stream.Header(); len(hdr) != 0 {
						t.Errorf("rejected stream sent headers %v", hdr)
					}
					if svc.Calls("ServerStream") != 0 {
						t.Error("the rejected stream reached its handler")
					}
				})
			})
		}
	}
}

func TestPushbackStopsWhenDeadlineTooShortForRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, concurrency.WithLimit(1), concurrency.WithRetryAfter(time.Second))
		g := newGate()
		defer g.release()
		env := serve(t, l, &grpctest.Service{UnaryFunc: func(_ context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			return g.unary(req)
		}}, true)
		go env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
		synctest.Wait()
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		var tr metadata.MD
		_, err := env.Client.Unary(ctx, &testpb.UnaryRequest{}, grpc.Trailer(&tr))
		if got := tr.Get(pushbackKey); len(got) != 1 || got[0] != "-1" {
			t.Errorf("pushback = %q (%v); want [-1]: a retry after 1s cannot finish in 500ms", got, err)
		}
	})
}

// TestServerReleasesPermitOnEveryPath ends calls in every way a call can end
// and checks that the permit comes back each time: a leak would leave the
// limit of 1 full.
func TestServerReleasesPermitOnEveryPath(t *testing.T) {
	type behaviour func(ctx context.Context) error
	tests := []struct {
		name     string
		handler  behaviour
		end      func(cancel context.CancelFunc)
		deadline time.Duration
	}{
		{name: "success", handler: func(context.Context) error { return nil }},
		{name: "error", handler: func(context.Context) error { return status.Error(codes.NotFound, "x") }},
		{name: "panic", handler: func(context.Context) error { panic(errBoom) }},
		{
			name:    "client cancels",
			handler: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
			end:     func(cancel context.CancelFunc) { cancel() },
		},
		{
			name:     "deadline",
			handler:  func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
			deadline: 10 * time.Millisecond,
		},
	}
	for _, tc := range tests {
		for _, kind := range []string{"unary", "server stream", "bidi"} {
			t.Run(tc.name+"/"+kind, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					l := newLimiter(t, concurrency.WithLimit(1))
					var later atomic.Bool // calls after the first one succeed at once
					svc := &grpctest.Service{
						UnaryFunc: func(ctx context.Context, _ *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
							if later.Swap(true) {
								return &testpb.UnaryResponse{}, nil
							}
							return &testpb.UnaryResponse{}, tc.handler(ctx)
						},
						ServerStreamFunc: func(_ *testpb.ServerStreamRequest, s grpc.ServerStreamingServer[testpb.ServerStreamResponse]) error {
							later.Store(true)
							if err := s.Send(&testpb.ServerStreamResponse{}); err != nil {
								return err
							}
							return tc.handler(s.Context())
						},
						BidiStreamFunc: func(s grpc.BidiStreamingServer[testpb.BidiStreamRequest, testpb.BidiStreamResponse]) error {
							later.Store(true)
							if _, err := s.Recv(); err != nil {
								return err
							}
							return tc.handler(s.Context())
						},
					}
					env := serve(t, l, svc, true) // the boundary recovers the panic
					ctx, cancel := context.WithCancel(t.Context())
					defer cancel()
					if tc.deadline > 0 {
						ctx, cancel = context.WithTimeout(ctx, tc.deadline)
						defer cancel()
					}
					done := make(chan struct{})
					go func() {
						defer close(done)
						switch kind {
						case "unary":
							_, _ = env.Client.Unary(ctx, &testpb.UnaryRequest{})
						case "server stream":
							s, err := env.Client.ServerStream(ctx, &testpb.ServerStreamRequest{})
							for err == nil {
								_, err = s.Recv()
							}
						case "bidi":
							s, err := env.Client.BidiStream(ctx)
							if err == nil {
								err = s.Send(&testpb.BidiStreamRequest{})
							}
							for err == nil {
								_, err = s.Recv()
							}
						}
					}()
					synctest.Wait()
					if tc.end != nil {
						tc.end(cancel)
					}
					<-done
					synctest.Wait()
					if s := l.Stats(); s.InFlight != 0 {
						t.Fatalf("in flight after the call ended = %d; want 0 (a permit leaked)", s.InFlight)
					}
					if _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}); status.Code(err) == codes.Unavailable {
						t.Errorf("next call refused: %v", err)
					}
				})
			})
		}
	}
}

func TestServerStreamHoldsPermitForItsLife(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, concurrency.WithLimit(1))
		env := serve(t, l, &grpctest.Service{}, true)
		bidi, err := env.Client.BidiStream(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := bidi.Send(&testpb.BidiStreamRequest{Text: "a"}); err != nil {
			t.Fatal(err)
		}
		if _, err := bidi.Recv(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour) // an idle stream still holds its permit
		var tr metadata.MD
		_, err = env.Client.Unary(t.Context(), &testpb.UnaryRequest{}, grpc.Trailer(&tr))
		checkOverloaded(t, err, tr, "limit", "100")
		if err := bidi.CloseSend(); err != nil {
			t.Fatal(err)
		}
		if _, err := bidi.Recv(); err == nil {
			t.Fatal("want io.EOF")
		}
		synctest.Wait()
		if _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}); err != nil {
			t.Errorf("call after the stream ended: %v", err)
		}
	})
}

func TestPriorityShedding(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		obs := &events{}
		trusted := func(context.Context) bool { return true }
		l := newLimiter(t, concurrency.WithLimit(10), concurrency.WithPriority(0.5, 0.8, trusted), concurrency.WithObserver(obs.observer()))
		g := newGate()
		defer g.release()
		env := serve(t, l, &grpctest.Service{UnaryFunc: func(_ context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			return g.unary(req)
		}}, true, propagate(t))
		call := func(c concurrency.Criticality) (metadata.MD, error) {
			var tr metadata.MD
			errc := make(chan error, 1)
			go func() {
				_, err := env.Client.Unary(concurrency.NewCriticalityContext(t.Context(), c), &testpb.UnaryRequest{}, grpc.Trailer(&tr))
				errc <- err
			}()
			synctest.Wait()
			select {
			case err := <-errc:
				return tr, err
			default:
				return nil, nil // admitted: blocked in the handler
			}
		}
		steps := []struct {
			c      concurrency.Criticality
			n      int    // calls
			admit  int    // of which admitted
			reason string // of the rest
		}{
			{concurrency.Sheddable, 6, 5, "shed_priority"},
			{concurrency.DefaultCriticality, 4, 3, "shed_priority"},
			{concurrency.Critical, 3, 2, "limit"},
			{concurrency.Sheddable, 1, 0, "limit"},
		}
		for _, st := range steps {
			admitted := 0
			for range st.n {
				tr, err := call(st.c)
				if err == nil && tr == nil {
					admitted++
					continue
				}
				checkOverloaded(t, err, tr, st.reason, "100")
			}
			if admitted != st.admit {
				t.Errorf("%v: %d of %d admitted; want %d", st.c, admitted, st.n, st.admit)
			}
		}
		if s := l.Stats(); s.InFlight != 10 {
			t.Errorf("in flight = %d; want the whole limit, 10", s.InFlight)
		}
		obs.mu.Lock()
		defer obs.mu.Unlock()
		if len(obs.rejects) != 4 || obs.rejects[0].Criticality != concurrency.Sheddable || obs.rejects[0].InFlight != 5 {
			t.Errorf("reject events = %+v", obs.rejects)
		}
	})
}

// A handler's outgoing calls carry its request's criticality on when it
// lowers the criticality, or when the server's limiter trusted the caller
// to raise it; an untrusted "critical" header is not passed on.
func TestCriticalityPropagates(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted bool
		want    []concurrency.Criticality
	}{
		{"untrusted caller", false, []concurrency.Criticality{concurrency.Sheddable, concurrency.DefaultCriticality, concurrency.DefaultCriticality}},
		{"trusted caller", true, []concurrency.Criticality{concurrency.Sheddable, concurrency.Critical, concurrency.DefaultCriticality}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				var seen []concurrency.Criticality
				downstream := grpctest.Start(t, &grpctest.Service{UnaryFunc: func(ctx context.Context, _ *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
					mu.Lock()
					defer mu.Unlock()
					// What the header says, before any trust decision.
					c := concurrency.DefaultCriticality
					if v := metadata.ValueFromIncomingContext(ctx, "x-bulwark-criticality"); len(v) > 0 {
						c = parseCriticality(v[0])
					}
					seen = append(seen, c)
					return &testpb.UnaryResponse{}, nil
				}}, grpctest.Options{Dial: []grpc.DialOption{propagate(t)}})
				var trusted func(context.Context) bool
				if tc.trusted {
					trusted = func(context.Context) bool { return true }
				}
				opts := []concurrency.Option{concurrency.WithLimit(10), concurrency.WithPriority(0.5, 0.8, trusted)}
				l := newLimiter(t, opts...)
				upstream := grpctest.Start(t, &grpctest.Service{UnaryFunc: func(ctx context.Context, _ *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
					return downstream.Client.Unary(ctx, &testpb.UnaryRequest{})
				}}, grpctest.Options{
					Server: []grpc.ServerOption{grpc.ChainUnaryInterceptor(l.UnaryServerInterceptor())},
					Dial:   []grpc.DialOption{propagate(t)},
				})
				for _, c := range []concurrency.Criticality{concurrency.Sheddable, concurrency.Critical, concurrency.DefaultCriticality} {
					if _, err := upstream.Client.Unary(concurrency.NewCriticalityContext(t.Context(), c), &testpb.UnaryRequest{}); err != nil {
						t.Fatal(err)
					}
				}
				mu.Lock()
				defer mu.Unlock()
				if fmt.Sprint(seen) != fmt.Sprint(tc.want) {
					t.Errorf("downstream saw %v; want %v", seen, tc.want)
				}
			})
		})
	}
}

// A caller may lower its criticality with the header, but raise it only
// when WithPriority trusts it; a criticality an interceptor before
// the limiter put on the server's context wins over the header.
func TestCriticalityIsNotTrustedFromTheNetwork(t *testing.T) {
	for _, tc := range []struct {
		name    string
		header  concurrency.Criticality
		server  *concurrency.Criticality // set by an interceptor before the limiter
		trusted bool
		admit   bool // with the limit at the default share, 8 of 10 in flight
	}{
		{"critical header, untrusted", concurrency.Critical, nil, false, false},
		{"critical header, trusted", concurrency.Critical, nil, true, true},
		{"sheddable header", concurrency.Sheddable, nil, false, false},
		{"server context says critical", concurrency.Sheddable, ptr(concurrency.Critical), false, true},
		{"server context says sheddable", concurrency.Critical, ptr(concurrency.Sheddable), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var trusted func(context.Context) bool
				if tc.trusted {
					trusted = func(context.Context) bool { return true }
				}
				opts := []concurrency.Option{concurrency.WithLimit(10), concurrency.WithPriority(0.5, 0.8, trusted)}
				l := newLimiter(t, opts...)
				g := newGate()
				defer g.release()
				auth := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
					if tc.server != nil {
						if md, _ := metadata.FromIncomingContext(ctx); len(md.Get("x-test-fill")) == 0 {
							ctx = concurrency.NewCriticalityContext(ctx, *tc.server)
						}
					}
					return handler(ctx, req)
				}
				env := grpctest.Start(t, &grpctest.Service{UnaryFunc: func(_ context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
					return g.unary(req)
				}}, grpctest.Options{Server: []grpc.ServerOption{grpc.ChainUnaryInterceptor(auth, l.UnaryServerInterceptor())}})
				// Fill the default share (8 of 10) with default calls.
				fill := metadata.AppendToOutgoingContext(t.Context(), "x-test-fill", "1")
				for range 8 {
					go func() { _, _ = env.Client.Unary(fill, &testpb.UnaryRequest{}) }()
				}
				synctest.Wait()
				if s := l.Stats(); s.InFlight != 8 {
					t.Fatalf("in flight = %d; want 8", s.InFlight)
				}
				ctx := metadata.AppendToOutgoingContext(t.Context(), "x-bulwark-criticality", tc.header.String())
				errc := make(chan error, 1)
				go func() {
					_, err := env.Client.Unary(ctx, &testpb.UnaryRequest{})
					errc <- err
				}()
				synctest.Wait()
				admitted := l.Stats().InFlight == 9
				if admitted != tc.admit {
					t.Errorf("admitted = %v; want %v", admitted, tc.admit)
				}
				g.release()
				synctest.Wait()
				<-errc
			})
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestQueue(t *testing.T) {
	tests := []struct {
		name     string
		deadline time.Duration // of the waiting call; 0: none
		waiters  int           // already queued
		free     time.Duration // when the holder finishes; 0: never
		wantErr  codes.Code
		reason   string
		elapsed  time.Duration
	}{
		{name: "gets the permit when it frees", free: 30 * time.Millisecond, wantErr: codes.OK, elapsed: 30 * time.Millisecond},
		{name: "max wait", wantErr: codes.Unavailable, reason: "queue_timeout", elapsed: 100 * time.Millisecond},
		// The client's deadline and the server's copy of it expire at the
		// same fake instant: the server sees either first.
		{name: "deadline before max wait", deadline: 40 * time.Millisecond, wantErr: codes.DeadlineExceeded, reason: "deadline|canceled", elapsed: 40 * time.Millisecond},
		{name: "queue full", waiters: 2, wantErr: codes.Unavailable, reason: "queue_full", elapsed: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				obs := &events{}
				l := newLimiter(t, concurrency.WithLimit(1), concurrency.WithQueue(2, 100*time.Millisecond), concurrency.WithObserver(obs.observer()))
				holder := make(chan struct{})
				env := serve(t, l, &grpctest.Service{UnaryFunc: func(ctx context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
					if req.GetText() == "hold" {
						select {
						case <-holder:
						case <-ctx.Done():
						}
					}
					return &testpb.UnaryResponse{}, nil
				}}, true)
				go env.Client.Unary(t.Context(), &testpb.UnaryRequest{Text: "hold"})
				synctest.Wait()
				waitCtx, stopWaiters := context.WithCancel(t.Context())
				defer stopWaiters()
				for range tc.waiters {
					go env.Client.Unary(waitCtx, &testpb.UnaryRequest{Text: "hold"})
				}
				synctest.Wait()
				if tc.free > 0 {
					time.AfterFunc(tc.free, func() { close(holder) })
				}
				ctx := t.Context()
				if tc.deadline > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tc.deadline)
					defer cancel()
				}
				start := time.Now()
				var tr metadata.MD
				_, err := env.Client.Unary(ctx, &testpb.UnaryRequest{}, grpc.Trailer(&tr))
				if el := time.Since(start); el != tc.elapsed {
					t.Errorf("call took %v; want %v", el, tc.elapsed)
				}
				if status.Code(err) != tc.wantErr {
					t.Fatalf("err = %v; want code %v", err, tc.wantErr)
				}
				if tc.wantErr == codes.Unavailable {
					checkOverloaded(t, err, tr, tc.reason, "-1")
				}
				synctest.Wait() // the server may see the deadline a moment after the client
				if got := obs.rejectReasons(); tc.reason == "" && len(got) != 0 ||
					tc.reason != "" && (len(got) != 1 || !strings.Contains("|"+tc.reason+"|", "|"+got[0]+"|")) {
					t.Errorf("observed rejections %v; want one: %s", got, tc.reason)
				}
				stopWaiters()
				if tc.free == 0 {
					close(holder)
				}
				synctest.Wait()
				if s := l.Stats(); s.InFlight != 0 || s.Queued != 0 {
					t.Errorf("Stats = %+v after all calls; want nothing in flight or queued", s)
				}
			})
		})
	}
}

func TestMethodLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, concurrency.WithLimit(4), concurrency.WithMethodLimit(unaryMethod, 2))
		g := newGate()
		defer g.release()
		svc := &grpctest.Service{
			UnaryFunc: func(_ context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
				return g.unary(req)
			},
			UnaryUnsafeFunc: func(context.Context, *testpb.UnaryUnsafeRequest) (*testpb.UnaryUnsafeResponse, error) {
				defer g.enter()()
				<-g.open
				return &testpb.UnaryUnsafeResponse{}, nil
			},
		}
		env := serve(t, l, svc, false)
		errs := make(chan error, 10)
		for range 3 {
			go func() { _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}); errs <- err }()
		}
		synctest.Wait()
		if err := <-errs; status.Code(err) != codes.Unavailable {
			t.Fatalf("third Unary call: %v; want refused by the method limit", err)
		}
		if s, ok := l.MethodStats(unaryMethod); !ok || s.InFlight != 2 || s.Limit != 2 {
			t.Errorf("MethodStats = %+v, %v", s, ok)
		}
		if _, ok := l.MethodStats(unaryUnsafeMethod); ok {
			t.Error("UnaryUnsafe has no method limit")
		}
		for range 3 {
			go func() { _, err := env.Client.UnaryUnsafe(t.Context(), &testpb.UnaryUnsafeRequest{}); errs <- err }()
		}
		synctest.Wait()
		if err := <-errs; status.Code(err) != codes.Unavailable {
			t.Fatalf("fifth call overall: %v; want refused by the global limit", err)
		}
		if s := l.Stats(); s.InFlight != 4 || g.peak.Load() != 4 {
			t.Errorf("global in flight = %d, peak = %d; want 4", s.InFlight, g.peak.Load())
		}
		g.release()
		for range 4 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		synctest.Wait()
		if s, _ := l.MethodStats(unaryMethod); s.InFlight != 0 || l.Stats().InFlight != 0 {
			t.Errorf("permits left: method %d, global %d", s.InFlight, l.Stats().InFlight)
		}
	})
}
