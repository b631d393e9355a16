package interceptors_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	rpcdetails "google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors"
	"github.com/bulwarkrpc/bulwark/interceptors/boundary"
	"github.com/bulwarkrpc/bulwark/interceptors/circuit"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency/limit"
	"github.com/bulwarkrpc/bulwark/interceptors/deadline"
	"github.com/bulwarkrpc/bulwark/interceptors/metrics"
	"github.com/bulwarkrpc/bulwark/interceptors/requestid"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
	bulwarkv1 "github.com/bulwarkrpc/bulwark/proto/bulwark/v1"
)

// The tests in this file run the shape of a production call graph in one
// process: a client calls a frontend, whose handler calls a backend, each
// with Bulwark's chains (the server chain on both servers, the client chain
// on both connections), over bufconn. They pin the rule of "Errors across
// hops" in the README: what a handler passes on from its own outgoing call
// is this server's answer, re-encoded at its boundary.

const (
	unaryMethod  = "/bulwark.testing.v1.TestService/Unary"
	unsafeMethod = "/bulwark.testing.v1.TestService/UnaryUnsafe"
	// wireLimit is the trailer budget of a failed call: grpc-java's default
	// limit on received metadata, 8 KiB.
	wireLimit = 8 << 10
)

// graph is a client → frontend → backend topology.
type graph struct {
	backend, frontend       *grpctest.Env
	backendSvc, frontendSvc *grpctest.Service
	backendChain            *interceptors.ServerChain
	frontendChain           *interceptors.ServerChain
	frontendClient          *interceptors.ClientChain // the frontend's connection to the backend
}

// hopConfig configures each part of a graph; nil fields get defaults.
type hopConfig struct {
	backend        []interceptors.ServerOption
	frontend       []interceptors.ServerOption
	frontendClient []interceptors.ClientOption
	client         []interceptors.ClientOption
	// backendServer replaces the backend's server chain (for a backend
	// that is not Bulwark).
	backendServer []grpc.ServerOption
	// backendDial replaces how the frontend reaches the backend.
	backendDial []grpc.DialOption
	// frontendOuter are server interceptors outside the frontend's chain.
	frontendOuter []grpc.UnaryServerInterceptor
}

