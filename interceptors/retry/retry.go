package retry

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/internal/attempt"
	"github.com/bulwarkrpc/bulwark/internal/endpoint"
)

// Retrier retries failed client calls; its methods return the interceptors.
// The unary and stream interceptors of one Retrier share its budgets (one
// per target) and its cache of method idempotency. It is safe for
// concurrent use, and the client chains change its options while calls
// run (see Reconfiguration in the package documentation).
type Retrier struct {
	// cfg is what every call reads of the Retrier's options, loaded once
	// per call; a reconfiguration (prepare) swaps it whole.
	cfg atomic.Pointer[config]
	// mu orders the making of targets with reconfigurations, so that every
	// target's budget has the parameters of the configuration in force.
	// Only a call to a target not seen yet takes it.
	mu sync.Mutex

	idempotency sync.Map // full method -> bool
	targets     sync.Map // target name -> *target
	lastTarget  atomic.Pointer[targetEntry]
}

// config is one configuration of a Retrier: its options, and what calls
// derive from them. It is never changed once made; a call loads it once
// and keeps it to its end.
type config struct {
	opts options
	// slow is true when every unary call needs work before its first
	// attempt (a per-attempt timeout, hedging); slowMethods holds the
	// methods whose own policy needs it.
	slow        bool
	slowMethods map[string]bool
	methods     map[string]*policy
}

// New returns a Retrier, or an error naming the first option that is
// invalid.
func New(opts ...Option) (*Retrier, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	r := &Retrier{}
	r.cfg.Store(cfg)
	return r, nil
}

// newConfig makes the configuration opts describe, or returns the error
// naming the first option that is invalid.
func newConfig(opts []Option) (*config, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	cfg := &config{opts: o, slow: o.policy.firstAttemptWork()}
	if len(o.methods) > 0 {
		cfg.methods = make(map[string]*policy, len(o.methods))
		for m, cos := range o.methods {
			p := o.policy
			for _, c := range cos {
				p = c.set(p)
			}
			cfg.methods[m] = &p
			if p.firstAttemptWork() {
				if cfg.slowMethods == nil {
					cfg.slowMethods = make(map[string]bool)
				}
				cfg.slowMethods[m] = true
			}
		}
	}
	return cfg, nil
}

// UnaryClientInterceptor returns the client-side unary interceptor. It makes
// the first attempt with the caller's context and call options untouched;
// only when it fails does it classify the error, look up the method's
// idempotency, consult the budget and retry (see the package
// documentation). It returns the last attempt's error, or a error matching ErrBudgetExhausted
// wrapping it.
//
//go:noinline
func (r *Retrier) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	// The fast path is written out here, in the closure, so that a call
	// whose first attempt succeeds makes no call but the invoker's and
	// the budget's. The method is not inlined, so that its closure is
	// compiled once, here.
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if endpoint.Active() {
			// An outlier-ejecting balancer records each attempt's endpoint
			// in the slot, and sends the next attempt elsewhere.
			ctx, _ = endpoint.WithSlot(ctx)
		}
		cfg := r.cfg.Load()
		if cfg.slow || hasCallOption(opts) || (cfg.slowMethods != nil && cfg.slowMethods[method]) {
			return r.unarySlow(ctx, cfg, method, req, reply, cc, invoker, opts)
		}
		var t *target
		if e := r.lastTarget.Load(); e != nil && e.cc == cc {
			t = e.t
		} else {
			t = r.targetSlow(cc)
		}
		if t.pushback.Load() {
			return r.unarySlow(ctx, cfg, method, req, reply, cc, invoker, opts)
		}
		t.call()
		err := invoker(ctx, method, req, reply, cc, opts...)
		if err == nil {
			t.succeeded()
			return nil
		}
		c := call{r: r, cfg: cfg, method: method, cc: cc, t: t, p: cfg.policyFor(method), req: req, reply: reply, invoker: invoker, opts: opts}
		return c.retry(ctx, result{err: err, pushback: noPushback})
	}
}

