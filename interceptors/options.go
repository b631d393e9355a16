package interceptors

import (
	"errors"
	"log/slog"

	"github.com/bulwarkrpc/bulwark/interceptors/boundary"
	"github.com/bulwarkrpc/bulwark/interceptors/circuit"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/deadline"
	"github.com/bulwarkrpc/bulwark/interceptors/metrics"
	"github.com/bulwarkrpc/bulwark/interceptors/opentelemetry"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
)

// A ClientOption configures NewClientChain.
type ClientOption interface {
	applyClient(*config)
}

// A ServerOption configures NewServerChain.
type ServerOption interface {
	applyServer(*config)
}

// An Option configures both chains.
type Option interface {
	ClientOption
	ServerOption
}

// config is what the options of either chain set; each chain reads its
// side's part.
type config struct {
	logger     *slog.Logger
	metrics    *metrics.Metrics
	otel       *opentelemetry.Telemetry
	classifier outcome.Classifier

	deadline    []deadline.Option
	circuit     []circuit.Option
	concurrency []concurrency.Option
	retry       []retry.Option
	boundary    []boundary.Option

	exempt        *exemption // nil: the default exemptions
	serviceConfig bool       // WithServiceConfig
	sc            *scExtras  // WithServiceConfig's JSON; nil without one
	health        *healthReport

	has  map[string]bool // which options were given, to refuse repeats
	errs []error
}

// once records that the option named name was given, and refuses a repeat.
func (c *config) once(name string) bool {
	if c.has == nil {
		c.has = map[string]bool{}
	}
	if c.has[name] {
		c.errs = append(c.errs, errors.New("interceptors: "+name+" given twice: give each option once"))
		return false
	}
	c.has[name] = true
	return true
}

type bothOption func(*config)

func (f bothOption) applyClient(c *config) { f(c) }
func (f bothOption) applyServer(c *config) { f(c) }

type clientOption func(*config)

func (f clientOption) applyClient(c *config) { f(c) }

type serverOption func(*config)

func (f serverOption) applyServer(c *config) { f(c) }

// WithLogger adds the logging interceptor (one record per finished call)
// outermost, gives the error boundary its logger, and logs the components'
// events (retries, breaker transitions, limit changes). nil is refused.
// Default: no logging interceptor; the boundary logs to slog.Default().
func WithLogger(l *slog.Logger) Option {
	return bothOption(func(c *config) {
		if !c.once("WithLogger") {
			return
		}
		if l == nil {
			c.errs = append(c.errs, errors.New("interceptors: WithLogger(nil): the logger must not be nil"))
			return
		}
		c.logger = l
	})
}

// WithMetrics adds the metrics interceptors and feeds every component's
// metrics to m. Register m on your registry yourself. nil is refused.
// Default: no metrics.
func WithMetrics(m *metrics.Metrics) Option {
	return bothOption(func(c *config) {
		if !c.once("WithMetrics") {
			return
		}
		if m == nil {
			c.errs = append(c.errs, errors.New("interceptors: WithMetrics(nil): the metrics must not be nil"))
			return
		}
		c.metrics = m
	})
}

// WithOpenTelemetry adds t's interceptors and stats handler to the chain,
// beside or instead of WithMetrics, and feeds it every component's events:
// gRFC A66/A96 instruments, bulwark.* instruments, and events on the
// caller's span. nil is refused. Default: no OpenTelemetry.
func WithOpenTelemetry(t *opentelemetry.Telemetry) Option {
	return bothOption(func(c *config) {
		if !c.once("WithOpenTelemetry") {
			return
		}
		if t == nil {
			c.errs = append(c.errs, errors.New("interceptors: WithOpenTelemetry(nil): the telemetry must not be nil"))
			return
		}
		c.otel = t
	})
}

// WithClassifier sets the outcome classifier that the circuit breaker,
// retry and the adaptive limiter share. nil is refused. Default:
// outcome.Default.
func WithClassifier(cl outcome.Classifier) Option {
	return bothOption(func(c *config) {
		if !c.once("WithClassifier") {
			return
		}
		if cl == nil {
			c.errs = append(c.errs, errors.New("interceptors: WithClassifier(nil): the classifier must not be nil"))
			return
		}
		c.classifier = cl
	})
}

// WithDeadline adds the deadline interceptor built from opts: on the client
// a default timeout for calls without a deadline (covering all attempts);
// on the server the rejection of requests with too little time left.
// Default: not in the chain.
func WithDeadline(opts ...deadline.Option) Option {
	return bothOption(func(c *config) {
		if c.once("WithDeadline") {
			c.deadline = append([]deadline.Option{}, opts...)
		}
	})
}

// WithCircuitBreaker adds the circuit breaker built from opts: on the
// client per attempt, inside retry and the limiter; on the server next to
// the handler. Default: not in the chain.
func WithCircuitBreaker(opts ...circuit.Option) Option {
	return bothOption(func(c *config) {
		if c.once("WithCircuitBreaker") {
			c.circuit = append([]circuit.Option{}, opts...)
		}
	})
}

// WithConcurrency adds the concurrency limiter built from opts: on the
// client per attempt (a permit is not held during a retry's backoff), on
// the server before the handler and after the deadline check. Default: not
// in the chain.
func WithConcurrency(opts ...concurrency.Option) Option {
	return bothOption(func(c *config) {
		if c.once("WithConcurrency") {
			c.concurrency = append([]concurrency.Option{}, opts...)
		}
	})
}

// WithRetry adds the retry interceptor built from opts, inside the
// deadline (which covers all attempts) and outside the limiter and the
// circuit breaker (each attempt is judged on its own). It also turns off
// gRPC's own retries on the channel (grpc.WithDisableRetry), since both
// together would multiply attempts. Default: not in the chain.
func WithRetry(opts ...retry.Option) ClientOption {
	return clientOption(func(c *config) {
		if c.once("WithRetry") {
			c.retry = append([]retry.Option{}, opts...)
		}
	})
}

// WithBoundary configures the server's error boundary, which is always in
// the server chain. Default: the boundary's defaults.
func WithBoundary(opts ...boundary.Option) ServerOption {
	return serverOption(func(c *config) {
		if c.once("WithBoundary") {
			c.boundary = append([]boundary.Option{}, opts...)
		}
	})
}