func serverChain(t testing.TB, opts []interceptors.ServerOption) *interceptors.ServerChain {
	t.Helper()
	ch, err := interceptors.NewServerChain(append([]interceptors.ServerOption{interceptors.WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func clientChain(t testing.TB, opts []interceptors.ClientOption) *interceptors.ClientChain {
	t.Helper()
	ch, err := interceptors.NewClientChain(append([]interceptors.ClientOption{interceptors.WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ch.Close)
	return ch
}

// newGraph starts the topology. The frontend's handlers run passOn, which
// calls the backend with the incoming context and returns what it got, as
// the ordinary idiom does; backendSvc is the backend's service.
func newGraph(t *testing.T, backendSvc *grpctest.Service, passOn func(ctx context.Context, backend testpb.TestServiceClient) error, cfg hopConfig) *graph {
	t.Helper()
	g := &graph{backendSvc: backendSvc}
	g.frontendClient = clientChain(t, cfg.frontendClient)
	srv := cfg.backendServer
	if srv == nil {
		g.backendChain = serverChain(t, cfg.backend)
		srv = g.backendChain.ServerOptions()
	}
	dial := g.frontendClient.DialOptions()
	if cfg.backendDial != nil {
		dial = append(dial, cfg.backendDial...)
	}
	g.backend = grpctest.Start(t, backendSvc, grpctest.Options{Server: srv, Dial: dial})

	g.frontendChain = serverChain(t, cfg.frontend)
	g.frontendSvc = &grpctest.Service{
		UnaryFunc: func(ctx context.Context, _ *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			if err := passOn(ctx, g.backend.Client); err != nil {
				return nil, err
			}
			return &testpb.UnaryResponse{}, nil
		},
		UnaryUnsafeFunc: func(ctx context.Context, _ *testpb.UnaryUnsafeRequest) (*testpb.UnaryUnsafeResponse, error) {
			if err := passOn(ctx, g.backend.Client); err != nil {
				return nil, err
			}
			return &testpb.UnaryUnsafeResponse{}, nil
		},
	}
	front := g.frontendChain.ServerOptions()
	if cfg.frontendOuter != nil {
		front = append([]grpc.ServerOption{grpc.ChainUnaryInterceptor(cfg.frontendOuter...)}, front...)
	}
	g.frontend = grpctest.Start(t, g.frontendSvc, grpctest.Options{
		Server: front,
		Dial:   clientChain(t, cfg.client).DialOptions(),
	})
	return g
}

// callBackend is the frontend's handler idiom: call, and pass the error on.
func callBackend(ctx context.Context, backend testpb.TestServiceClient) error {
	_, err := backend.Unary(ctx, &testpb.UnaryRequest{})
	return err
}

// wrapBackend passes the error on wrapped, the other common idiom.
func wrapBackend(ctx context.Context, backend testpb.TestServiceClient) error {
	if _, err := backend.Unary(ctx, &testpb.UnaryRequest{}); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	return nil
}

// sent is what the outer client received for a call: its status and
// trailers.
type sent struct {
	err     error
	st      *status.Status
	trailer metadata.MD
}

func (g *graph) call(ctx context.Context, t *testing.T) sent {
	t.Helper()
	var tr metadata.MD
	_, err := g.frontend.Client.Unary(ctx, &testpb.UnaryRequest{}, grpc.Trailer(&tr))
	if err == nil {
		t.Fatal("the call succeeded; want an error")
	}
	return sent{err: err, st: status.Convert(err), trailer: tr}
}

// wireBytes is what the status and the trailers take on the wire, as gRPC
// encodes them (HTTP/2 header names and values, before HPACK).
func (s sent) wireBytes() int {
	n := len("grpc-status") + len(fmt.Sprint(int(s.st.Code())))
	n += len("grpc-message") + len(url.PathEscape(s.st.Message()))
	if len(s.st.Proto().GetDetails()) > 0 {
		b, _ := proto.Marshal(s.st.Proto())
		n += len("grpc-status-details-bin") + base64.RawStdEncoding.EncodedLen(len(b))
	}
	for k, vs := range s.trailer {
		for _, v := range vs {
			n += len(k) + len(v)
		}
	}
	return n
}

// detailNames lists the detail types of st.
func detailNames(st *status.Status) []string {
	var names []string
	for _, a := range st.Proto().GetDetails() {
		names = append(names, string(a.MessageName()))
	}
	return names
}

// everything is every byte the caller received, for leak checks.
func (s sent) everything() string {
	b, _ := proto.Marshal(s.st.Proto())
	return s.st.Message() + "\x00" + string(b) + "\x00" + fmt.Sprint(s.trailer)
}

const secret = "password=hunter2 at db.go:42"

// Defect 1: a backend's DebugInfo (sent because that internal backend runs
// with DebugInfo on) must not reach the public caller through a frontend
// whose DebugInfo is off; the code, app code and safe message stay.
func TestHopDebugInfoIsNotForwarded(t *testing.T) {
	for name, passOn := range map[string]func(context.Context, testpb.TestServiceClient) error{"returned": callBackend, "wrapped": wrapBackend} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				backend := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
					return nil, func() *errdetails.ApplicationError {
						e := errdetails.Database("database unavailable", errors.New(secret))
						e.Retryable = false
						return e
					}()
				}}
				g := newGraph(t, backend, passOn, hopConfig{backend: []interceptors.ServerOption{interceptors.WithBoundary(boundary.WithDebugInfo(true))}})
				got := g.call(t.Context(), t)
				if strings.Contains(got.everything(), "hunter2") || strings.Contains(strings.Join(detailNames(got.st), ","), "DebugInfo") {
					t.Fatalf("the backend's DebugInfo reached the caller: %v %v", detailNames(got.st), got.st.Message())
				}
				ae, ok := errdetails.FromError(got.err)
				if !ok || got.st.Code() != codes.Unavailable || ae.Code != errdetails.CodeDatabase || got.st.Message() != "database unavailable" {
					t.Fatalf("caller got %v (%+v); want UNAVAILABLE DB_ERROR with the safe message", got.st, ae)
				}
			})
		})
	}
}

