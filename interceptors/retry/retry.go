package retry

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
)

// Retrier retries failed client calls; its methods return the interceptors.
// The unary and stream interceptors of one Retrier share its budgets (one
// per target) and its cache of method idempotency. It is safe for
// concurrent use.
type Retrier struct {
	opts options
	// slow is true when every unary call needs work before its first
	// attempt (a per-attempt timeout, hedging); slowMethods holds the
	// methods whose own policy needs it.
	slow        bool
	slowMethods map[string]bool
	methods     map[string]*policy

	idempotency sync.Map // full method -> bool
	targets     sync.Map // target name -> *target
	lastTarget  atomic.Pointer[targetEntry]
}

// New returns a Retrier, or an error naming the first option that is
// invalid.
func New(opts ...Option) (*Retrier, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	r := &Retrier{opts: o, slow: o.policy.firstAttemptWork()}
	if len(o.methods) > 0 {
		r.methods = make(map[string]*policy, len(o.methods))
		for m, cos := range o.methods {
			p := o.policy
			for _, c := range cos {
				p = c.set(p)
			}
			r.methods[m] = &p
			if p.firstAttemptWork() {
				if r.slowMethods == nil {
					r.slowMethods = make(map[string]bool)
				}
				r.slowMethods[m] = true
			}
		}
	}
	return r, nil
}

func mustNew(opts []Option) *Retrier {
	r, err := New(opts...)
	if err != nil {
		panic(err)
	}
	return r
}

// UnaryClientInterceptor returns the unary client interceptor of a new
// Retrier built from opts; see Retrier.UnaryClientInterceptor. It panics on
// an invalid option; use New to get the error.
func UnaryClientInterceptor(opts ...Option) grpc.UnaryClientInterceptor {
	return mustNew(opts).UnaryClientInterceptor()
}

// StreamClientInterceptor returns the stream client interceptor of a new
// Retrier built from opts; see Retrier.StreamClientInterceptor. It panics
// on an invalid option; use New to get the error.
func StreamClientInterceptor(opts ...Option) grpc.StreamClientInterceptor {
	return mustNew(opts).StreamClientInterceptor()
}

// UnaryClientInterceptor returns the client-side unary interceptor. It makes
// the first attempt with the caller's context and call options untouched;
// only when it fails does it classify the error, look up the method's
// idempotency, consult the budget and retry (see the package
// documentation). It returns the last attempt's error, or a *BudgetError
// wrapping it.
//
//go:noinline
func (r *Retrier) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	// The fast path is written out here, in the closure, so that a call
	// whose first attempt succeeds makes no call but the invoker's. The
	// method is not inlined: a copy of the closure compiled inside the
	// package-level UnaryClientInterceptor would inline less of it.
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if r.slow || hasCallOption(opts) || (r.slowMethods != nil && r.slowMethods[method]) {
			return r.unarySlow(ctx, method, req, reply, cc, invoker, opts)
		}
		var t *target
		if e := r.lastTarget.Load(); e != nil && e.cc == cc {
			t = e.t
		} else {
			t = r.targetSlow(cc)
		}
		if t.pushback.Load() {
			return r.unarySlow(ctx, method, req, reply, cc, invoker, opts)
		}
		t.call()
		err := invoker(ctx, method, req, reply, cc, opts...)
		if err == nil {
			t.succeeded()
			return nil
		}
		return r.retryUnary(ctx, method, req, reply, cc, invoker, opts, r.policyFor(method), t, err, outcome.NoPushback, false)
	}
}

// unarySlow is a unary call that needs work before its first attempt: call
// options to apply, a per-attempt timeout, hedging, or a trailer to read.
func (r *Retrier) unarySlow(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts []grpc.CallOption) error {
	p, opts, err := r.resolve(method, opts)
	if err != nil {
		return &callOptionError{err: err}
	}
	t := r.target(cc)
	t.call()
	if p.hedgeAttempts > 1 && p.maxAttempts > 1 && r.idempotent(method, p) {
		if err, ok := r.hedge(ctx, method, req, reply, cc, invoker, opts, p, t); ok {
			return err
		}
	}
	pushback, timedOut, err := r.attempt(ctx, 1, "", method, req, reply, cc, invoker, opts, p, t)
	if err == nil {
		t.succeeded()
		return nil
	}
	return r.retryUnary(ctx, method, req, reply, cc, invoker, opts, p, t, err, pushback, timedOut)
}

