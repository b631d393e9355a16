package retry_test

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/bulwarkrpc/bulwark/interceptors/boundary"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/retrystate"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// setup is how a test wires the Retrier.
type setup struct {
	retry []retry.Option
	dial  []grpc.DialOption
	// inner are client interceptors inside the Retrier (per attempt).
	inner       []grpc.UnaryClientInterceptor
	innerStream []grpc.StreamClientInterceptor
}

// start serves svc behind Bulwark's server error boundary (so application
// errors go on the wire with RetryInfo and pushback), with a Retrier on the
// client.
func start(t *testing.T, svc *grpctest.Service, s setup) (*grpctest.Env, *retry.Retrier) {
	t.Helper()
	r, err := retry.New(s.retry...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := boundary.New(boundary.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	unary := append([]grpc.UnaryClientInterceptor{r.UnaryClientInterceptor()}, s.inner...)
	stream := append([]grpc.StreamClientInterceptor{r.StreamClientInterceptor()}, s.innerStream...)
	dial := append([]grpc.DialOption{
		grpc.WithChainUnaryInterceptor(unary...),
		grpc.WithChainStreamInterceptor(stream...),
	}, s.dial...)
	env := grpctest.Start(t, svc, grpctest.Options{
		Server: []grpc.ServerOption{
			grpc.ChainUnaryInterceptor(b.UnaryServerInterceptor()),
			grpc.ChainStreamInterceptor(b.StreamServerInterceptor()),
		},
		Dial: dial,
	})
	return env, r
}

// attemptOf returns the attempt number of the request in ctx (1 for the
// first), from grpc-previous-rpc-attempts.
func attemptOf(ctx context.Context) int {
	md, _ := metadata.FromIncomingContext(ctx)
	v := md.Get(retrystate.PreviousAttemptsHeader)
	if len(v) == 0 {
		return 1
	}
	n, err := strconv.Atoi(v[0])
	if err != nil {
		return -1
	}
	return n + 1
}

// attempts records the attempts that reach the server.
type attempts struct {
	mu    sync.Mutex
	at    []time.Time
	nums  []int
	start time.Time
}

func newAttempts() *attempts { return &attempts{start: time.Now()} }

// add records an attempt and returns its number.
func (a *attempts) add(ctx context.Context) int {
	n := attemptOf(ctx)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.at = append(a.at, time.Now())
	a.nums = append(a.nums, n)
	return n
}

func (a *attempts) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.at)
}

// offsets returns when each attempt arrived, since a was made.
func (a *attempts) offsets() []time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]time.Duration, len(a.at))
	for i, t := range a.at {
		out[i] = t.Sub(a.start)
	}
	return out
}

func (a *attempts) numbers() []int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]int(nil), a.nums...)
}

// events records what an Observer sees.
type events struct {
	mu      sync.Mutex
	retries []retry.RetryEvent
	commits []retry.CommitEvent
	ends    []retry.FinishEvent
}

// observer returns the Observer whose hooks record into e.
func (e *events) observer() retry.Observer {
	return retry.Observer{OnRetry: e.OnRetry, OnCommit: e.OnCommit, OnFinish: e.OnFinish}
}

func (e *events) OnRetry(_ context.Context, ev retry.RetryEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.retries = append(e.retries, ev)
}

func (e *events) OnCommit(_ context.Context, ev retry.CommitEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.commits = append(e.commits, ev)
}

func (e *events) OnFinish(_ context.Context, ev retry.FinishEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ends = append(e.ends, ev)
}

func (e *events) snapshot() ([]retry.RetryEvent, []retry.CommitEvent, []retry.FinishEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]retry.RetryEvent(nil), e.retries...), append([]retry.CommitEvent(nil), e.commits...), append([]retry.FinishEvent(nil), e.ends...)
}

// noJitter makes delays exact, so tests can assert them.
var noJitter = retry.WithJitter(0)

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