// Defect 1: grpc-go's own client errors name internal addresses; the
// frontend sends a plain UNAVAILABLE instead.
func TestHopTransportErrorHidesAddresses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		refused := grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) {
			return nil, errors.New("dial tcp 10.1.2.3:8443: connect: connection refused")
		})
		g := newGraph(t, &grpctest.Service{}, callBackend, hopConfig{backendDial: []grpc.DialOption{refused}})
		got := g.call(t.Context(), t)
		if got.st.Code() != codes.Unavailable {
			t.Errorf("code = %v; want UNAVAILABLE", got.st.Code())
		}
		for _, leak := range []string{"10.1.2.3", "8443", "dial", "transport", "connection"} {
			if strings.Contains(got.everything(), leak) {
				t.Errorf("the caller learned %q: %q", leak, got.st.Message())
			}
		}
	})
}

// Defect 1: whatever a backend sends (here 20 KiB of details from a backend
// that is not Bulwark), the frontend's status and trailers stay within
// 8 KiB on the wire.
func TestHopStatusStaysWithinTheWireLimit(t *testing.T) {
	big := &rpcdetails.BadRequest{}
	for i := range 200 {
		big.FieldViolations = append(big.FieldViolations, &rpcdetails.BadRequest_FieldViolation{
			Field: fmt.Sprintf("items[%d].name", i), Description: strings.Repeat("too long ", 10)})
	}
	for name, details := range map[string][]protoadapt.MessageV1{
		"AIP error":   {&rpcdetails.ErrorInfo{Reason: "STOCKOUT", Domain: "inventory"}, big},
		"plain error": {big, &rpcdetails.DebugInfo{Detail: strings.Repeat("x", 4000)}},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st, err := status.New(codes.FailedPrecondition, strings.Repeat("m", 3000)).WithDetails(details...)
				if err != nil {
					t.Fatal(err)
				}
				if n := proto.Size(st.Proto()); n < 20<<10 {
					t.Fatalf("the backend's status is %d bytes; want over 20 KiB", n)
				}
				backend := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
					return nil, st.Err()
				}}
				g := newGraph(t, backend, callBackend, hopConfig{backendServer: []grpc.ServerOption{}})
				got := g.call(t.Context(), t)
				if n := got.wireBytes(); n > wireLimit {
					t.Errorf("the caller's status and trailers take %d bytes; want at most %d", n, wireLimit)
				}
				if got.st.Code() != codes.FailedPrecondition {
					t.Errorf("code = %v; want the backend's FAILED_PRECONDITION", got.st.Code())
				}
			})
		})
	}
}

// Defect 1: the frontend's request id and domain fill what a downstream
// error lacks (a backend that is not Bulwark sends a bare ErrorInfo).
func TestHopRequestIDAndDomainAreApplied(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, err := status.New(codes.Unavailable, "out of stock").WithDetails(&rpcdetails.ErrorInfo{Reason: "STOCKOUT"})
		if err != nil {
			t.Fatal(err)
		}
		backend := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			return nil, st.Err()
		}}
		g := newGraph(t, backend, callBackend, hopConfig{backendServer: []grpc.ServerOption{},
			frontend: []interceptors.ServerOption{interceptors.WithBoundary(boundary.WithDomain("frontend.example.com"))}})
		ctx := requestid.NewContext(t.Context(), "req-42")
		got := g.call(ctx, t)
		ae, ok := errdetails.FromError(got.err)
		if !ok || ae.Code != "STOCKOUT" || ae.RequestID != "req-42" || ae.Domain != "frontend.example.com" {
			t.Fatalf("caller got %+v; want STOCKOUT with request id req-42 and the frontend's domain", ae)
		}
	})
}