// retryUnary retries a unary call whose first attempt failed with err.
func (r *Retrier) retryUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts []grpc.CallOption, p *policy, t *target, err error, pushback time.Duration, timedOut bool) error {
	c := call{r: r, ctx: ctx, method: method, cc: cc, t: t, p: p}
	id, idSet := "", false // what the attempts after the first send as x-request-id
	for n := 1; ; n++ {
		delay, stop := c.next(n, err, pushback, timedOut)
		if stop != nil {
			return stop
		}
		if stop := c.wait(n, delay); stop != nil {
			return stop
		}
		if !idSet {
			id, idSet = laterRequestID(ctx, err), true
		}
		pushback, timedOut, err = r.attempt(ctx, n+1, id, method, req, reply, cc, invoker, opts, p, t)
		if err == nil {
			t.succeeded()
			c.finish(n+1, nil, StopSucceeded)
			return nil
		}
	}
}

// attempt makes attempt n of a unary call, which after the first sends id
// as x-request-id unless id is "" (see laterRequestID). It reads the
// attempt's trailer unless it is the first attempt of a call to a target
// not known to send pushback, and reports whether the per-attempt timeout
// ended it.
func (r *Retrier) attempt(ctx context.Context, n int, id, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts []grpc.CallOption, p *policy, t *target) (pushback time.Duration, timedOut bool, err error) {
	actx := ctx
	if n > 1 {
		actx = laterAttempt(ctx, n, id)
	}
	var cancel context.CancelFunc
	if p.perAttemptTimeout > 0 {
		actx, cancel = outcome.WithAttemptTimeout(actx, p.perAttemptTimeout)
	}
	pushback = outcome.NoPushback
	if n > 1 || t.pushback.Load() {
		c := captureTrailer(opts)
		err = invoker(actx, method, req, reply, cc, c.opts...)
		pushback, _ = c.done()
		r.sawPushback(t, pushback)
	} else {
		err = invoker(actx, method, req, reply, cc, opts...)
	}
	if cancel != nil {
		timedOut = outcome.AttemptTimedOut(actx, err)
		cancel()
	}
	return pushback, timedOut, err
}

// sawPushback notes that t sends pushback trailers, so that with
// TrailerAuto the first attempts of its calls read them too.
func (r *Retrier) sawPushback(t *target, pushback time.Duration) {
	if pushback != outcome.NoPushback && r.opts.trailer == TrailerAuto && !t.pushback.Load() {
		t.pushback.Store(true)
	}
}

// hasCallOption reports whether opts holds one of the Retrier's call
// options. It is the only work the fast path does on the call options.
func hasCallOption(opts []grpc.CallOption) bool {
	for _, o := range opts {
		switch o.(type) {
		case CallOption, *CallOption:
			return true
		}
	}
	return false
}

// policyFor returns the policy of method: the Retrier's, or the method's
// own (WithMethodPolicy).
func (r *Retrier) policyFor(method string) *policy {
	if r.methods != nil {
		if p, ok := r.methods[method]; ok {
			return p
		}
	}
	return &r.opts.policy
}

// resolve returns the policy of a call (the method's, with the call's
// options applied) and the call options without the Retrier's. Without
// call options it returns the method's policy itself, which must not be
// changed.
func (r *Retrier) resolve(method string, opts []grpc.CallOption) (*policy, []grpc.CallOption, error) {
	base := r.policyFor(method)
	if !hasCallOption(opts) {
		return base, opts, nil
	}
	p := *base
	kept := make([]grpc.CallOption, 0, len(opts)-1)
	for _, o := range opts {
		var co CallOption
		switch o := o.(type) {
		case CallOption:
			co = o
		case *CallOption:
			if o != nil {
				co = *o
			}
		default:
			kept = append(kept, o)
			continue
		}
		switch {
		case co.err != nil:
			return nil, nil, co.err
		case co.set == nil:
			return nil, nil, errZeroCallOption
		}
		p = co.set(p)
	}
	return &p, kept, nil
}