// unarySlow is a unary call that needs work before its first attempt: call
// options to apply, a per-attempt timeout, hedging, or a trailer to read.
// cfg is the configuration the call started with.
func (r *Retrier) unarySlow(ctx context.Context, cfg *config, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts []grpc.CallOption) error {
	p, opts, err := cfg.resolve(method, opts)
	if err != nil {
		return &callOptionError{err: err}
	}
	c := call{r: r, cfg: cfg, method: method, cc: cc, t: r.target(cc), p: p, req: req, reply: reply, invoker: invoker, opts: opts}
	c.t.call()
	if p.hedgeAttempts > 1 && p.maxAttempts > 1 && r.idempotent(method, p) {
		// Each hedged attempt needs a reply of its own.
		if template, ok := reply.(proto.Message); ok {
			hc := c
			hc.hedged = true
			return hc.hedge(ctx, template)
		}
	}
	res := c.attempt(ctx, 1)
	if res.err == nil {
		c.t.succeeded()
		return nil
	}
	return c.retry(ctx, res)
}

// result is how an attempt ended.
type result struct {
	err      error
	pushback time.Duration // the grpc-retry-pushback-ms read, or noPushback
	timedOut bool          // the per-attempt timeout ended it
}

// retry retries a unary call whose first attempt failed with res.
func (c *call) retry(ctx context.Context, res result) error {
	for n := 1; ; n++ {
		delay, stop := c.next(ctx, n, res)
		if stop != nil {
			return stop
		}
		if stop := c.wait(ctx, n, delay); stop != nil {
			return stop
		}
		c.setLaterID(ctx, res.err)
		if res = c.attempt(ctx, n+1); res.err == nil {
			c.t.succeeded()
			c.finish(ctx, n+1, nil, stopSucceeded)
			return nil
		}
	}
}

// attempt makes attempt n of a unary call. It reads the attempt's trailer
// unless it is the first attempt of a call to a target not known to send
// pushback.
func (c *call) attempt(ctx context.Context, n int) result {
	actx, cancel := c.attemptContext(ctx, n)
	res := result{pushback: noPushback}
	if n > 1 || c.t.pushback.Load() {
		tc := captureTrailer(c.opts)
		res.err = c.invoker(actx, c.method, c.req, c.reply, c.cc, tc.opts...)
		res.pushback, _ = tc.done()
		c.sawPushback(res.pushback)
	} else {
		res.err = c.invoker(actx, c.method, c.req, c.reply, c.cc, c.opts...)
	}
	if cancel != nil {
		res.timedOut = attempt.TimedOut(actx, res.err)
		cancel()
	}
	return res
}

// attemptContext returns the context of attempt n of a unary call: after
// the first, with grpc-previous-rpc-attempts and c.laterID (see
// laterAttempt); with the per-attempt timeout, if any, whose cancel it
// returns too (nil otherwise).
func (c *call) attemptContext(ctx context.Context, n int) (context.Context, context.CancelFunc) {
	if n > 1 {
		ctx = laterAttempt(ctx, n, c.laterID)
	}
	if c.p.perAttemptTimeout > 0 {
		return attempt.WithTimeout(ctx, c.p.perAttemptTimeout)
	}
	return ctx, nil
}

