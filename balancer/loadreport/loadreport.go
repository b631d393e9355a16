package loadreport

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/orca"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
)

// Reporter turns a concurrency Limiter's state, and the calls it counts,
// into ORCA load reports. It is safe for concurrent use.
type Reporter struct {
	limiter     *concurrency.Limiter
	window      time.Duration
	minInterval time.Duration

	calls, errs atomic.Uint64

	mu         sync.Mutex
	since      time.Time // start of the current window
	sinceCalls uint64
	sinceErrs  uint64
	qps, eps   float64 // over the last full window; -1 before the first
}

// An Option configures a Reporter.
type Option interface {
	apply(*options)
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

type options struct {
	window      time.Duration
	minInterval time.Duration
	errs        []error
}

// defaultWindow is the default window over which calls per second are
// measured.
const defaultWindow = time.Second

// WithWindow sets the window over which calls and errors per second are
// measured; reports give the rate of the last full window. Default: 1s.
func WithWindow(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d <= 0 {
			o.errs = append(o.errs, fmt.Errorf("loadreport: WithWindow(%v): must be positive", d))
			return
		}
		o.window = d
	})
}

// WithMinReportingInterval sets the shortest interval between two
// out-of-band reports on one stream; a client may ask for a longer one.
// grpc-go's ORCA service does not go below 30s. Default: 30s.
func WithMinReportingInterval(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d < 0 {
			o.errs = append(o.errs, fmt.Errorf("loadreport: WithMinReportingInterval(%v): must not be negative", d))
			return
		}
		o.minInterval = d
	})
}

// New returns a Reporter of l's load, or an error naming each invalid
// option.
func New(l *concurrency.Limiter, opts ...Option) (*Reporter, error) {
	o := options{window: defaultWindow, minInterval: 30 * time.Second}
	if l == nil {
		o.errs = append(o.errs, errors.New("loadreport: New: nil Limiter"))
	}
	for _, opt := range opts {
		if opt == nil {
			o.errs = append(o.errs, errors.New("loadreport: nil Option"))
			continue
		}
		opt.apply(&o)
	}
	if len(o.errs) > 0 {
		return nil, errors.Join(o.errs...)
	}
	return &Reporter{limiter: l, window: o.window, minInterval: o.minInterval, since: time.Now(), qps: -1, eps: -1}, nil
}

// ServerMetrics returns the current load; it implements
// orca.ServerMetricsProvider.
func (r *Reporter) ServerMetrics() *orca.ServerMetrics {
	qps, eps := r.rates(time.Now())
	sm := &orca.ServerMetrics{
		CPUUtilization: -1,
		MemUtilization: -1,
		AppUtilization: -1,
		QPS:            qps,
		EPS:            eps,
		// ORCA merges per-call values into these maps.
		Utilization:  map[string]float64{},
		RequestCost:  map[string]float64{},
		NamedMetrics: map[string]float64{},
	}
	if s := r.limiter.Stats(); s.Limit > 0 {
		sm.AppUtilization = float64(s.InFlight) / float64(s.Limit)
	}
	return sm
}

// rates returns calls and errors per second over the last full window;
// before the first window ends, over the time since the Reporter began,
// counted as at least one window.
func (r *Reporter) rates(now time.Time) (qps, eps float64) {
	calls, errs := r.calls.Load(), r.errs.Load()
	r.mu.Lock()
	defer r.mu.Unlock()
	if elapsed := now.Sub(r.since); elapsed >= r.window {
		secs := elapsed.Seconds()
		r.qps = float64(calls-r.sinceCalls) / secs
		r.eps = float64(errs-r.sinceErrs) / secs
		r.since, r.sinceCalls, r.sinceErrs = now, calls, errs
	}
	if r.qps >= 0 {
		return r.qps, r.eps
	}
	secs := r.window.Seconds()
	return float64(calls-r.sinceCalls) / secs, float64(errs-r.sinceErrs) / secs
}

// ServerOptions returns the server options that count calls and streams
// and send a load report in the trailer of each (ORCA's per-call reports,
// through orca.CallMetricsServerOption); a stream counts as one call and
// reports when it ends. Handlers may add their own values with
// orca.CallMetricsRecorderFromContext. Give them to grpc.NewServer after
// the Limiter's interceptors.
func (r *Reporter) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		orca.CallMetricsServerOption(r),
		grpc.ChainUnaryInterceptor(r.unary),
		grpc.ChainStreamInterceptor(r.stream),
	}
}

func (r *Reporter) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	// Asking for the recorder makes ORCA's interceptor send the report.
	_ = orca.CallMetricsRecorderFromContext(ctx)
	resp, err := handler(ctx, req)
	r.count(err)
	return resp, err
}

func (r *Reporter) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	_ = orca.CallMetricsRecorderFromContext(ss.Context())
	err := handler(srv, ss)
	r.count(err)
	return err
}

func (r *Reporter) count(err error) {
	r.calls.Add(1)
	if err != nil {
		r.errs.Add(1)
	}
}

// Register registers ORCA's out-of-band service (StreamCoreMetrics) on s,
// reporting r's load.
func (r *Reporter) Register(s grpc.ServiceRegistrar) error {
	return orca.Register(s, orca.ServiceOptions{ServerMetricsProvider: r, MinReportingInterval: r.minInterval})
}
