package retry

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/internal/method"
	"github.com/bulwarkrpc/bulwark/internal/retrystate"
)

// The defaults, from DESIGN.md (section 7) and gRFC A6; each option's doc
// states its own.
const (
	defaultMaxAttempts       = 3                      // WithMaxAttempts
	defaultInitialBackoff    = 100 * time.Millisecond // WithBackoff
	defaultMaxBackoff        = time.Second            // WithBackoff
	defaultMultiplier        = 2.0                    // WithBackoff
	defaultJitterFraction    = 0.2                    // WithJitter
	defaultMaxServerDelay    = 30 * time.Second       // WithMaxServerDelay
	defaultMinAttemptTime    = time.Millisecond       // WithMinAttemptTime
	defaultBufferLimit       = 256 << 10              // WithBufferLimit
	defaultTargetBufferLimit = 16 << 20               // WithTargetBufferLimit
	defaultBudgetRatio       = 0.2                    // WithBudget
	defaultBudgetPerSecond   = 10.0                   // WithBudget
	defaultBudgetWindow      = 10 * time.Second       // WithBudget
)

// An Option configures a Retrier. Options that make sense for a single call
// are CallOptions, which can also be passed to the call itself.
type Option interface {
	apply(*options)
}

// A CallOption is an Option that is also a grpc.CallOption: passed to New it
// sets the Retrier's default, passed to a call (or to WithMethodPolicy) it
// overrides that default for the call (or the method) only. For example
// client.Get(ctx, req, retry.WithMaxAttempts(1)) makes one attempt. The
// interceptor removes its own call options before the call goes on.
//
// A call option with an invalid value fails the call at once with an error
// of code INTERNAL, since it cannot be refused
// earlier.
type CallOption struct {
	grpc.EmptyCallOption
	set func(policy) policy
	err error
	// attempts is how many attempts the option asks for (WithMaxAttempts,
	// WithHedging), checked against the Retrier's cap wherever the option
	// is given; 0 for the other options. hedge and delay are WithHedging's,
	// to name the option in the error.
	attempts int
	hedge    bool
	delay    time.Duration
	// source is where the option comes from, which decides how the
	// Retrier's cap applies to it.
	source optionSource
}

// optionSource is where a CallOption comes from.
type optionSource uint8

const (
	// fromCode: the program's own option; asking for more attempts than
	// the Retrier's cap is refused.
	fromCode optionSource = iota
	// fromServiceConfig: a service config Bulwark parses (retrystate.Clamp);
	// the attempts above the cap are treated as the cap (gRFC A6).
	fromServiceConfig
	// fromChannel: the channel's method config (retrystate.ChannelCapped),
	// which gRPC has already held to the channel's cap.
	fromChannel
)

// checkCap returns the error for c asking for more attempts than limit
// (within names where it was given, when not ""), or nil. Only the
// program's own options are refused.
func (c CallOption) checkCap(limit int, within string) error {
	if c.source != fromCode || c.attempts <= limit {
		return nil
	}
	name := fmt.Sprintf("WithMaxAttempts(%d)", c.attempts)
	if c.hedge {
		name = fmt.Sprintf("WithHedging(%v, %d)", c.delay, c.attempts)
	}
	if within != "" {
		name = within + ": " + name
	}
	return invalid("%s: above the attempts cap of %d (WithAttemptsCap raises it)", name, limit)
}

// applyTo returns p with c applied, the attempts c asks for held to limit
// when c comes from a service config Bulwark parses.
func (c CallOption) applyTo(p policy, limit int) policy {
	p = c.set(p)
	if c.source == fromServiceConfig && c.attempts > limit {
		if c.hedge {
			p.hedgeAttempts = limit
		} else {
			p.maxAttempts = limit
		}
	}
	return p
}

func (c CallOption) apply(o *options) {
	switch {
	case c.err != nil:
		o.errs = append(o.errs, c.err)
	case c.set == nil:
		o.errs = append(o.errs, errZeroCallOption)
	default:
		o.policy = c.set(o.policy)
		if c.attempts > 0 {
			o.asked = append(o.asked, askedAttempts{opt: c})
		}
	}
}

var errZeroCallOption = invalid("zero CallOption: make call options with the With functions")

