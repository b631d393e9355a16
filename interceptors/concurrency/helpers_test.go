package concurrency_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	rpcerr "google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/boundary"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	unaryMethod       = "/bulwark.testing.v1.TestService/Unary"
	unaryUnsafeMethod = "/bulwark.testing.v1.TestService/UnaryUnsafe"
	pushbackKey       = "grpc-retry-pushback-ms"
)

// serve starts svc behind l's server interceptors, with the error boundary
// outside them when withBoundary is true.
func serve(t *testing.T, l *concurrency.Limiter, svc *grpctest.Service, withBoundary bool, dial ...grpc.DialOption) *grpctest.Env {
	t.Helper()
	var unary []grpc.UnaryServerInterceptor
	var stream []grpc.StreamServerInterceptor
	if withBoundary {
		b, err := boundary.New(boundary.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		if err != nil {
			t.Fatal(err)
		}
		unary = append(unary, b.UnaryServerInterceptor())
		stream = append(stream, b.StreamServerInterceptor())
	}
	unary = append(unary, l.UnaryServerInterceptor())
	stream = append(stream, l.StreamServerInterceptor())
	return grpctest.Start(t, svc, grpctest.Options{
		Server: []grpc.ServerOption{grpc.ChainUnaryInterceptor(unary...), grpc.ChainStreamInterceptor(stream...)},
		Dial:   dial,
	})
}

// propagate returns a dial option with the client interceptor of a Limiter
// that never refuses, which carries each call's criticality downstream.
func propagate(t testing.TB) grpc.DialOption {
	return grpc.WithChainUnaryInterceptor(newLimiter(t, concurrency.WithLimit(1000)).UnaryClientInterceptor())
}

// parseCriticality parses the text of a criticality; DefaultCriticality for
// text that is not one.
func parseCriticality(s string) concurrency.Criticality {
	for _, c := range []concurrency.Criticality{concurrency.Critical, concurrency.Sheddable} {
		if s == c.String() {
			return c
		}
	}
	return concurrency.DefaultCriticality
}

func newLimiter(t testing.TB, opts ...concurrency.Option) *concurrency.Limiter {
	t.Helper()
	l, err := concurrency.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// gate blocks handlers until it is opened, and records how many ran at once.
type gate struct {
	open      chan struct{}
	cur, peak atomic.Int64
	entered   atomic.Int64
	closeOnce sync.Once
}

func newGate() *gate { return &gate{open: make(chan struct{})} }

func (g *gate) enter() func() {
	g.entered.Add(1)
	n := g.cur.Add(1)
	for {
		p := g.peak.Load()
		if n <= p || g.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return func() { g.cur.Add(-1) }
}

func (g *gate) unary(*testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
	defer g.enter()()
	<-g.open
	return &testpb.UnaryResponse{Text: "ok"}, nil
}

func (g *gate) release() { g.closeOnce.Do(func() { close(g.open) }) }

// checkOverloaded checks that err is the server's overload rejection with
// the given reason and pushback.
func checkOverloaded(t *testing.T, err error, trailer metadata.MD, reason, pushback string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.Unavailable {
		t.Fatalf("code = %v (%v); want Unavailable", st.Code(), err)
	}
	ae, ok := errdetails.FromError(st.Err())
	if !ok || ae.Code != errdetails.CodeServerOverloaded {
		t.Fatalf("FromStatus = %+v, %v; want SERVER_OVERLOADED", ae, ok)
	}
	if !ae.Unprocessed {
		t.Error("rejection not marked unprocessed")
	}
	if got := ae.Details["rejection"]; got != reason {
		t.Errorf("rejection detail = %v; want %s", got, reason)
	}
	var retryInfo *rpcerr.RetryInfo
	for _, d := range st.Details() {
		if ri, ok := d.(*rpcerr.RetryInfo); ok {
			retryInfo = ri
		}
	}
	switch pushback {
	case "-1":
		if retryInfo != nil || ae.Retryable {
			t.Errorf("a rejection asking not to retry carries RetryInfo %v / retryable %v", retryInfo, ae.Retryable)
		}
	default:
		if retryInfo == nil || retryInfo.GetRetryDelay().AsDuration() != 100*time.Millisecond || !ae.Retryable {
			t.Errorf("RetryInfo = %v, retryable %v; want 100ms, true", retryInfo, ae.Retryable)
		}
	}
	if got := trailer.Get(pushbackKey); len(got) != 1 || got[0] != pushback {
		t.Errorf("pushback trailer = %q; want exactly [%s]", got, pushback)
	}
}

// events records an Observer's events.
type events struct {
	mu      sync.Mutex
	rejects []concurrency.RejectEvent
	waits   []concurrency.WaitEvent
	samples int
	limits  []concurrency.LimitEvent
}

// observer returns the Observer whose hooks record into e.
func (e *events) observer() concurrency.Observer {
	return concurrency.Observer{OnReject: e.OnReject, OnWait: e.OnWait, OnSample: e.OnSample, OnLimit: e.OnLimit}
}

func (e *events) OnReject(_ context.Context, ev concurrency.RejectEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rejects = append(e.rejects, ev)
}

func (e *events) OnWait(_ context.Context, ev concurrency.WaitEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.waits = append(e.waits, ev)
}

func (e *events) OnSample(context.Context, concurrency.SampleEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.samples++
}

func (e *events) OnLimit(_ context.Context, ev concurrency.LimitEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.limits = append(e.limits, ev)
}

func (e *events) rejectReasons() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, r := range e.rejects {
		out = append(out, r.Reason)
	}
	return out
}

// rejection returns the reason of a Limiter's rejection, the detail
// "rejection" of the *errdetails.ApplicationError it converts to, or "" when
// err is no rejection.
func rejection(err error) string {
	var ae *errdetails.ApplicationError
	if !errors.Is(err, concurrency.ErrRejected) || !errors.As(err, &ae) {
		return ""
	}
	r, _ := ae.Details["rejection"].(string)
	return r
}

var errBoom = errors.New("boom")