// Defect 2: a backend's SERVER_OVERLOADED, or the frontend's own
// CIRCUIT_OPEN, passed on by the frontend's handler, must not tell the
// outer client that its request was never processed: the handler ran its
// side effect, and an unsafe method must run it once.
func TestHopUnprocessedDoesNotCrossTheHandler(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(g *graph)
	}{
		{"backend's own refusal", func(g *graph) {
			g.backendChain.Circuit().ServerBreaker(unaryMethod).SetMode(breaker.ModeForcedOpen)
		}},
		{"frontend's client breaker", func(g *graph) {
			g.frontendClient.Circuit().ClientBreaker(target, "").SetMode(breaker.ModeForcedOpen)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var sideEffects atomic.Int64
				passOn := func(ctx context.Context, backend testpb.TestServiceClient) error {
					sideEffects.Add(1) // say, a row written before the call
					return callBackend(ctx, backend)
				}
				g := newGraph(t, &grpctest.Service{}, passOn, hopConfig{
					backend:        []interceptors.ServerOption{interceptors.WithCircuitBreaker()},
					frontendClient: []interceptors.ClientOption{interceptors.WithCircuitBreaker()},
					client:         []interceptors.ClientOption{interceptors.WithRetry()},
				})
				tc.open(g)
				_, err := g.frontend.Client.UnaryUnsafe(t.Context(), &testpb.UnaryUnsafeRequest{})
				if n := sideEffects.Load(); n != 1 {
					t.Errorf("one call of an unsafe method ran its side effect %d times; want 1", n)
				}
				ae, ok := errdetails.FromError(err)
				if !ok || ae.Unprocessed || ae.Code != errdetails.CodeCircuitOpen {
					t.Errorf("caller got %+v (%v); want CIRCUIT_OPEN, not unprocessed", ae, err)
				}
			})
		})
	}
}

// Defect 2's other half: the server's own refusals, made before its handler
// ran, still say unprocessed, so that a caller may retry them.
func TestHopOwnRefusalStaysUnprocessed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGraph(t, &grpctest.Service{}, callBackend, hopConfig{
			frontend: []interceptors.ServerOption{interceptors.WithCircuitBreaker()},
		})
		g.frontendChain.Circuit().ServerBreaker(unaryMethod).SetMode(breaker.ModeForcedOpen)
		got := g.call(t.Context(), t)
		ae, ok := errdetails.FromError(got.err)
		if !ok || !ae.Unprocessed || ae.Code != errdetails.CodeCircuitOpen {
			t.Fatalf("caller got %+v; want the frontend's own CIRCUIT_OPEN, unprocessed", ae)
		}
	})
}

// Defect 3: a handler that returns errdetails.Database("...", ctx.Err())
// after its caller hung up must not count against the server's breaker.
func TestHopCallerHangUpDoesNotTripServerBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := &grpctest.Service{UnaryFunc: func(ctx context.Context, _ *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			<-ctx.Done()
			return nil, errdetails.Database("", ctx.Err())
		}}
		sc := serverChain(t, []interceptors.ServerOption{interceptors.WithCircuitBreaker(
			circuit.WithBreakerOptions(breaker.WithFailureRate(0.5), breaker.WithMinCalls(20), breaker.WithConsecutiveFailures(5)))})
		env := grpctest.Start(t, svc, grpctest.Options{Server: sc.ServerOptions(), Dial: clientChain(t, nil).DialOptions()})
		for range 40 {
			ctx, cancel := context.WithCancel(t.Context())
			errc := make(chan error, 1)
			go func() {
				_, err := env.Client.Unary(ctx, &testpb.UnaryRequest{})
				errc <- err
			}()
			synctest.Wait()
			cancel()
			<-errc
			synctest.Wait()
		}
		if s := sc.Circuit().ServerBreaker(unaryMethod).State(); s != breaker.StateClosed {
			t.Fatalf("server breaker = %v after 40 cancelled calls; want closed", s)
		}
		if c := sc.Circuit().ServerBreaker(unaryMethod).Counts(); c.Failures != 0 {
			t.Fatalf("server breaker counted %d failures; want 0", c.Failures)
		}
	})
}

