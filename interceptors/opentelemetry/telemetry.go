package opentelemetry

import (
	"context"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/retrystate"
)

// instrumentationName is the name of the Meter that Telemetry creates.
const instrumentationName = "github.com/bulwarkrpc/bulwark/interceptors/opentelemetry"

// Telemetry records gRPC calls and Bulwark's components to OpenTelemetry.
// Build one with New and share it between the client and the server
// chains of a process; it is safe for concurrent use.
type Telemetry struct {
	in         instruments
	noMetrics  bool // the MeterProvider is the API's noop one: skip Enabled
	spanEvents bool
	registry   *errdetails.Registry

	client, server attrCache // grpc.method, grpc.target, grpc.status
	clientApp      attrCache // ... and bulwark.app_code
	serverApp      attrCache
	circuit        attrCache // grpc.target, grpc.method, and from>to or the state
	limiter        attrCache // bulwark.side and grpc.method, bulwark.reason
	methods        attrCache // grpc.method and grpc.target

	mu        sync.Mutex
	limiters  []trackedLimiter
	retrier   *retry.Retrier
	targets   sync.Map // targets the retrier retried to, for the budget gauge
	canonical sync.Map // cc.Target() -> cc.CanonicalTarget()
	reg       metric.Registration

	// clientUsed and serverUsed are set, once and for good, when a client
	// call or a server call first gets a state: until then the stats
	// handlers and the inner interceptors return after one atomic load
	// (a MeterProvider that records nothing, and no recording span).
	clientUsed, serverUsed atomic.Bool
}

// markUsed sets b without writing its cache line again once it is set.
func markUsed(b *atomic.Bool) {
	if !b.Load() {
		b.Store(true)
	}
}

type trackedLimiter struct {
	l     *concurrency.Limiter
	attrs metric.MeasurementOption
}

// New returns a Telemetry whose instruments are created on the options'
// MeterProvider, or an error naming each option that is invalid, or the
// instruments the meter refused.
func New(opts ...Option) (*Telemetry, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	meter := o.provider.Meter(instrumentationName, metric.WithInstrumentationVersion(grpc.Version))
	in, err := newInstruments(meter)
	if err != nil {
		return nil, err
	}
	t := &Telemetry{
		in: in, spanEvents: o.spanEvents, registry: o.registry,
		noMetrics: isNoop(o.provider),
		clientApp: attrCache{extraKey: keyAppCode},
		serverApp: attrCache{extraKey: keyAppCode},
		circuit:   attrCache{extraKey: keyState},
		limiter:   attrCache{extraKey: keyReason},
	}
	t.reg, err = meter.RegisterCallback(t.observe, in.limiterInFlight, in.limiterLimit, in.budgetLevel)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// isNoop reports whether mp is the API's noop MeterProvider, whose
// instruments are never enabled.
func isNoop(mp metric.MeterProvider) bool {
	switch mp.(type) {
	case noop.MeterProvider, *noop.MeterProvider:
		return true
	}
	return false
}

// observe reports the gauges read from the tracked components.
func (t *Telemetry) observe(_ context.Context, o metric.Observer) error {
	t.mu.Lock()
	limiters, r := t.limiters, t.retrier
	t.mu.Unlock()
	for _, tl := range limiters {
		st := tl.l.Stats()
		o.ObserveInt64(t.in.limiterInFlight, int64(st.InFlight), tl.attrs)
		if st.Limit > 0 {
			o.ObserveInt64(t.in.limiterLimit, int64(st.Limit), tl.attrs)
		}
	}
	if r != nil {
		t.targets.Range(func(k, _ any) bool {
			target := k.(string)
			if level, ok := retrystate.Of(r).BudgetLevel(target); ok {
				o.ObserveFloat64(t.in.budgetLevel, level, metric.WithAttributes(attribute.String(keyTarget, target)))
			}
			return true
		})
	}
	return nil
}

// trackLimiter reports the in-flight permits and the limit of l's global
// limit as bulwark.limiter.in_flight and bulwark.limiter.limit, with
// bulwark.side set to side ("client" or "server"). The chain builders call
// it for you.
func (t *Telemetry) trackLimiter(side string, l *concurrency.Limiter) {
	a := metric.WithAttributeSet(attribute.NewSet(attribute.String(keySide, side)))
	t.mu.Lock()
	defer t.mu.Unlock()
	t.limiters = append(t.limiters, trackedLimiter{l: l, attrs: a})
}

// trackRetrier reports the budget level of r's targets as
// bulwark.retry.budget.level, once a target has needed a retry. The chain
// builders call it for you.
func (t *Telemetry) trackRetrier(r *retry.Retrier) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.retrier = r
}

// DialOptions returns what grpc.NewClient takes to record a client
// connection's calls without Bulwark's chain: the stats handler and the
// call interceptors.
func (t *Telemetry) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithStatsHandler(t.clientStatsHandler()),
		grpc.WithChainUnaryInterceptor(t.unaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(t.streamClientInterceptor()),
	}
}

// ServerOptions returns what grpc.NewServer takes to record a server's
// calls without Bulwark's chain: the stats handler and the server
// interceptors.
func (t *Telemetry) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.StatsHandler(t.serverStatsHandler()),
		grpc.ChainUnaryInterceptor(t.unaryServerInterceptor()),
		grpc.ChainStreamInterceptor(t.streamServerInterceptor()),
	}
}
