package interceptors

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/internal/stripe"
)

// minHealthCalls is the fewest calls in a window for its shedding to turn
// the server NOT_SERVING: a handful of refusals is not an overload.
const minHealthCalls = 10

// WithHealth has the server chain report sustained shedding on h, gRPC's
// standard health service (grpc.health.v1.Health, which the chain exempts
// from shedding and breaking): when more than half of the calls in a window
// (and at least 10) were refused by the concurrency limiter, it sets the
// server's status (service "") to NOT_SERVING, so that load balancers and
// probes send traffic elsewhere; after a window in which at most half were,
// it sets SERVING again. It sets a status only when it changes its own
// verdict, so a status you set yourself stands until then. For draining,
// call h.Shutdown() before the server's GracefulStop: it reports
// NOT_SERVING and ignores later updates. window must be positive; h must
// not be nil; WithConcurrency is required. Default: the health service is
// left to you.
func WithHealth(h *health.Server, window time.Duration) ServerOption {
	return serverOption(func(c *config) {
		if !c.once("WithHealth") {
			return
		}
		if h == nil || window <= 0 {
			c.errs = append(c.errs, fmt.Errorf("interceptors: WithHealth(%p, %v): want a health server and a positive window", h, window))
			return
		}
		c.health = &healthReport{server: h, window: window, calls: stripe.New(), sheds: stripe.New()}
	})
}

// healthReport counts a server's calls and the limiter's refusals, and
// judges them once per window on a timer.
type healthReport struct {
	server *health.Server
	window time.Duration
	calls  stripe.Counter // calls that reached the limiter's layer
	sheds  stripe.Counter // the limiter's refusals

	mu                   sync.Mutex
	timer                *time.Timer
	stopped              bool
	lastCalls, lastSheds int64
	notServing           bool // the last status this report set
}

// check refuses WithHealth without the limiter it watches.
func (h *healthReport) check(c *config) error {
	if h != nil && !c.has["WithConcurrency"] {
		return errors.New("interceptors: WithHealth: needs WithConcurrency, whose refusals it watches")
	}
	return nil
}

// start arms the window's timer.
func (h *healthReport) start() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.timer = time.AfterFunc(h.window, h.judge)
}

// stop stops the timer; a judgement under way finishes.
func (h *healthReport) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	if h.timer != nil {
		h.timer.Stop()
	}
}

// judge ends a window: it sets the status when the verdict changes and
// starts the next window.
func (h *healthReport) judge() {
	calls, sheds := h.calls.Load(), h.sheds.Load()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return
	}
	n, s := calls-h.lastCalls, sheds-h.lastSheds
	h.lastCalls, h.lastSheds = calls, sheds
	overloaded := n >= minHealthCalls && 2*s > n
	if overloaded != h.notServing {
		h.notServing = overloaded
		st := healthpb.HealthCheckResponse_SERVING
		if overloaded {
			st = healthpb.HealthCheckResponse_NOT_SERVING
		}
		h.server.SetServingStatus("", st)
	}
	h.timer.Reset(h.window)
}

// observer counts the limiter's refusals.
func (h *healthReport) observer() concurrency.Observer {
	return concurrency.Observer{OnReject: func(context.Context, concurrency.RejectEvent) { h.sheds.Add(1) }}
}

// interceptors count the calls that reach the limiter's layer.
func (h *healthReport) interceptors() (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			h.calls.Add(1)
			return handler(ctx, req)
		}, func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			h.calls.Add(1)
			return handler(srv, ss)
		}
}