// Defect 4: a caller cannot raise its own criticality with the header; a
// trusted one can.
func TestHopCriticalityHeaderNeedsTrust(t *testing.T) {
	for _, trusted := range []bool{false, true} {
		t.Run(fmt.Sprint("trusted=", trusted), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				svc := &grpctest.Service{UnaryFunc: func(ctx context.Context, _ *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
					<-release
					return &testpb.UnaryResponse{}, nil
				}}
				var trust func(context.Context) bool
				if trusted {
					trust = func(context.Context) bool { return true }
				}
				opts := []concurrency.Option{concurrency.WithLimit(10), concurrency.WithPriority(0.5, 0.8, trust)}
				sc := serverChain(t, []interceptors.ServerOption{interceptors.WithConcurrency(opts...)})
				env := grpctest.Start(t, svc, grpctest.Options{Server: sc.ServerOptions(), Dial: clientChain(t, nil).DialOptions()})
				done := make(chan error, 9)
				for range 8 { // the whole default share
					go func() { _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}); done <- err }()
				}
				synctest.Wait()
				ctx := metadata.AppendToOutgoingContext(t.Context(), "x-bulwark-criticality", "critical")
				go func() { _, err := env.Client.Unary(ctx, &testpb.UnaryRequest{}); done <- err }()
				synctest.Wait()
				if got := sc.Limiter().Stats().InFlight; (got == 9) != trusted {
					t.Errorf("in flight = %d with a critical header; admitted = %v, want %v", got, got == 9, trusted)
				}
				close(release)
				for range 9 {
					<-done
				}
			})
		})
	}
}

// Defect 5: methods a proxy server has not registered share one metrics
// label and one breaker, and never evict an open breaker: 1,500 method
// names chosen by the caller add no series to any metric family after the
// first, and the only registered breaker, open, keeps refusing.
func TestHopUnregisteredMethodsAreBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := metrics.New()
		if err != nil {
			t.Fatal(err)
		}
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(m)
		failing := &grpctest.Service{UnaryFunc: unavailable}
		sc := serverChain(t, []interceptors.ServerOption{interceptors.WithMetrics(m),
			interceptors.WithDeadline(deadline.WithMaxDeadline(time.Second)),
			interceptors.WithConcurrency(concurrency.WithLimit(10)),
			interceptors.WithCircuitBreaker(circuit.WithMaxBreakers(1), circuit.WithBreakerOptions(breaker.WithConsecutiveFailures(1)))})
		proxy := grpc.UnknownServiceHandler(func(any, grpc.ServerStream) error {
			return status.Error(codes.Unimplemented, "no route")
		})
		env := grpctest.Start(t, failing, grpctest.Options{Server: append(sc.ServerOptions(), proxy),
			Dial: []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}})
		_, _ = env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
		if s := sc.Circuit().ServerBreaker(unaryMethod).State(); s != breaker.StateOpen {
			t.Fatalf("breaker = %v; want open", s)
		}
		invoke := func(i int) {
			_ = env.Conn.Invoke(t.Context(), fmt.Sprintf("/attacker.S%d/M%d", i, i), &testpb.UnaryRequest{}, &testpb.UnaryResponse{})
		}
		invoke(0)
		first := testutil.CollectAndCount(m)
		for i := 1; i < 1500; i++ {
			invoke(i)
		}
		if n := testutil.CollectAndCount(m); n != first {
			t.Errorf("%d series in all after 1,500 unregistered methods, %d after the first; want no growth", n, first)
		}
		if n := testutil.CollectAndCount(m, "grpc_server_started_total"); n != 2 {
			t.Errorf("%d series of grpc_server_started_total; want 2 (Unary and other)", n)
		}
		if _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}); !hasCode(err, errdetails.CodeCircuitOpen) {
			t.Errorf("Unary after 1,500 unregistered methods: %v; want the open breaker's refusal", err)
		}
	})
}

