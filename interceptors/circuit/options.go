package circuit

import (
	"context"
	"errors"
	"fmt"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
)

// An Option configures a Circuit.
type Option interface {
	apply(*options)
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// Fallback is called, on the client, instead of failing a unary call that
// the breaker refused (err then matches breaker.ErrOpen, and errors.As
// gives its *breaker.OpenError), and, with
// WithFallback's onFailure, after a call that failed (err is the call's error).
// It may fill reply, for example from a cache, and return nil; whatever it
// returns is the call's result.
type Fallback func(ctx context.Context, method string, req, reply any, err error) error

// defaultMaxBreakers is the default bound of each registry of breakers.
const defaultMaxBreakers = 1024

type options struct {
	breakerOpts []breaker.Option
	perMethod   bool
	maxBreakers int
	classifier  outcome.Classifier
	observer    Observer
	fallback    Fallback
	onFailure   bool
	errs        []error
}

func (o *options) fail(format string, args ...any) {
	o.errs = append(o.errs, fmt.Errorf("circuit: "+format, args...))
}

// WithBreakerOptions sets the options of every breaker the Circuit makes
// (see package breaker for the rules and their defaults). They are checked
// by New. Several calls add up. A breaker.WithOnStateChange hook given here
// runs for every breaker without saying which; use an Observer to know.
func WithBreakerOptions(opts ...breaker.Option) Option {
	return optionFunc(func(o *options) { o.breakerOpts = append(o.breakerOpts, opts...) })
}

// WithPerMethod, when true, gives each method of each target its own
// breaker on the client, so that one failing method does not stop calls to
// the others. The server always has one breaker per method. Default: false
// (one breaker per target).
func WithPerMethod(on bool) Option {
	return optionFunc(func(o *options) { o.perMethod = on })
}

// WithMaxBreakers bounds the number of breakers the Circuit keeps on each
// side (client and server). When a new target or method needs one and the
// bound is reached, the breaker least recently used (approximately: a
// second-chance sweep) is dropped, after its timers are stopped, and the
// new one takes its place; a dropped breaker's state is forgotten. Default:
// 1024.
func WithMaxBreakers(n int) Option {
	return optionFunc(func(o *options) {
		if n < 1 {
			o.fail("WithMaxBreakers(%d): must be at least 1", n)
			return
		}
		o.maxBreakers = n
	})
}

// WithClassifier sets how a call's error becomes an outcome: Success counts
// as a success, RetryableFailure and FatalFailure as failures, Ignored and
// LocalReject are not recorded. Default: outcome.Default.
func WithClassifier(c outcome.Classifier) Option {
	return optionFunc(func(o *options) {
		if c == nil {
			o.fail("WithClassifier(nil): the classifier must not be nil")
			return
		}
		o.classifier = c
	})
}

// WithObserver adds an Observer of breaker transitions, calls and
// rejections, for metrics. Given more than once, every hook of every
// Observer is called, in the order given (the client and server chains add
// their metrics and logging first). Default: none.
func WithObserver(obs Observer) Option {
	return optionFunc(func(o *options) { o.observer.add(obs) })
}

// WithFallback sets the Fallback of unary client calls that the breaker
// refuses and, when onFailure is true, of unary client calls that failed
// (their outcome a RetryableFailure or FatalFailure), once the failure is
// recorded. Default: none; a refused call fails with the refusal
// (UNAVAILABLE, CIRCUIT_OPEN; it matches breaker.ErrOpen).
func WithFallback(f Fallback, onFailure bool) Option {
	return optionFunc(func(o *options) {
		if f == nil {
			o.fail("WithFallback(nil, %v): the fallback must not be nil", onFailure)
			return
		}
		o.fallback, o.onFailure = f, onFailure
	})
}

func newOptions(opts []Option) (options, error) {
	o := options{maxBreakers: defaultMaxBreakers, classifier: outcome.Default}
	for _, opt := range opts {
		if opt == nil {
			o.fail("nil Option")
			continue
		}
		opt.apply(&o)
	}
	b, err := breaker.New(o.breakerOpts...)
	if err != nil {
		o.errs = append(o.errs, fmt.Errorf("circuit: WithBreakerOptions: %w", err))
	} else {
		b.Close()
	}
	return o, errors.Join(o.errs...)
}
