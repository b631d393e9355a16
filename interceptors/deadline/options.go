package deadline

import (
	"errors"
	"fmt"
	"time"
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

// WithDefaultTimeout sets the timeouts a client gives a call whose context
// has no deadline: unary for a unary call, stream for a stream. Zero gives
// none; negative values are refused. Default: 10 s for unary calls and none
// for streams (streams are often meant to last).
func WithDefaultTimeout(unary, stream time.Duration) Option {
	return optionFunc(func(o *options) {
		if unary < 0 || stream < 0 {
			o.fail("WithDefaultTimeout(%v, %v): must not be negative", unary, stream)
			return
		}
		o.timeout, o.streamTimeout = unary, stream
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

// WithShave ends a server handler's context before the caller's deadline,
// so that the calls it makes give up in time for it to answer (see the
// package documentation): by d, or by the fraction f of the caller's
// remaining time, whichever is larger. d must not be negative and f must be
// in [0, 1); zero means no shave. Default: 0, 0.
func WithShave(d time.Duration, f float64) Option {
	return optionFunc(func(o *options) {
		if d < 0 || !(f >= 0 && f < 1) {
			o.fail("WithShave(%v, %v): d must not be negative and f must be in [0, 1)", d, f)
			return
		}
		o.shave, o.shaveFraction = d, f
	})
}

// WithObserver adds an Observer that receives the Policy's events. Given
// more than once, every hook of every Observer is called, in the order
// given (the client and server chains add their metrics and logging first).
// Default: none.
func WithObserver(obs Observer) Option {
	return optionFunc(func(o *options) { o.observer.add(obs) })
}

func newOptions(opts []Option) (options, error) {
	o := options{
		timeout:      10 * time.Second,
		minRemaining: time.Millisecond,
	}
	for _, opt := range opts {
		if opt == nil {
			o.fail("nil Option")
			continue
		}
		opt.apply(&o)
	}
	return o, errors.Join(o.errs...)
}