// Defect 6: an interceptor outside the boundary that wraps the error must
// not put the cause into grpc-message.
func TestHopOuterWrapperDoesNotLeakTheCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		audit := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			resp, err := handler(ctx, req)
			if err != nil {
				return nil, fmt.Errorf("audit: %w", err)
			}
			return resp, nil
		}
		backend := &grpctest.Service{}
		passOn := func(context.Context, testpb.TestServiceClient) error {
			return errdetails.Database("database unavailable", errors.New(secret))
		}
		g := newGraph(t, backend, passOn, hopConfig{frontendOuter: []grpc.UnaryServerInterceptor{audit}})
		got := g.call(t.Context(), t)
		if strings.Contains(got.everything(), "hunter2") {
			t.Fatalf("grpc-message carries the cause: %q", got.st.Message())
		}
	})
}

// Defect 6: a client's own short deadlines are not overload: the server's
// adaptive limit of a healthy server does not fall.
func TestHopShortDeadlinesDoNotShrinkServerLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := &grpctest.Service{UnaryFunc: func(ctx context.Context, _ *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			select {
			case <-time.After(50 * time.Millisecond):
				return &testpb.UnaryResponse{}, nil
			case <-ctx.Done():
				return nil, status.FromContextError(ctx.Err()).Err()
			}
		}}
		aimd, err := limit.NewAIMD(limit.AIMDConfig{Initial: 20, Min: 1, Max: 100})
		if err != nil {
			t.Fatal(err)
		}
		sc := serverChain(t, []interceptors.ServerOption{interceptors.WithConcurrency(concurrency.WithAdaptive(aimd), concurrency.WithWindow(time.Millisecond, 1))})
		env := grpctest.Start(t, svc, grpctest.Options{Server: sc.ServerOptions(), Dial: clientChain(t, nil).DialOptions()})
		for range 50 {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Millisecond)
			_, _ = env.Client.Unary(ctx, &testpb.UnaryRequest{})
			cancel()
			synctest.Wait()
		}
		if got := sc.Limiter().Stats().Limit; got < 20 {
			t.Fatalf("adaptive limit = %d after 50 calls with the client's own short deadlines; want it not below 20", got)
		}
	})
}

// Defect 6: a negative RetryInfo asks not to retry, across the hop too.
func TestHopNegativeRetryInfoStopsRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, err := status.New(codes.Unavailable, "stop").WithDetails(
			&rpcdetails.ErrorInfo{Reason: errdetails.CodeServerOverloaded},
			&bulwarkv1.ApplicationError{Code: errdetails.CodeServerOverloaded, Retryable: true},
			&rpcdetails.RetryInfo{RetryDelay: durationpb.New(-time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		backend := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			return nil, st.Err()
		}}
		g := newGraph(t, backend, callBackend, hopConfig{backendServer: []grpc.ServerOption{},
			frontendClient: []interceptors.ClientOption{interceptors.WithRetry()},
			client:         []interceptors.ClientOption{interceptors.WithRetry()}})
		_ = g.call(t.Context(), t)
		if n := backend.Calls("Unary"); n != 1 {
			t.Fatalf("the backend was called %d times; want 1 (a negative RetryInfo asks not to retry)", n)
		}
		if n := g.frontendSvc.Calls("Unary"); n != 1 {
			t.Fatalf("the frontend was called %d times; want 1", n)
		}
	})
}

