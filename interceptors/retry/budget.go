package retry

import (
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"

	"github.com/bulwarkrpc/bulwark/internal/retrystate"
	"github.com/bulwarkrpc/bulwark/internal/stripe"
)

// target is what a Retrier keeps per target (cc.Target()): its retry
// budget, and whether it has been seen to send pushback trailers.
type target struct {
	// Read by every call, written at most once.
	name     string
	window   *windowBudget // nil unless the budget is a window
	tokens   *tokenBucket  // nil unless the budget is a token bucket
	pushback atomic.Bool   // the target has sent a grpc-retry-pushback-ms trailer

	_        [cacheLine]byte // streams write what follows
	buffered atomic.Int64    // bytes the target's streams keep to replay (WithTargetBufferLimit)
}

// reserveBuffer takes n bytes of the target's replay buffer, unless that
// would take it past limit.
func (t *target) reserveBuffer(n, limit int64) bool {
	for {
		cur := t.buffered.Load()
		if cur+n > limit {
			return false
		}
		if t.buffered.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

// call counts a call (not an attempt) towards the window budget.
func (t *target) call() {
	if w := t.window; w != nil {
		w.total.Add(1)
	}
}

// succeeded records an attempt that ended with OK (token bucket only).
func (t *target) succeeded() {
	if b := t.tokens; b != nil {
		b.success()
	}
}

// failed records an attempt that failed retryably or was told not to retry
// (token bucket only).
func (t *target) failed() {
	if b := t.tokens; b != nil {
		b.failure()
	}
}

// tryRetry asks the budget for one retry or hedge, and takes it when
// allowed. level is what the budget holds afterwards: retries left in the
// window, or tokens.
func (t *target) tryRetry() (ok bool, level float64) {
	switch {
	case t.window != nil:
		return t.window.tryRetry(time.Now())
	case t.tokens != nil:
		return t.tokens.allow()
	}
	return true, math.Inf(1)
}

// level returns what the budget holds now; see tryRetry.
func (t *target) level() float64 {
	switch {
	case t.window != nil:
		return t.window.level(time.Now())
	case t.tokens != nil:
		_, l := t.tokens.allow()
		return l
	}
	return math.Inf(1)
}

// targetEntry caches the target of one ClientConn, so that the fast path
// finds it with one atomic load.
type targetEntry struct {
	cc *grpc.ClientConn
	t  *target
}

// target returns the state kept for cc's target.
func (r *Retrier) target(cc *grpc.ClientConn) *target {
	if e := r.lastTarget.Load(); e != nil && e.cc == cc {
		return e.t
	}
	return r.targetSlow(cc)
}

func (r *Retrier) targetSlow(cc *grpc.ClientConn) *target {
	name := ""
	if cc != nil {
		name = cc.Target()
	}
	v, ok := r.targets.Load(name)
	if !ok {
		// Made under r.mu, with the configuration in force: a
		// reconfiguration either sees the target or is seen by it.
		r.mu.Lock()
		if v, ok = r.targets.Load(name); !ok {
			v = newTarget(name, &r.cfg.Load().opts)
			r.targets.Store(name, v)
		}
		r.mu.Unlock()
	}
	t := v.(*target)
	// The first connection seen keeps the fast path, unless it was closed.
	old := r.lastTarget.Load()
	if old == nil || (old.cc != nil && old.cc.GetState() == connectivity.Shutdown) {
		r.lastTarget.CompareAndSwap(old, &targetEntry{cc: cc, t: t})
	}
	return t
}

// newTarget returns the state of a target not seen before, with a budget
// of the kind and parameters o sets.
func newTarget(name string, o *options) *target {
	t := &target{name: name}
	switch o.budget {
	case budgetWindow:
		t.window = newWindowBudget(o.ratio, o.perSecond, o.window, time.Now())
	case budgetTokens:
		t.tokens = newTokenBucket(o.maxTokens, o.tokenRatio)
	}
	if o.trailer == trailerAlways {
		t.pushback.Store(true)
	}
	return t
}

// reconfigure gives t the budget parameters of o, whose budget is of the
// same kind as t's, keeping what the budget holds; and, when the trailer
// mode changed from was, starts t's pushback flag again: set for
// trailerAlways, clear for the others (trailerAuto learns it anew).
func (t *target) reconfigure(o *options, was trailerMode, now time.Time) {
	switch {
	case t.window != nil:
		t.window.reconfigure(o.ratio, o.perSecond, o.window, now)
	case t.tokens != nil:
		t.tokens.reconfigure(o.maxTokens, o.tokenRatio)
	}
	if o.trailer != was {
		t.pushback.Store(o.trailer == trailerAlways)
	}
}

func init() {
	retrystate.CircuitGate = func(refusesFor func(target, fullMethod string) time.Duration) any {
		return withCircuitGate(refusesFor)
	}
	retrystate.Clamp = func(c any) any {
		co := c.(CallOption)
		co.source = fromServiceConfig
		return co
	}
	retrystate.ChannelCapped = func(c any) any {
		co := c.(CallOption)
		co.source = fromChannel
		return co
	}
	retrystate.Of = func(r any) retrystate.Targets {
		if r, ok := r.(*Retrier); ok && r != nil {
			return targetsOf{r}
		}
		return nil
	}
}

// targetsOf is the retrystate.Targets of a Retrier, which the metrics
// packages read for their gauges.
type targetsOf struct{ r *Retrier }

// BudgetLevel returns what the retry budget of targetName (a cc.Target())
// holds now: retries left in the window (WithBudget), tokens
// (WithTokenBucket), or +Inf without a budget. It reports false for a
// target the Retrier has not seen.
func (v targetsOf) BudgetLevel(targetName string) (float64, bool) {
	t, ok := v.r.targets.Load(targetName)
	if !ok {
		return 0, false
	}
	return t.(*target).level(), true
}

// BufferedBytes returns the bytes of sent messages that the streams to
// targetName (a cc.Target()) keep to replay, against WithTargetBufferLimit,
// and false if the Retrier has not seen the target.
func (v targetsOf) BufferedBytes(targetName string) (int64, bool) {
	t, ok := v.r.targets.Load(targetName)
	if !ok {
		return 0, false
	}
	return t.(*target).buffered.Load(), true
}

// cacheLine is the padding between data written by different cores; 128
// bytes also defeats the adjacent-line prefetcher of x86 processors.
const cacheLine = 128

// buckets is the number of buckets a window budget is kept in.
const buckets = 10

// windowBudget allows retries up to ratio × calls + reserve over a sliding
// window kept in time buckets. Calls are counted with one atomic add, on a
// counter striped across cache lines, and no clock read; they are spread
// over the buckets, in proportion to the time elapsed, when a retry asks
// for the budget. The mutex is taken only then.
type windowBudget struct {
	total stripe.Counter // calls counted, in all; read-only but for its stripes
	_     [cacheLine]byte

	// The parameters, changed by reconfigure: guarded by mu, as are the
	// counts.
	ratio   float64
	reserve float64 // perSecond × window in seconds
	width   time.Duration
	start   time.Time

	mu      sync.Mutex
	seen    int64         // calls already spread over the buckets
	last    time.Duration // when they were, since start
	head    int64         // index of the newest bucket, since start
	calls   [buckets]float64
	retries [buckets]float64
}

func newWindowBudget(ratio, perSecond float64, window time.Duration, now time.Time) *windowBudget {
	return &windowBudget{
		total:   stripe.New(),
		ratio:   ratio,
		reserve: perSecond * window.Seconds(),
		width:   window / buckets,
		start:   now,
	}
}

// advance rotates the buckets to now and spreads the calls counted since
// the last advance uniformly over the time since then; calls that fall
// before the window are dropped. w.mu must be held.
func (w *windowBudget) advance(at time.Time) {
	now := max(at.Sub(w.start), w.last)
	idx := int64(now / w.width)
	if n := idx - w.head; n >= buckets {
		clear(w.calls[:])
		clear(w.retries[:])
	} else {
		for i := w.head + 1; i <= idx; i++ {
			w.calls[i%buckets], w.retries[i%buckets] = 0, 0
		}
	}
	w.head = max(w.head, idx)

	total := w.total.Load()
	pending := float64(total - w.seen)
	w.seen = total
	span := now - w.last
	if pending > 0 && span <= 0 {
		w.calls[idx%buckets] += pending
	} else if pending > 0 {
		lo := max(w.last, time.Duration(idx-buckets+1)*w.width)
		for b := int64(lo / w.width); b <= idx; b++ {
			from := max(time.Duration(b)*w.width, lo)
			to := min(time.Duration(b+1)*w.width, now)
			if to > from {
				w.calls[b%buckets] += pending * float64(to-from) / float64(span)
			}
		}
	}
	w.last = now
}

// sums returns the calls and retries in the window. w.mu must be held.
func (w *windowBudget) sums() (calls, retries float64) {
	for i := range buckets {
		calls += w.calls[i]
		retries += w.retries[i]
	}
	return calls, retries
}

// tryRetry takes one retry if the window allows it.
func (w *windowBudget) tryRetry(now time.Time) (bool, float64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.advance(now)
	calls, retries := w.sums()
	limit := w.ratio*calls + w.reserve
	if retries+1 > limit+1e-9 {
		return false, max(limit-retries, 0)
	}
	w.retries[w.head%buckets]++
	return true, max(limit-retries-1, 0) // granted within the 1e-9 tolerance: never below 0
}

// reconfigure sets the window's ratio, reserve and length, keeping the
// calls and retries it holds. With a new length each bucket keeps its
// counts and its place, now a tenth of the new window: counts from the
// last 3 s of a 10 s window are from the last 6 s of a 20 s one, and
// leave it as its buckets expire.
func (w *windowBudget) reconfigure(ratio, perSecond float64, window time.Duration, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.advance(now)
	w.ratio, w.reserve = ratio, perSecond*window.Seconds()
	width := window / buckets
	if width == w.width {
		return
	}
	// The time into the newest bucket, scaled to the new width, without
	// overflowing int64 (pos < w.width, so hi < w.width).
	pos := min(max(w.last-time.Duration(w.head)*w.width, 0), w.width-1)
	hi, lo := bits.Mul64(uint64(pos), uint64(width))
	scaled, _ := bits.Div64(hi, lo, uint64(w.width))
	last := time.Duration(w.head)*width + time.Duration(scaled)
	// The same instant, w.start+w.last, is w.last into the new buckets.
	w.start = w.start.Add(w.last - last)
	w.width, w.last = width, last
}

// level returns the retries left in the window.
func (w *windowBudget) level(now time.Time) float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.advance(now)
	calls, retries := w.sums()
	return max(w.ratio*calls+w.reserve-retries, 0)
}

// tokenBucket is gRFC A6's retry throttling, in thousandths of a token.
// The tokens and the maximum are one atomic word, so that a new maximum
// and the tokens clamped to it change together.
type tokenBucket struct {
	state atomic.Uint64 // maximum<<32 | tokens, both in thousandths
	ratio atomic.Int64  // thousandths of a token added per success
}

// packTokens returns the state word of a bucket holding milli of maxMilli
// thousandths of a token; both fit 32 bits (WithTokenBucket caps
// maxTokens at 1000).
func packTokens(maxMilli, milli int64) uint64 { return uint64(maxMilli)<<32 | uint64(milli) }

func unpackTokens(v uint64) (maxMilli, milli int64) {
	return int64(v >> 32), int64(uint32(v))
}

// tokenParams returns, in thousandths, the maximum and the ratio a bucket
// keeps for maxTokens and ratio.
func tokenParams(maxTokens, ratio float64) (maxMilli, ratioMilli int64) {
	return max(int64(math.Round(maxTokens*1000)), 1), max(int64(math.Round(ratio*1000)), 1)
}

func newTokenBucket(maxTokens, ratio float64) *tokenBucket {
	b := &tokenBucket{}
	maxMilli, ratioMilli := tokenParams(maxTokens, ratio)
	b.state.Store(packTokens(maxMilli, maxMilli))
	b.ratio.Store(ratioMilli)
	return b
}

// reconfigure sets the bucket's maximum and ratio, keeping its tokens, cut
// to the new maximum if that is lower.
func (b *tokenBucket) reconfigure(maxTokens, ratio float64) {
	maxMilli, ratioMilli := tokenParams(maxTokens, ratio)
	b.ratio.Store(ratioMilli)
	for {
		v := b.state.Load()
		_, milli := unpackTokens(v)
		if b.state.CompareAndSwap(v, packTokens(maxMilli, min(milli, maxMilli))) {
			return
		}
	}
}

// success adds the token ratio. A full bucket costs one atomic load.
func (b *tokenBucket) success() {
	for {
		v := b.state.Load()
		maxMilli, milli := unpackTokens(v)
		if milli >= maxMilli || b.state.CompareAndSwap(v, packTokens(maxMilli, min(milli+b.ratio.Load(), maxMilli))) {
			return
		}
	}
}

// failure takes one token.
func (b *tokenBucket) failure() {
	for {
		v := b.state.Load()
		maxMilli, milli := unpackTokens(v)
		if milli <= 0 || b.state.CompareAndSwap(v, packTokens(maxMilli, max(milli-1000, 0))) {
			return
		}
	}
}

// allow reports whether more than half the tokens remain, and how many
// tokens there are.
func (b *tokenBucket) allow() (bool, float64) {
	maxMilli, milli := unpackTokens(b.state.Load())
	return milli*2 > maxMilli, float64(milli) / 1000
}