// call is the retry state of one call, kept by the goroutine that decides
// its retries.
type call struct {
	r      *Retrier
	ctx    context.Context
	method string
	cc     *grpc.ClientConn
	t      *target
	p      *policy
	hedged bool

	retries int           // backoff retries since the start or the last server delay
	prev    time.Duration // the last backoff delay
}

// next decides what follows attempt n, which failed with err: the delay
// before attempt n+1, or the error to return (err itself, or a
// *BudgetError).
func (c *call) next(n int, err error, pushback time.Duration, timedOut bool) (time.Duration, error) {
	o := c.r.opts.classifier.Classify(c.ctx, outcome.Result{Err: err, Pushback: pushback, AttemptTimedOut: timedOut})
	server, reason, stopPushback, hasServer := serverDelay(err, pushback)
	if o.Retryable() || stopPushback {
		c.t.failed()
	}
	switch {
	case c.ctx.Err() != nil:
		return 0, c.finish(n, err, StopContext)
	case stopPushback:
		return 0, c.finish(n, err, StopPushback)
	case !o.Retryable():
		return 0, c.finish(n, err, StopNotRetryable)
	case n >= c.p.maxAttempts:
		return 0, c.finish(n, err, StopMaxAttempts)
	case !c.r.safeToRetry(c.method, c.p, err):
		return 0, c.finish(n, err, StopNotSafe)
	case c.r.opts.checkService && c.cc != nil && c.cc.GetMethodConfig(c.method).RetryPolicy != nil:
		return 0, c.finish(n, err, StopServiceConfig)
	}
	delay := c.delay(server, hasServer)
	if !hasServer {
		reason = DelayBackoff
	}
	if dl, ok := c.ctx.Deadline(); ok && time.Until(dl) < delay+c.p.minAttemptTime {
		return 0, c.finish(n, err, StopDeadline)
	}
	if c.circuitOpenAfter(delay) {
		return 0, c.finish(n, err, StopCircuitOpen)
	}
	ok, level := c.t.tryRetry()
	if !ok {
		return 0, c.finish(n, &BudgetError{Target: c.t.name, Attempts: n, Err: err}, StopBudget)
	}
	c.r.opts.observer.OnRetry(c.ctx, RetryEvent{
		Method: c.method, Target: c.t.name, Attempt: n + 1,
		Delay: delay, Reason: reason, Err: err, Budget: level,
	})
	return delay, nil
}

// circuitOpenAfter reports whether the circuit breaker inside the Retrier
// (WithCircuitGate) will still refuse the call's attempts after delay.
func (c *call) circuitOpenAfter(delay time.Duration) bool {
	return c.r.opts.openFor != nil && c.cc != nil && c.r.opts.openFor(c.cc.Target(), c.method) > delay
}

// delay returns the wait before the next attempt: the server's delay,
// capped, when it set one (hasServer), else the backoff's. A server delay
// restarts the backoff (gRFC A6).
func (c *call) delay(server time.Duration, hasServer bool) time.Duration {
	if hasServer {
		c.retries, c.prev = 0, 0
		return min(server, c.p.maxServerDelay)
	}
	c.retries++
	d := c.p.backoff.randomDelay(c.retries, c.prev, c.r.opts.random)
	c.prev = d
	return d
}

// wait sleeps d, or returns the error of the caller's context if it ends
// first.
func (c *call) wait(n int, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	select {
	case <-timer.C:
		return nil
	case <-c.ctx.Done():
		timer.Stop()
		return c.finish(n, status.FromContextError(c.ctx.Err()).Err(), StopContext)
	}
}

// finish reports the end of the call to the observer and returns err.
func (c *call) finish(attempts int, err error, reason StopReason) error {
	c.r.opts.observer.OnFinish(c.ctx, FinishEvent{
		Method: c.method, Target: c.t.name, Attempts: attempts, Err: err, Reason: reason, Hedged: c.hedged,
	})
	return err
}