// sawPushback notes that the call's target sends pushback trailers, so
// that with trailerAuto the first attempts of its calls read them too.
func (c *call) sawPushback(pushback time.Duration) {
	if pushback != noPushback && c.cfg.opts.trailer == trailerAuto && !c.t.pushback.Load() {
		c.t.pushback.Store(true)
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
func (cfg *config) policyFor(method string) *policy {
	if cfg.methods != nil {
		if p, ok := cfg.methods[method]; ok {
			return p
		}
	}
	return &cfg.opts.policy
}

// resolve returns the policy of a call (the method's, with the call's
// options applied) and the call options without the Retrier's. Without
// call options it returns the method's policy itself, which must not be
// changed.
func (cfg *config) resolve(method string, opts []grpc.CallOption) (*policy, []grpc.CallOption, error) {
	base := cfg.policyFor(method)
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
		if err := co.checkCap(cfg.opts.attemptsCap, ""); err != nil {
			return nil, nil, err
		}
		p = co.applyTo(p, cfg.opts.attemptsCap)
	}
	return &p, kept, nil
}

// call is the retry state of one call, kept by the goroutine that decides
// its retries. The unary fields are unset for a stream.
type call struct {
	r      *Retrier
	cfg    *config // the configuration the call started with
	method string
	cc     *grpc.ClientConn
	t      *target
	p      *policy
	hedged bool

	// What each attempt of a unary call passes to the invoker.
	req, reply any
	invoker    grpc.UnaryInvoker
	opts       []grpc.CallOption

	retries int // backoff retries since the start or the last server delay
	// laterID is what the attempts after the first send as x-request-id
	// (see laterRequestID), set once by setLaterID before the second
	// attempt starts, and only read after that.
	laterID    string
	laterIDSet bool
}

// setLaterID sets c.laterID, once, from the error of the first failed
// attempt (nil for a hedge that no failure preceded).
func (c *call) setLaterID(ctx context.Context, err error) {
	if !c.laterIDSet {
		c.laterID, c.laterIDSet = laterRequestID(ctx, err), true
	}
}

// verdict is what judge decides after a failed attempt.
type verdict struct {
	outcome outcome.Outcome // the attempt's
	retry   bool            // another attempt may follow,
	delay   time.Duration   // after this delay,
	reason  string          // which came from here;
	stop    string          // else why none may
}

// judge decides whether another attempt may follow attempt n, which ended
// with res, and when: the stop rules, in order, then the delay (see when).
// The rules are the same for every kind of call: unary, stream and hedged.
// judge counts the failure in the token bucket but takes nothing from the
// budget: admit does, when the next attempt is about to wait or go.
func (c *call) judge(ctx context.Context, n int, res result) verdict {
	o := c.cfg.opts.classifier(ctx, outcome.Attempt{Err: res.err, Pushback: res.pushback, HasPushback: res.pushback != noPushback, AttemptTimedOut: res.timedOut})
	server, reason, stop, hasServer := serverDelay(res.err, res.pushback)
	if attempt.Retryable(o) || stop {
		c.t.failed()
	}
	v := verdict{outcome: o}
	switch {
	case ctx.Err() != nil:
		v.stop = stopContext
	case stop:
		v.stop = stopPushback
	case !attempt.Retryable(o):
		v.stop = stopNotRetryable
	case n >= c.maxAttempts():
		v.stop = stopMaxAttempts
	case !c.r.safeToRetry(c.method, c.p, res.err):
		v.stop = stopNotSafe
	case !c.hedged && c.leftToGRPC():
		v.stop = stopServiceConfig
	default:
		v.retry = true
		v.delay, v.reason = c.when(server, reason, hasServer)
	}
	return v
}

// maxAttempts returns how many attempts the call may make in all.
func (c *call) maxAttempts() int {
	if c.hedged {
		return c.p.hedgeAttempts
	}
	return c.p.maxAttempts
}

// leftToGRPC reports whether gRPC's own retryPolicy is on for the method,
// so that the Retrier leaves retrying to gRPC (WithServiceConfigCheck).
func (c *call) leftToGRPC() bool {
	return c.cfg.opts.checkService && c.cc != nil && c.cc.GetMethodConfig(c.method).RetryPolicy != nil
}

// when returns the delay before the next attempt: the server's, capped,
// when it set one (hasServer); else, for a hedged call, none (the next
// hedge goes at once), or the backoff's. A server delay restarts the
// backoff (gRFC A6). A hedged call takes a server delay of zero as none.
func (c *call) when(server time.Duration, reason string, hasServer bool) (time.Duration, string) {
	switch {
	case hasServer && (server > 0 || !c.hedged):
		c.retries = 0
		return min(server, c.p.maxServerDelay), reason
	case c.hedged:
		return 0, delayHedge
	}
	c.retries++
	d := c.p.backoff.randomDelay(c.retries, c.cfg.opts.random)
	return d, delayBackoff
}

// admit decides whether attempt n+1 may go once wait has passed: the
// caller's deadline must leave time for the wait and an attempt (fits),
// the circuit breaker inside the Retrier must let it through by then, and
// the budget must allow a retry, which admit takes. It then reports the
// attempt to the observer (ev, completed) and returns true; otherwise it
// returns why not. A retry is admitted before its wait; a hedge when it is
// sent (gRFC A6 throttles hedges as they are sent).
func (c *call) admit(ctx context.Context, n int, wait time.Duration, ev RetryEvent) (string, bool) {
	switch {
	case !c.fits(ctx, wait):
		return stopDeadline, false
	case c.circuitOpenAfter(wait):
		return stopCircuitOpen, false
	}
	ok, level := c.t.tryRetry()
	if !ok {
		return stopBudget, false
	}
	ev.Method, ev.Target, ev.Attempt, ev.Budget = c.method, c.t.name, n+1, level
	if c.cfg.opts.observer.OnRetry != nil {
		c.cfg.opts.observer.OnRetry(ctx, ev)
	}
	return "", true
}

// fits reports whether the caller's deadline leaves time for wait and an
// attempt (WithMinAttemptTime).
func (c *call) fits(ctx context.Context, wait time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) >= wait+c.p.minAttemptTime
}

