package opentelemetry

import (
	"errors"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/bulwarkrpc/bulwark/errdetails"
)

// An Option configures New.
type Option interface {
	apply(*options)
}

type options struct {
	provider   metric.MeterProvider
	spanEvents bool
	registry   *errdetails.Registry
	errs       []error
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithMeterProvider sets the MeterProvider that creates the instruments.
// Bulwark uses only the OpenTelemetry API: the SDK, its readers, views and
// exporters are yours. nil is refused. Default: otel.GetMeterProvider(),
// the global provider, read once by New.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(o *options) {
		if mp == nil {
			o.errs = append(o.errs, errors.New("opentelemetry: WithMeterProvider(nil): the meter provider must not be nil"))
			return
		}
		o.provider = mp
	})
}

// WithSpanEvents turns on or off the events that Telemetry adds to the
// caller's span (trace.SpanFromContext) when it is recording: retries,
// hedges, backoff delays, breaker refusals, limiter rejections and deadline
// changes. No span is ever started. Default: true.
func WithSpanEvents(on bool) Option {
	return optionFunc(func(o *options) { o.spanEvents = on })
}

// WithCodes sets the registry that bounds the bulwark.app_code attribute
// of the application error counters: codes it does not know are recorded as
// OTHER, so a peer cannot create unbounded series. nil is refused. Default:
// errdetails.Default.
func WithCodes(r *errdetails.Registry) Option {
	return optionFunc(func(o *options) {
		if r == nil {
			o.errs = append(o.errs, errors.New("opentelemetry: WithCodes(nil): the registry must not be nil"))
			return
		}
		o.registry = r
	})
}

func newOptions(opts []Option) (options, error) {
	o := options{spanEvents: true}
	for _, opt := range opts {
		if opt == nil {
			o.errs = append(o.errs, errors.New("opentelemetry: nil Option"))
			continue
		}
		opt.apply(&o)
	}
	if err := errors.Join(o.errs...); err != nil {
		return o, err
	}
	if o.provider == nil {
		o.provider = otel.GetMeterProvider()
	}
	if o.registry == nil {
		o.registry = errdetails.Default
	}
	return o, nil
}
