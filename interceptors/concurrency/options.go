package concurrency

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency/limit"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/internal/limiter"
	"github.com/bulwarkrpc/bulwark/internal/method"
)

// maxLimit is the largest limit a Limiter accepts: 2,097,151.
const maxLimit = limiter.MaxLimit

// An Option configures a Limiter.
type Option interface {
	apply(*options)
}

type options struct {
	limit        int
	methodLimits map[string]int
	queueLen     int
	maxWait      time.Duration
	algorithm    limit.Algorithm
	windowTime   time.Duration
	windowCalls  int
	retryAfter   time.Duration
	priority     bool
	trusted      func(context.Context) bool
	shares       []float64
	observer     Observer
	classifier   outcome.Classifier
	errs         []error
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

func (o *options) fail(format string, args ...any) {
	o.errs = append(o.errs, fmt.Errorf("concurrency: "+format, args...))
}

// WithLimit bounds the calls in flight through the Limiter, over all
// methods, to n (1 to 2,097,151). Default: no global limit.
func WithLimit(n int) Option {
	return optionFunc(func(o *options) {
		if n < 1 || n > maxLimit {
			o.fail("WithLimit(%d): must be between 1 and %d", n, maxLimit)
			return
		}
		o.limit = n
	})
}

// WithMethodLimit bounds the calls of one method in flight to n (1 to
// 2,097,151), within the global limit if there is one. fullMethod is
// "/package.Service/Method". Default: no method limits.
func WithMethodLimit(fullMethod string, n int) Option {
	return optionFunc(func(o *options) {
		if !method.Valid(fullMethod) {
			o.fail("WithMethodLimit(%q, %d): the method must be /package.Service/Method", fullMethod, n)
			return
		}
		if n < 1 || n > maxLimit {
			o.fail("WithMethodLimit(%q, %d): must be between 1 and %d", fullMethod, n, maxLimit)
			return
		}
		if o.methodLimits == nil {
			o.methodLimits = make(map[string]int)
		}
		o.methodLimits[fullMethod] = n
	})
}

// WithQueue lets a call that finds no free permit wait for one, at most
// maxWait and never past its own deadline, behind at most maxLen others
// (per limit: the global one and each method's). Waiters are served most
// critical first, then in arrival order. maxLen must be at least 1 and
// maxWait positive. Default: no queue (calls are refused at once).
func WithQueue(maxLen int, maxWait time.Duration) Option {
	return optionFunc(func(o *options) {
		switch {
		case maxLen < 1 || maxLen > 1<<31:
			o.fail("WithQueue(%d, %v): the queue length must be between 1 and 2^31", maxLen, maxWait)
		case maxWait <= 0:
			o.fail("WithQueue(%d, %v): the wait must be positive", maxLen, maxWait)
		default:
			o.queueLen, o.maxWait = maxLen, maxWait
		}
	})
}

// WithAdaptive makes the global limit follow alg, for example
// limit.NewAIMD on a client or limit.NewGradient on a server; the limit
// starts at alg.Limit(). The Limiter owns alg from then on: do not share it.
// It cannot be combined with WithLimit (bound the algorithm instead).
// Default: no adaptive limit.
func WithAdaptive(alg limit.Algorithm) Option {
	return optionFunc(func(o *options) {
		if alg == nil {
			o.fail("WithAdaptive(nil): the algorithm must not be nil")
			return
		}
		o.algorithm = alg
	})
}

// WithWindow sets how the adaptive limit gathers calls into samples: a
// window closes, and the algorithm runs, once it is at least minTime old
// and holds at least minCalls calls (both positive). Only unary calls feed
// the algorithm; streams hold permits but their durations say nothing about
// latency. Default: 100 ms and 10 calls.
func WithWindow(minTime time.Duration, minCalls int) Option {
	return optionFunc(func(o *options) {
		if minTime <= 0 || minCalls < 1 {
			o.fail("WithWindow(%v, %d): the time must be positive and the calls at least 1", minTime, minCalls)
			return
		}
		o.windowTime, o.windowCalls = minTime, minCalls
	})
}

// WithRetryAfter sets the delay a server asks refused callers to wait
// before they retry, sent as google.rpc.RetryInfo and the
// grpc-retry-pushback-ms trailer. Zero sends no delay (callers use their own
// backoff); negative values are refused. A rejection that asks the caller
// not to retry at all (see the package documentation) sends -1 instead.
// Default: 100 ms.
func WithRetryAfter(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d < 0 {
			o.fail("WithRetryAfter(%v): must not be negative", d)
			return
		}
		o.retryAfter = d
	})
}

// WithPriority turns on priority shedding by criticality (see Criticality):
// sheddable calls may use only the fraction sheddable of each limit, calls
// of default criticality the fraction normal, and critical calls all of it;
// 0 < sheddable <= normal <= 1. A server takes the criticality from the
// request's context when an interceptor before the limiter set one with
// NewCriticalityContext (an authentication interceptor, say); else from the
// x-bulwark-criticality metadata of the call, which every caller may use to
// lower it, but only the callers for which trusted returns true to raise
// it to critical. trusted receives the request's context, where the peer
// (peer.FromContext) and anything an authentication interceptor added can
// be read; nil trusts no caller, so that a header that asks for critical
// counts as default criticality and no caller can jump the queue by saying
// so. A client reads the call's context (see CriticalityFromContext).
// Default: off (every call may use the whole limit).
func WithPriority(sheddable, normal float64, trusted func(ctx context.Context) bool) Option {
	return optionFunc(func(o *options) {
		if !(sheddable > 0 && sheddable <= normal && normal <= 1) {
			o.fail("WithPriority(%v, %v): want 0 < sheddable <= normal <= 1", sheddable, normal)
			return
		}
		o.priority = true
		o.shares = []float64{1, normal, sheddable}
		o.trusted = trusted
	})
}

// WithObserver adds an Observer that receives the Limiter's events. Given
// more than once, every hook of every Observer is called, in the order
// given (the client and server chains add their metrics and logging first).
// Default: none.
func WithObserver(obs Observer) Option {
	return optionFunc(func(o *options) { o.observer.add(obs) })
}

// WithClassifier sets the classifier with which a client-side adaptive
// limit judges calls: a RetryableFailure (or any DEADLINE_EXCEEDED not
// caused by the caller) is a drop, a Success or FatalFailure a latency
// sample, anything else is ignored. nil is refused. Default:
// outcome.Default.
func WithClassifier(c outcome.Classifier) Option {
	return optionFunc(func(o *options) {
		if c == nil {
			o.fail("WithClassifier(nil): the classifier must not be nil")
			return
		}
		o.classifier = c
	})
}

func newOptions(opts []Option) (options, error) {
	o := options{
		retryAfter:  100 * time.Millisecond,
		windowTime:  100 * time.Millisecond,
		windowCalls: 10,
		classifier:  outcome.Default,
	}
	for _, opt := range opts {
		if opt == nil {
			o.fail("nil Option")
			continue
		}
		opt.apply(&o)
	}
	if len(o.errs) == 0 {
		switch {
		case o.algorithm != nil && o.limit != 0:
			o.fail("WithAdaptive and WithLimit(%d): choose one (bound the algorithm instead)", o.limit)
		case o.algorithm == nil && o.limit == 0 && len(o.methodLimits) == 0:
			o.fail("no limit: use WithLimit, WithMethodLimit or WithAdaptive")
		}
	}
	return o, errors.Join(o.errs...)
}