// circuitOpenAfter reports whether the circuit breaker inside the Retrier
// (withCircuitGate) will still refuse the call's attempts after delay.
func (c *call) circuitOpenAfter(delay time.Duration) bool {
	return c.cfg.opts.openFor != nil && c.cc != nil && c.cfg.opts.openFor(c.cc.Target(), c.method) > delay
}

// next decides what follows attempt n of a call that is not hedged, which
// failed with res: the delay before attempt n+1, already admitted, or the
// error to return (res.err itself, or a error matching ErrBudgetExhausted).
func (c *call) next(ctx context.Context, n int, res result) (time.Duration, error) {
	v := c.judge(ctx, n, res)
	if !v.retry {
		return 0, c.finish(ctx, n, res.err, v.stop)
	}
	if stop, ok := c.admit(ctx, n, v.delay, RetryEvent{Delay: v.delay, Reason: v.reason, Err: res.err}); !ok {
		return 0, c.finish(ctx, n, c.stopError(n, res.err, stop), stop)
	}
	return v.delay, nil
}

// stopError returns the error of a call that stops for reason after n
// attempts, the last failing with err: a error matching ErrBudgetExhausted when the budget
// stopped it, else err.
func (c *call) stopError(n int, err error, reason string) error {
	if reason == stopBudget {
		return &budgetError{target: c.t.name, attempts: n, err: err}
	}
	return err
}

// wait sleeps d, or returns the error of the caller's context if it ends
// first.
func (c *call) wait(ctx context.Context, n int, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		timer.Stop()
		return c.finish(ctx, n, status.FromContextError(ctx.Err()).Err(), stopContext)
	}
}

// finish reports the end of the call to the observer and returns err.
func (c *call) finish(ctx context.Context, attempts int, err error, reason string) error {
	if c.cfg.opts.observer.OnFinish != nil {
		c.cfg.opts.observer.OnFinish(ctx, FinishEvent{
			Method: c.method, Target: c.t.name, Attempts: attempts, Err: err, Reason: reason, Hedged: c.hedged,
		})
	}
	return err
}