// Defect 2 at any size: a downstream status too large to decode (70 KiB,
// from a backend that is not Bulwark), saying unprocessed, is cut to the
// bound and still not forwarded as unprocessed; the unsafe method's side
// effect runs once.
func TestHopOversizedDownstreamStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		big := &rpcdetails.BadRequest{}
		for i := range 700 {
			big.FieldViolations = append(big.FieldViolations, &rpcdetails.BadRequest_FieldViolation{
				Field: fmt.Sprintf("items[%d].name", i), Description: strings.Repeat("too long ", 10)})
		}
		st, err := status.New(codes.Unavailable, "overloaded").WithDetails(
			&rpcdetails.ErrorInfo{Reason: errdetails.CodeServerOverloaded, Domain: "inventory.internal"},
			&bulwarkv1.ApplicationError{Code: errdetails.CodeServerOverloaded, Unprocessed: true, Retryable: true},
			&rpcdetails.ResourceInfo{ResourceName: "pg-7.internal:5432/orders"}, big)
		if err != nil {
			t.Fatal(err)
		}
		if n := proto.Size(st.Proto()); n < 70<<10 {
			t.Fatalf("the backend's status is %d bytes; want over 70 KiB", n)
		}
		backend := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			return nil, st.Err()
		}}
		var sideEffects atomic.Int64
		passOn := func(ctx context.Context, c testpb.TestServiceClient) error {
			sideEffects.Add(1)
			return callBackend(ctx, c)
		}
		g := newGraph(t, backend, passOn, hopConfig{backendServer: []grpc.ServerOption{},
			client: []interceptors.ClientOption{interceptors.WithRetry()}})
		var tr metadata.MD
		_, err = g.frontend.Client.UnaryUnsafe(t.Context(), &testpb.UnaryUnsafeRequest{}, grpc.Trailer(&tr))
		if n := sideEffects.Load(); n != 1 {
			t.Errorf("the unsafe method's side effect ran %d times; want 1", n)
		}
		got := sent{err: err, st: status.Convert(err), trailer: tr}
		if ae, ok := errdetails.FromError(err); ok && ae.Unprocessed {
			t.Errorf("caller told unprocessed: %+v", ae)
		}
		if n := got.wireBytes(); n > wireLimit {
			t.Errorf("%d bytes on the wire; want at most %d", n, wireLimit)
		}
		if strings.Contains(got.everything(), "pg-7.internal") {
			t.Errorf("the backend's ResourceInfo reached the caller: %v", detailNames(got.st))
		}
	})
}

// The server's own time limit is not the caller's: a handler that runs out
// of the server's maximum deadline (a hung dependency) still counts against
// the server's breaker and shrinks its adaptive limit.
func TestHopServerOwnDeadlineStillCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hung := &grpctest.Service{UnaryFunc: func(ctx context.Context, _ *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			<-ctx.Done() // a dependency that never answers
			return nil, errdetails.Database("", ctx.Err())
		}}
		aimd, err := limit.NewAIMD(limit.AIMDConfig{Initial: 20, Min: 1, Max: 100})
		if err != nil {
			t.Fatal(err)
		}
		sc := serverChain(t, []interceptors.ServerOption{
			interceptors.WithDeadline(deadline.WithMaxDeadline(100 * time.Millisecond)),
			interceptors.WithConcurrency(concurrency.WithAdaptive(aimd), concurrency.WithWindow(time.Millisecond, 1)),
			interceptors.WithCircuitBreaker(circuit.WithBreakerOptions(breaker.WithConsecutiveFailures(5)))})
		env := grpctest.Start(t, hung, grpctest.Options{Server: sc.ServerOptions(), Dial: clientChain(t, nil).DialOptions()})
		for range 5 {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			_, _ = env.Client.Unary(ctx, &testpb.UnaryRequest{})
			cancel()
			synctest.Wait()
		}
		if s := sc.Circuit().ServerBreaker(unaryMethod).State(); s != breaker.StateOpen {
			t.Errorf("server breaker = %v after 5 calls that ran out of the server's own deadline; want open", s)
		}
		if got := sc.Limiter().Stats().Limit; got >= 20 {
			t.Errorf("adaptive limit = %d; want it below 20 after the server's own timeouts", got)
		}
	})
}

// hasCode reports whether err is, wraps or decodes to an
// *errdetails.ApplicationError with the given code.
func hasCode(err error, code string) bool {
	ae, ok := errdetails.FromError(err)
	return ok && ae.Code == code
}