// policy is what a call option can change: the settings of one call.
type policy struct {
	maxAttempts       int
	backoff           backoff
	perAttemptTimeout time.Duration
	maxServerDelay    time.Duration
	minAttemptTime    time.Duration
	bufferLimit       int
	safe              int8 // 0: from the method descriptor; 1: safe; -1: unsafe
	hedgeDelay        time.Duration
	hedgeAttempts     int // <= 1: no hedging
}

// firstAttemptWork reports whether p needs work before the first attempt
// (a per-attempt context or hedging), so the call cannot take the fast path.
func (p *policy) firstAttemptWork() bool {
	return p.perAttemptTimeout > 0 || p.hedgeAttempts > 1
}

type budgetKind uint8

const (
	budgetWindow budgetKind = iota
	budgetTokens
	budgetNone
)

type options struct {
	policy     policy
	classifier outcome.Classifier
	observer   Observer

	budget      budgetKind
	budgetBy    string // the option that set budget, as written; "" for the default
	ratio       float64
	perSecond   float64
	window      time.Duration
	maxTokens   float64
	tokenRatio  float64
	methods     map[string][]CallOption
	attemptsCap int // WithAttemptsCap's
	// asked holds the options given to New that ask for a number of
	// attempts, with where they were given, for the cap's check.
	asked        []askedAttempts
	trailer      trailerMode
	checkService bool
	// openFor is withCircuitGate's function; nil: none.
	openFor func(target, fullMethod string) time.Duration
	// targetBufferLimit is WithTargetBufferLimit's.
	targetBufferLimit int64
	random            func() float64 // uniform in [0, 1), for jitter

	errs []error
}

