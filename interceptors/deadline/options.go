package deadline

import (
	"fmt"
	"time"

	"github.com/bulwarkrpc/bulwark/internal/observe"
)

// An Option configures a Policy.
type Option interface {
	apply(*options)
}

type options struct {
	timeout       time.Duration
	streamTimeout time.Duration
	minRemaining  time.Duration
	maxDeadline   time.Duration
	shave         time.Duration
	shaveFraction float64
	observer      Observer
	errs          []error
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

func (o *options) fail(format string, args ...any) {
	o.errs = append(o.errs, fmt.Errorf("deadline: "+format, args...))
}

// WithDefaultTimeout sets the timeout a client gives a unary call whose
// context has no deadline. Zero gives none; negative values are refused.
// Default: 10 s.
func WithDefaultTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d < 0 {
			o.fail("WithDefaultTimeout(%v): must not be negative", d)
			return
		}
		o.timeout = d
	})
}

// WithStreamTimeout sets the timeout a client gives a stream whose context
// has no deadline. Zero gives none; negative values are refused. Default: 0
// (streams are often meant to last).
func WithStreamTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d < 0 {
			o.fail("WithStreamTimeout(%v): must not be negative", d)
			return
		}
		o.streamTimeout = d
	})
}

// WithMinRemaining sets the time a request must have left, beyond which a
// server refuses it: a request with d or less left is refused with
// DEADLINE_TOO_SHORT. Zero refuses only requests already past their
// deadline; negative values are refused. Default: 1 ms.
func WithMinRemaining(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d < 0 {
			o.fail("WithMinRemaining(%v): must not be negative", d)
			return
		}
		o.minRemaining = d
	})
}

// WithMaxDeadline caps the time a server's handler gets: a request with no
// deadline, or with more than d left, is handled with a context that ends
// d from now. Zero means no cap; negative values are refused. Default: 0.
func WithMaxDeadline(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d < 0 {
			o.fail("WithMaxDeadline(%v): must not be negative", d)
			return
		}
		o.maxDeadline = d
	})
}

// WithShave ends a server handler's context d before the caller's
// deadline, so that the calls it makes give up in time for it to answer;
// see the package documentation. Zero means no shave; negative values are
// refused. Default: 0.
func WithShave(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d < 0 {
			o.fail("WithShave(%v): must not be negative", d)
			return
		}
		o.shave = d
	})
}

// WithShaveFraction ends a server handler's context a fraction f of the
// caller's remaining time before the caller's deadline (with WithShave too,
// the larger shave wins). f must be in [0, 1); zero means no shave.
// Default: 0.
func WithShaveFraction(f float64) Option {
	return optionFunc(func(o *options) {
		if !(f >= 0 && f < 1) {
			o.fail("WithShaveFraction(%v): must be in [0, 1)", f)
			return
		}
		o.shaveFraction = f
	})
}

// WithObserver adds an Observer that receives the Policy's events. Given
// more than once, every Observer receives every event, in the order given
// (the client and server chains add their metrics and logging first). nil
// is refused. Default: NopObserver.
func WithObserver(obs Observer) Option {
	return optionFunc(func(o *options) {
		if obs == nil {
			o.fail("WithObserver(nil): the observer must not be nil")
			return
		}
		o.observer = observe.Add[Observer, observers](o.observer, obs, isNop)
	})
}

func newOptions(opts []Option) (options, error) {
	o := options{
		timeout:      10 * time.Second,
		minRemaining: time.Millisecond,
		observer:     NopObserver{},
	}
	for _, opt := range opts {
		if opt == nil {
			o.fail("nil Option")
			continue
		}
		opt.apply(&o)
	}
	if len(o.errs) > 0 {
		return o, o.errs[0]
	}
	return o, nil
}