// askedAttempts is an option that asks for a number of attempts, and the
// option it was given within ("" for New itself).
type askedAttempts struct {
	opt    CallOption
	within string
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

func callOption(set func(*policy), err error) CallOption {
	if set == nil {
		return CallOption{err: err}
	}
	f := func(p policy) policy {
		set(&p)
		return p
	}
	return CallOption{set: f, err: err}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("retry: "+format, args...)
}

// WithMaxAttempts sets how many attempts a call may make in all, the first
// included: 1 disables retries, 3 means the first attempt and up to two
// retries. Values below 1 are refused, and so are values above the
// Retrier's cap: 5, gRFC A6's, unless WithAttemptsCap raises it (by New,
// or by the call it is passed to). Default: 3.
func WithMaxAttempts(n int) CallOption {
	var err error
	switch {
	case n < 1:
		err = invalid("WithMaxAttempts(%d): must be at least 1", n)
	case n > retrystate.AttemptsCeiling:
		err = invalid("WithMaxAttempts(%d): must be at most %d, the highest attempts cap (WithAttemptsCap)", n, retrystate.AttemptsCeiling)
	}
	c := callOption(func(p *policy) { p.maxAttempts = n }, err)
	c.attempts = n
	return c
}

// WithBackoff sets the exponential backoff between attempts: the n-th retry
// waits initial×multiplier^(n-1), at most maxDelay, before jitter (see
// WithJitter). initial zero means retry at once; multiplier must be at least
// 1 and maxDelay at least initial. A server's delay (RetryInfo or
// grpc-retry-pushback-ms) replaces the backoff for the retry it precedes, and
// the backoff starts again from initial after it (gRFC A6). Default: 100 ms,
// 2, 1 s.
func WithBackoff(initial time.Duration, multiplier float64, maxDelay time.Duration) CallOption {
	var err error
	switch {
	case initial < 0:
		err = invalid("WithBackoff(%v, %v, %v): initial must not be negative", initial, multiplier, maxDelay)
	case multiplier < 1 || math.IsNaN(multiplier) || math.IsInf(multiplier, 0):
		err = invalid("WithBackoff(%v, %v, %v): multiplier must be a finite number of at least 1", initial, multiplier, maxDelay)
	case maxDelay < initial:
		err = invalid("WithBackoff(%v, %v, %v): maximum must be at least initial", initial, multiplier, maxDelay)
	}
	return callOption(func(p *policy) {
		p.backoff.initial, p.backoff.multiplier, p.backoff.max = initial, multiplier, maxDelay
	}, err)
}

// WithJitter spreads each backoff delay uniformly within ±fraction of the
// exponential delay (0.2: from 80% to 120%), so that clients that failed
// together do not retry together; jitter never takes a delay above the
// backoff's maximum. fraction must be between 0 and 1; 0 means no jitter.
// Default: 0.2.
func WithJitter(fraction float64) CallOption {
	var err error
	if fraction < 0 || fraction > 1 || math.IsNaN(fraction) {
		err = invalid("WithJitter(%v): fraction must be between 0 and 1", fraction)
	}
	return callOption(func(p *policy) { p.backoff.jitter = fraction }, err)
}

// WithPerAttemptTimeout bounds each attempt of a unary call: an attempt that
// runs longer is cancelled and, when the caller's deadline leaves time,
// retried (the classifier sees AttemptTimedOut). It costs one
// context.WithTimeout per attempt, the first included, so a call with it
// does not take the allocation-free fast path. Streams ignore it: a
// per-attempt timeout would end long-lived streams. Zero means no
// per-attempt timeout; negative is refused. Default: none.
func WithPerAttemptTimeout(d time.Duration) CallOption {
	var err error
	if d < 0 {
		err = invalid("WithPerAttemptTimeout(%v): must not be negative", d)
	}
	return callOption(func(p *policy) { p.perAttemptTimeout = d }, err)
}

// WithMaxServerDelay caps the delay a server may impose through RetryInfo or
// grpc-retry-pushback-ms: a longer one is cut to d. It must be positive.
// Default: 30 s.
func WithMaxServerDelay(d time.Duration) CallOption {
	var err error
	if d <= 0 {
		err = invalid("WithMaxServerDelay(%v): must be positive", d)
	}
	return callOption(func(p *policy) { p.maxServerDelay = d }, err)
}

// WithMinAttemptTime sets the least time an attempt needs: a retry is not
// started when the caller's deadline leaves less than its delay plus d, and
// the call returns the last attempt's error at once instead of sleeping
// towards a deadline it cannot meet. Zero requires only that the delay fit;
// negative is refused. It is the client's side of the server's
// deadline.WithMinRemaining, which refuses requests with that little time
// left (one idea under two names for now); the defaults match. Default:
// 1 ms.
func WithMinAttemptTime(d time.Duration) CallOption {
	var err error
	if d < 0 {
		err = invalid("WithMinAttemptTime(%v): must not be negative", d)
	}
	return callOption(func(p *policy) { p.minAttemptTime = d }, err)
}

// WithBufferLimit sets how many bytes of sent messages (by proto.Size) a
// stream keeps to replay on a new attempt. Sending past the limit commits
// the stream: it is not retried after that. Zero commits a stream at its
// first sent message; negative is refused. Default: 256 KiB.
func WithBufferLimit(bytes int) CallOption {
	var err error
	if bytes < 0 {
		err = invalid("WithBufferLimit(%d): must not be negative", bytes)
	}
	return callOption(func(p *policy) { p.bufferLimit = bytes }, err)
}

// WithSafeToRetry overrides what the method descriptor's idempotency_level
// says: true allows retrying after the server may have processed the
// request, false forbids it. Errors that prove the request was not
// processed (a local reject, or an ApplicationError marked unprocessed)
// are retried either way. Default: the
// descriptor decides (IDEMPOTENT and NO_SIDE_EFFECTS are safe).
func WithSafeToRetry(safe bool) CallOption {
	return callOption(func(p *policy) {
		p.safe = -1
		if safe {
			p.safe = 1
		}
	}, nil)
}

// WithHedging turns on hedging for unary calls to methods that are safe to
// retry: the first attempt is sent at once, and while no attempt has
// answered, another is sent every delay, up to maxAttempts in all (gRFC A6).
// The first answer that is not a retryable failure wins and the others are
// cancelled; a retryable failure sends the next attempt at once; every
// attempt after the first draws on the retry budget. Hedging needs
// goroutines and per-attempt state, so hedged calls do not take the fast
// path. maxAttempts 1 turns hedging off; a negative delay, maxAttempts
// below 1 and maxAttempts above the Retrier's cap (5 unless WithAttemptsCap
// raises it) are refused. Default: off.
func WithHedging(delay time.Duration, maxAttempts int) CallOption {
	var err error
	switch {
	case delay < 0:
		err = invalid("WithHedging(%v, %d): delay must not be negative", delay, maxAttempts)
	case maxAttempts < 1:
		err = invalid("WithHedging(%v, %d): maxAttempts must be at least 1", delay, maxAttempts)
	case maxAttempts > retrystate.AttemptsCeiling:
		err = invalid("WithHedging(%v, %d): maxAttempts must be at most %d, the highest attempts cap (WithAttemptsCap)", delay, maxAttempts, retrystate.AttemptsCeiling)
	}
	c := callOption(func(p *policy) { p.hedgeDelay, p.hedgeAttempts = delay, maxAttempts }, err)
	c.attempts, c.hedge, c.delay = maxAttempts, true, delay
	return c
}

// WithAttemptsCap sets the most attempts, the first included, that a call
// may make under the Retrier's own options: the cap that WithMaxAttempts
// and WithHedging are held to, wherever they are given, and to which a
// service config's hedgingPolicy maxAttempts is lowered
// (interceptors.WithServiceConfig). The default, 5, is gRFC A6's, which
// keeps a config pushed through DNS or a control plane from turning one
// call into many. A service config's retryPolicy is gRPC's to cap: gRPC
// lowers its maxAttempts to the channel's cap, which
// grpc.WithMaxCallAttempts raises, and the Retrier applies what gRPC
// gives it, up to 10. Values below 5 or above 10 are refused.
func WithAttemptsCap(n int) Option {
	return optionFunc(func(o *options) {
		if n < retrystate.MaxAttempts || n > retrystate.AttemptsCeiling {
			o.errs = append(o.errs, invalid("WithAttemptsCap(%d): must be from %d to %d", n, retrystate.MaxAttempts, retrystate.AttemptsCeiling))
			return
		}
		o.attemptsCap = n
	})
}

// WithClassifier sets the classifier that decides each attempt's outcome;
// only RetryableFailure and Shed are retried. nil is refused. Default:
// outcome.Default.
func WithClassifier(c outcome.Classifier) Option {
	return optionFunc(func(o *options) {
		if c == nil {
			o.errs = append(o.errs, invalid("WithClassifier(nil): the classifier must not be nil"))
			return
		}
		o.classifier = c
	})
}

// WithObserver adds an Observer that receives retries, stream commits and
// the end of every call whose first attempt failed. Given more than once,
// every hook of every Observer is called, in the order given (the client
// chain adds its metrics and logging first). Default: none.
func WithObserver(obs Observer) Option {
	return optionFunc(func(o *options) { o.observer.add(obs) })
}

// WithBudget sets the retry budget kept per target (cc.Target()): over the
// last window, retries and hedges may number at most ratio × calls +
// perSecond × window seconds (Finagle's and Linkerd's retry budget). A retry
// the budget refuses is not made: the call returns its last error, wrapped
// in one that matches ErrBudgetExhausted. ratio and perSecond must not be negative; window must be
// at least 10 ms (it is kept in 10 buckets). Zero ratio and perSecond allow
// no retries. A ratio of math.Inf(1) removes the budget (perSecond and
// window are then not used): every call may use all its attempts; only do
// this when something else (a circuit breaker, a concurrency limit) stops
// retry storms. It replaces WithTokenBucket. Default: 0.2, 10, 10 s.
func WithBudget(ratio, perSecond float64, window time.Duration) Option {
	return optionFunc(func(o *options) {
		switch {
		case math.IsInf(ratio, 1):
			o.budget = budgetNone
			o.budgetBy = fmt.Sprintf("WithBudget(%v, %v, %v)", ratio, perSecond, window)
		case ratio < 0 || math.IsNaN(ratio) || math.IsInf(ratio, 0):
			o.errs = append(o.errs, invalid("WithBudget(%v, %v, %v): ratio must be a finite number of at least 0", ratio, perSecond, window))
		case perSecond < 0 || math.IsNaN(perSecond) || math.IsInf(perSecond, 0):
			o.errs = append(o.errs, invalid("WithBudget(%v, %v, %v): perSecond must be a finite number of at least 0", ratio, perSecond, window))
		case window < 10*time.Millisecond:
			o.errs = append(o.errs, invalid("WithBudget(%v, %v, %v): window must be at least 10ms", ratio, perSecond, window))
		default:
			o.budget, o.ratio, o.perSecond, o.window = budgetWindow, ratio, perSecond, window
			o.budgetBy = fmt.Sprintf("WithBudget(%v, %v, %v)", ratio, perSecond, window)
		}
	})
}

// WithTokenBucket replaces the retry budget with gRFC A6's retry throttling,
// kept per target: a bucket of maxTokens tokens, less one for every attempt
// that fails retryably (or is told not to retry), plus tokenRatio for every
// call that succeeds; retries and hedges are allowed only while more than
// half the tokens remain. maxTokens must be in (0, 1000] and tokenRatio
// in (0, 1000]; tokens are counted in thousandths, as A6 specifies. gRPC's
// service config uses 10 and 0.1. It replaces WithBudget. Default:
// WithBudget is used instead.
func WithTokenBucket(maxTokens, tokenRatio float64) Option {
	return optionFunc(func(o *options) {
		switch {
		case !(maxTokens > 0 && maxTokens <= 1000):
			o.errs = append(o.errs, invalid("WithTokenBucket(%v, %v): maxTokens must be in (0, 1000]", maxTokens, tokenRatio))
		case !(tokenRatio > 0 && tokenRatio <= 1000):
			// More than 1000 refills any bucket with one success; the bound
			// also keeps the ratio's thousandths within an int64.
			o.errs = append(o.errs, invalid("WithTokenBucket(%v, %v): tokenRatio must be in (0, 1000]", maxTokens, tokenRatio))
		default:
			o.budget, o.maxTokens, o.tokenRatio = budgetTokens, maxTokens, tokenRatio
			o.budgetBy = fmt.Sprintf("WithTokenBucket(%v, %v)", maxTokens, tokenRatio)
		}
	})
}

// WithMethodPolicy overrides the Retrier's defaults for one method (its full
// name, "/package.Service/Method") with call options; options passed to a
// call override these in turn. Default: none.
func WithMethodPolicy(fullMethod string, opts ...CallOption) Option {
	return optionFunc(func(o *options) {
		addMethodPolicy(o, "WithMethodPolicy", fullMethod, opts)
	})
}

func addMethodPolicy(o *options, name, fullMethod string, opts []CallOption) {
	if err := validMethod(fullMethod); err != nil {
		o.errs = append(o.errs, invalid("%s(%q): %v", name, fullMethod, err))
		return
	}
	for _, c := range opts {
		if c.err != nil {
			o.errs = append(o.errs, c.err)
			return
		}
		if c.set == nil {
			o.errs = append(o.errs, errZeroCallOption)
			return
		}
	}
	if o.methods == nil {
		o.methods = make(map[string][]CallOption)
	}
	o.methods[fullMethod] = append(o.methods[fullMethod], opts...)
	for _, c := range opts {
		if c.attempts > 0 {
			o.asked = append(o.asked, askedAttempts{opt: c, within: fmt.Sprintf("%s(%q)", name, fullMethod)})
		}
	}
}

func validMethod(m string) error {
	if !method.Valid(m) {
		return errors.New(`must be a full method name, "/package.Service/Method"`)
	}
	return nil
}

// trailerMode says when the first attempt of a unary call reads the
// grpc-retry-pushback-ms trailer; see withFirstAttemptTrailer.
type trailerMode uint8

const (
	// trailerAuto reads the first attempt's trailer only for targets that
	// have sent a pushback trailer before (on a later attempt or a stream),
	// so servers that never push back cost nothing.
	trailerAuto trailerMode = iota
	// trailerAlways reads the first attempt's trailer on every call.
	trailerAlways
	// trailerNever never reads the first attempt's trailer.
	trailerNever
)

// withFirstAttemptTrailer sets when the first attempt of a unary call reads
// its grpc-retry-pushback-ms trailer; the tests set it (export_test.go),
// users get the default. Reading it means passing a
// grpc.Trailer call option, which costs time (about 30 ns, with a pooled
// holder) on every call, so by default it is read only once the target is
// known to send pushback. Without it the first retry's delay comes from the
// google.rpc.RetryInfo in the status details (which Bulwark servers send
// with every positive pushback). A Bulwark server's stop (negative
// pushback) is seen at once as well, since its status says not retryable;
// only a plain server's stop on the first attempt is seen from the second
// attempt on. Later attempts, and all stream attempts, always read the
// trailer. Default: trailerAuto.
func withFirstAttemptTrailer(m trailerMode) Option {
	return optionFunc(func(o *options) {
		if m > trailerNever {
			o.errs = append(o.errs, invalid("WithFirstAttemptTrailer(%d): unknown mode", m))
			return
		}
		o.trailer = m
	})
}

// WithServiceConfigCheck, when true, makes the Retrier look at the
// channel's service config (cc.GetMethodConfig) before its first retry of a
// call, and not retry when gRPC's own retryPolicy is on for the method:
// both retrying would multiply the attempts (3 × 4 = 12 with the usual
// settings). Turn it off when the channel was built with
// grpc.WithDisableRetry, which the Retrier cannot see. Default: true.
func WithServiceConfigCheck(on bool) Option {
	return optionFunc(func(o *options) { o.checkService = on })
}

// WithTargetBufferLimit bounds the bytes of sent messages (by proto.Size)
// that all the streams to one target keep, together, to replay on new
// attempts: gRFC A6's channel-wide retry buffer, beside each stream's own
// WithBufferLimit. A message that would take the target past it commits its
// stream, as one past the stream's own limit does, so that many concurrent
// streams cannot hold unbounded memory. A stream gives its share back when
// it commits, ends, or its context ends. Zero commits every stream at its
// first sent message; negative is refused. Default: 16 MiB.
func WithTargetBufferLimit(bytes int) Option {
	return optionFunc(func(o *options) {
		if bytes < 0 {
			o.errs = append(o.errs, invalid("WithTargetBufferLimit(%d): must not be negative", bytes))
			return
		}
		o.targetBufferLimit = int64(bytes)
	})
}

// withCircuitGate tells the Retrier how long the circuit breaker inside it
// (placed between the Retrier and the network) will still refuse calls to a
// target and method: openFor returns the remaining open time, 0 when calls
// go through. Before a retry or a hedge, the Retrier asks: when the breaker
// would still be open once the delay has passed, the attempt would only be
// refused locally, so the call ends at once with its last real error
// (the stop reason "circuit_open") instead of sleeping and then failing with CIRCUIT_OPEN,
// and no budget is spent. interceptors.NewClientChain sets it to its
// circuit's, through retrystate.CircuitGate and retrystate.RefusesFor. nil
// is refused.
func withCircuitGate(openFor func(target, fullMethod string) time.Duration) Option {
	return optionFunc(func(o *options) {
		if openFor == nil {
			o.errs = append(o.errs, invalid("WithCircuitGate(nil): the function must not be nil"))
			return
		}
		o.openFor = openFor
	})
}

func defaultOptions() options {
	return options{
		policy: policy{
			maxAttempts: defaultMaxAttempts,
			backoff: backoff{
				initial:    defaultInitialBackoff,
				multiplier: defaultMultiplier,
				max:        defaultMaxBackoff,
				jitter:     defaultJitterFraction,
			},
			maxServerDelay: defaultMaxServerDelay,
			minAttemptTime: defaultMinAttemptTime,
			bufferLimit:    defaultBufferLimit,
		},
		classifier:        outcome.Default,
		budget:            budgetWindow,
		ratio:             defaultBudgetRatio,
		perSecond:         defaultBudgetPerSecond,
		window:            defaultBudgetWindow,
		checkService:      true,
		targetBufferLimit: defaultTargetBufferLimit,
		attemptsCap:       retrystate.MaxAttempts,
		random:            rand.Float64,
	}
}

// withRandSource makes the jitter draw from src, for reproducible tests
// (export_test.go); the Retrier then serialises its draws with a mutex (only
// retries draw). nil is refused. Default: the runtime's per-thread
// generator, which needs no lock.
func withRandSource(src rand.Source) Option {
	return optionFunc(func(o *options) {
		if src == nil {
			o.errs = append(o.errs, invalid("WithRandSource(nil): the source must not be nil"))
			return
		}
		r := rand.New(src)
		var mu sync.Mutex
		o.random = func() float64 {
			mu.Lock()
			defer mu.Unlock()
			return r.Float64()
		}
	})
}

func newOptions(opts []Option) (options, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			o.errs = append(o.errs, invalid("New: nil Option"))
			continue
		}
		opt.apply(&o)
	}
	if len(o.errs) == 0 {
		// The cap may come after the options it holds: check them last.
		for _, a := range o.asked {
			if err := a.opt.checkCap(o.attemptsCap, a.within); err != nil {
				o.errs = append(o.errs, err)
			}
		}
	}
	return o, errors.Join(o.errs...)
}
