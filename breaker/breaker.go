package breaker

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The state word: the state in the low bits, flags, and a generation that
// changes on every transition so that a permit given in one state is not
// counted in the next.
const (
	stateMask  = 0x7
	metricsBit = 1 << 3 // ModeMetricsOnly: never refuse
	idleBit    = 1 << 4 // closed with a time window whose timer sleeps
	slowBit    = 1 << 5 // slow-call detection is on: calls read the clock
	genShift   = 8
)

// cacheLine is the padding between data written by different cores; 128
// bytes also defeats the adjacent-line prefetcher of x86 processors.
const cacheLine = 128

// stripe is one counter of successes, alone on its cache line.
type stripe struct {
	n atomic.Uint64
	_ [cacheLine - 8]byte
}

type event struct{ from, to State }

type probeSlot struct {
	busy  bool
	seq   uint32
	start time.Duration
}

// totals are the calls recorded since the breaker was made.
type totals struct{ succ, fail, slow uint64 }

// Breaker is a circuit breaker. It is safe for concurrent use; make one
// with New.
//
// Calls in the closed state cost one atomic load to be let through and one
// atomic add, on a counter striped across cache lines, to report a success:
// no lock, no clock read, no allocation. Failures, slow calls, probes and
// transitions take a mutex.
type Breaker struct {
	_ [cacheLine]byte
	// Read by every call; written only on transitions and by Reconfigure.
	word    atomic.Uint64
	slow    atomic.Int64 // the slow-call threshold, a time.Duration, for reports without the lock
	stripes []stripe
	shift   uint
	openErr OpenError
	epoch   time.Time
	_       [cacheLine]byte

	openUntil  atomic.Int64 // deadline of the open state since epoch; 0 when not open
	probesBusy atomic.Int32
	probeCap   atomic.Int32 // len(slots), for the check without the lock
	reclaimAt  atomic.Int64 // when all probes are taken: the earliest reclaim time

	cfg config

	mu     sync.Mutex
	mode   Mode
	closed bool // Close was called
	level  int  // reopenings since the breaker last closed

	// Closed state. Fast successes are in stripes; the rest is counted here.
	succSlow, fail, slowN uint64
	base                  totals // totals when the window was last reset
	consec, consecSeen    uint64 // consecutive failures, and the successes seen at the last one
	tripCounts            Counts // the window when the breaker last tripped

	// Time window: snaps[i] holds the totals at a bucket boundary; the
	// window starts at the oldest.
	snaps    []totals
	tick     int
	boundary time.Duration
	lastTick totals
	ticker   *time.Timer
	tickerOn bool

	// Count window: positions of the recent failures and slow calls.
	failQ, slowQ posQueue

	// Half-open state.
	slots     []probeSlot
	free      []int32
	probeSucc int

	openTimer *time.Timer

	events     []event
	delivering bool
}

// New returns a closed breaker in ModeNormal, or an error naming each option
// that is invalid.
func New(opts ...Option) (*Breaker, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	n := stripeCount()
	b := &Breaker{
		stripes: make([]stripe, n),
		shift:   uint(64 - bits.TrailingZeros(uint(n))),
		epoch:   time.Now(),
		cfg:     c,
	}
	b.slow.Store(int64(c.slowCall))
	b.openErr.b = b
	b.makeProbesLocked(c.probes)
	b.makeWindowLocked()
	w := uint64(StateClosed) | 1<<genShift
	if c.window == windowTime {
		w |= idleBit
	}
	if c.slowCall > 0 {
		w |= slowBit
	}
	b.word.Store(w)
	return b, nil
}

// stripeCount is four stripes per P, so that goroutines running at once
// rarely share one, between 4 and 64.
func stripeCount() int {
	n := 4 * runtime.GOMAXPROCS(0)
	n = 1 << bits.Len(uint(n-1)) // round up to a power of two
	return min(max(n, 4), 64)
}

// now is the time since the breaker was made, on the monotonic clock.
func (b *Breaker) now() time.Duration { return time.Since(b.epoch) }

// Permit is a call let through by Allow. Report how the call ended with Done,
// exactly once; a Permit is a small value, and reporting allocates nothing.
// The zero Permit (returned with an error, or by a breaker that records
// nothing at the moment) ignores its report.
type Permit struct {
	b     *Breaker
	word  uint64        // the state word when the permit was given; with slowBit, start was read
	start time.Duration // when the call started; only with slow-call detection, and for probes
	probe uint64        // probe slot+1 << 32 | its sequence number; 0 if not a probe
}

// Allow asks to make a call. It returns a Permit to report the call's
// outcome to, or an *OpenError (matching ErrOpen) when the breaker refuses
// the call: open, forced open, or half-open with all probes taken.
func (b *Breaker) Allow() (Permit, error) {
	w := b.word.Load()
	if w&(stateMask|idleBit|slowBit) == uint64(StateClosed) {
		return Permit{b: b, word: w}, nil
	}
	return b.allowSlow(w)
}

func (b *Breaker) allowSlow(w uint64) (Permit, error) {
	for {
		switch State(w & stateMask) {
		case StateClosed:
			if w&idleBit != 0 {
				b.wake()
				w = b.word.Load()
				continue
			}
			p := Permit{b: b, word: w}
			if w&slowBit != 0 {
				p.start = b.now()
			}
			return p, nil
		case StateOpen:
			return b.refuse(w)
		case StateHalfOpen:
			return b.allowProbe(w)
		case StateForcedOpen:
			return Permit{}, &b.openErr
		default: // StateDisabled
			return Permit{}, nil
		}
	}
}

// refuse refuses a call, or lets it through unrecorded in ModeMetricsOnly.
func (b *Breaker) refuse(w uint64) (Permit, error) {
	if w&metricsBit != 0 {
		return Permit{}, nil
	}
	return Permit{}, &b.openErr
}

func (b *Breaker) allowProbe(w uint64) (Permit, error) {
	if b.probesBusy.Load() >= b.probeCap.Load() && time.Duration(b.reclaimAt.Load()) > b.now() {
		return b.refuse(w)
	}
	b.mu.Lock()
	if cur := b.word.Load(); cur != w {
		b.mu.Unlock()
		return b.allowSlow(cur)
	}
	now := b.now()
	if len(b.free) == 0 {
		b.reclaimLocked(now)
	}
	if len(b.free) == 0 {
		b.mu.Unlock()
		return b.refuse(w)
	}
	i := b.free[len(b.free)-1]
	b.free = b.free[:len(b.free)-1]
	s := &b.slots[i]
	s.busy, s.start = true, now
	s.seq++
	b.probesBusy.Add(1)
	if len(b.free) == 0 {
		b.setReclaimAtLocked()
	}
	p := Permit{b: b, word: w, start: now, probe: uint64(i+1)<<32 | uint64(s.seq)}
	b.mu.Unlock()
	return p, nil
}

// reclaimLocked takes back the permits of probes that have not reported
// within the probe timeout.
func (b *Breaker) reclaimLocked(now time.Duration) {
	for i := range b.slots {
		s := &b.slots[i]
		if s.busy && now-s.start >= b.cfg.probeTimeout {
			s.busy = false
			s.seq++
			b.free = append(b.free, int32(i))
			b.probesBusy.Add(-1)
		}
	}
}

func (b *Breaker) setReclaimAtLocked() {
	at := time.Duration(1<<63 - 1)
	for i := range b.slots {
		if s := &b.slots[i]; s.busy {
			at = min(at, s.start+b.cfg.probeTimeout)
		}
	}
	b.reclaimAt.Store(int64(at))
}

// Done reports how the call of p ended. A permit given in an earlier state
// (before a transition, Reset or SetMode) is not counted; neither is the
// report of a probe whose permit was reclaimed. Report each permit once:
// a second report of a closed-state permit would count the call twice.
func (p Permit) Done(r Verdict) {
	b := p.b
	if b == nil {
		return
	}
	// A permit given while slow-call detection was off is never slow, even
	// if Reconfigure turned it on since.
	if r == Succeeded && p.probe == 0 && p.word&slowBit == 0 {
		if b.word.Load()>>genShift == p.word>>genShift {
			b.stripe().Add(1)
		}
		return
	}
	b.doneSlow(p, r)
}

func (b *Breaker) doneSlow(p Permit, r Verdict) {
	if p.probe != 0 {
		b.probeDone(p, r)
		return
	}
	if r != Succeeded && r != Failed {
		return // Skipped, or not a Verdict: nothing to count
	}
	// A permit given while slow-call detection was off has no start: it is
	// never slow. One given while it was on is judged by the threshold of
	// the moment: none if Reconfigure turned it off since.
	timed := p.word&slowBit != 0
	var now time.Duration
	slow := false
	if timed {
		if threshold := time.Duration(b.slow.Load()); threshold > 0 {
			now = b.now()
			slow = now-p.start >= threshold
		}
	}
	if r == Succeeded && !slow {
		if b.word.Load()>>genShift == p.word>>genShift {
			b.stripe().Add(1)
		}
		return
	}
	b.mu.Lock()
	if b.word.Load()>>genShift != p.word>>genShift {
		b.mu.Unlock()
		return
	}
	if now == 0 {
		now = b.now()
	}
	// Judged again under the lock, against the threshold that goes with the
	// rest of the configuration: Reconfigure may have changed it since it
	// was loaded.
	slow = timed && b.cfg.slowCall > 0 && now-p.start >= b.cfg.slowCall
	b.recordLocked(r, slow, now)
	pending := len(b.events) > 0
	b.mu.Unlock()
	if pending {
		b.flush()
	}
}

// recordLocked counts a failure or a slow call in the closed state and trips
// the breaker if a rule says so.
func (b *Breaker) recordLocked(r Verdict, slow bool, now time.Duration) {
	b.advanceLocked(now)
	if r == Succeeded {
		b.succSlow++
	} else {
		b.fail++
	}
	if slow {
		b.slowN++
	}
	t := b.totalsLocked()
	if b.cfg.window == windowCount {
		pos := t.succ + t.fail - b.base.succ - b.base.fail
		if r == Failed {
			b.failQ.push(pos, uint64(b.cfg.size))
		}
		if slow {
			b.slowQ.push(pos, uint64(b.cfg.size))
		}
	}
	trip := false
	if r == Failed {
		if t.succ != b.consecSeen {
			b.consec, b.consecSeen = 0, t.succ
		}
		b.consec++
		trip = b.cfg.consecutive > 0 && b.consec >= uint64(b.cfg.consecutive)
	}
	c := b.windowLocked(t)
	if b.cfg.window != windowNone && c.calls() >= uint64(b.cfg.minCalls) {
		calls := float64(c.calls())
		if r == Failed && float64(c.Failures) >= b.cfg.failureRate*calls {
			trip = true
		}
		if slow && float64(c.Slow) >= b.cfg.slowRate*calls {
			trip = true
		}
	}
	if trip {
		c.ConsecutiveFailures = b.consec
		b.tripCounts = c
		b.openLocked(now)
	}
}

func (b *Breaker) probeDone(p Permit, r Verdict) {
	b.mu.Lock()
	if b.word.Load()>>genShift != p.word>>genShift {
		b.mu.Unlock()
		return
	}
	i := int32(p.probe>>32) - 1
	s := &b.slots[i]
	if !s.busy || s.seq != uint32(p.probe) {
		b.mu.Unlock()
		return // reclaimed
	}
	s.busy = false
	b.free = append(b.free, i)
	b.probesBusy.Add(-1)
	now := b.now()
	slow := p.word&slowBit != 0 && b.cfg.slowCall > 0 && now-p.start >= b.cfg.slowCall
	switch {
	case r == Failed || (r == Succeeded && slow):
		b.tripCounts = Counts{Successes: uint64(b.probeSucc), Failures: 1}
		if slow {
			b.tripCounts.Slow = 1
		}
		b.openLocked(now)
	case r == Succeeded:
		b.probeSucc++
		if b.probeSucc >= b.cfg.toClose {
			b.closeLocked(now)
		}
	}
	pending := len(b.events) > 0
	b.mu.Unlock()
	if pending {
		b.flush()
	}
}

// State returns the breaker's state. In ModeMetricsOnly it is the state of
// the state machine, although no call is refused.
func (b *Breaker) State() State { return State(b.word.Load() & stateMask) }

// remaining returns how long the breaker stays open from now: zero unless it
// is open (in ModeMetricsOnly too: the time its state machine stays open).
func (b *Breaker) remaining() time.Duration {
	u := time.Duration(b.openUntil.Load())
	if u == 0 {
		return 0
	}
	return max(u-b.now(), 0)
}

// RefusesFor returns how long from now the breaker will refuse every call
// it is asked about: the remaining open time when it is open, a duration
// too long to wait out (math.MaxInt64) when it is forced open, and zero
// otherwise: closed, half-open (a probe may pass), disabled, or in
// ModeMetricsOnly, which refuses nothing. It takes no lock, so a caller
// about to wait before its next call can ask whether the call could pass.
func (b *Breaker) RefusesFor() time.Duration {
	w := b.word.Load()
	switch State(w & stateMask) {
	case StateOpen:
		if w&metricsBit != 0 {
			return 0
		}
		return b.remaining()
	case StateForcedOpen:
		return math.MaxInt64
	}
	return 0
}

// SetMode switches the breaker to mode m: ModeForcedOpen and ModeDisabled pin
// it in StateForcedOpen or StateDisabled; ModeNormal and ModeMetricsOnly
// (re)start its state machine closed, with empty counts and the first open
// duration. Permits given before the switch are not counted. Setting the
// current mode does nothing. It panics on a Mode that is not one of the
// package's constants.
func (b *Breaker) SetMode(m Mode) {
	if m > ModeMetricsOnly {
		panic(fmt.Sprintf("breaker: SetMode(%d): unknown mode", m))
	}
	b.mu.Lock()
	if b.mode == m {
		b.mu.Unlock()
		return
	}
	b.mode = m
	now := b.now()
	switch m {
	case ModeForcedOpen:
		b.leaveLocked()
		b.setStateLocked(StateForcedOpen)
	case ModeDisabled:
		b.leaveLocked()
		b.setStateLocked(StateDisabled)
	default:
		b.closeLocked(now)
	}
	pending := len(b.events) > 0
	b.mu.Unlock()
	if pending {
		b.flush()
	}
}

// Reset restarts the state machine closed, with empty counts and the first
// open duration, as after New; permits given before it are not counted. In
// ModeForcedOpen and ModeDisabled it does nothing: the state machine
// restarts anyway when the mode changes back.
func (b *Breaker) Reset() {
	b.mu.Lock()
	if b.mode == ModeForcedOpen || b.mode == ModeDisabled {
		b.mu.Unlock()
		return
	}
	b.closeLocked(b.now())
	pending := len(b.events) > 0
	b.mu.Unlock()
	if pending {
		b.flush()
	}
}

// Close stops the breaker's timers, for a breaker that is being discarded
// (the interceptors close the breakers they evict). The breaker still
// answers afterwards, but an open breaker stays open, and its time window
// moves only when a failure is reported. Close is idempotent.
func (b *Breaker) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	if b.ticker != nil {
		b.ticker.Stop()
	}
	b.tickerOn = false
	if b.openTimer != nil {
		b.openTimer.Stop()
	}
}

// setStateLocked enters state to, with a new generation, and queues the
// state-change event.
func (b *Breaker) setStateLocked(to State) {
	w := b.word.Load()
	from := State(w & stateMask)
	nw := (w>>genShift+1)<<genShift | uint64(to)
	if b.mode == ModeMetricsOnly {
		nw |= metricsBit
	}
	if to == StateClosed && b.cfg.window == windowTime {
		nw |= idleBit // the next call starts the window's timer
	}
	if b.cfg.slowCall > 0 {
		nw |= slowBit
	}
	b.word.Store(nw)
	if from != to && len(b.cfg.hooks) > 0 {
		b.events = append(b.events, event{from, to})
	}
}

// leaveLocked ends the open and half-open states' business.
func (b *Breaker) leaveLocked() {
	b.level = 0
	b.openUntil.Store(0)
	if b.openTimer != nil {
		b.openTimer.Stop()
	}
	b.resetProbesLocked()
}

func (b *Breaker) closeLocked(now time.Duration) {
	b.leaveLocked()
	b.resetWindowLocked(now)
	b.setStateLocked(StateClosed)
}

func (b *Breaker) openLocked(now time.Duration) {
	if b.State() == StateHalfOpen {
		if b.cfg.openFor(b.level) < b.cfg.maxOpen {
			b.level++
		}
	} else {
		b.level = 0
	}
	d := b.cfg.openFor(b.level)
	if b.cfg.jitter > 0 {
		f := rand.Float64()
		if b.cfg.rand != nil {
			f = b.cfg.rand.Float64()
		}
		d -= time.Duration(float64(d) * b.cfg.jitter * f)
	}
	d = max(d, 1)
	b.resetProbesLocked()
	b.openUntil.Store(int64(now + d))
	b.setStateLocked(StateOpen)
	if b.closed {
		return
	}
	if b.openTimer == nil {
		b.openTimer = time.AfterFunc(d, b.openExpired)
	} else {
		b.openTimer.Reset(d)
	}
}

// openExpired runs on the open timer.
func (b *Breaker) openExpired() {
	b.mu.Lock()
	until := time.Duration(b.openUntil.Load())
	// A timer reset after it fired may run this early: check the deadline.
	if b.State() == StateOpen && until != 0 && b.now() >= until {
		b.openUntil.Store(0)
		b.resetProbesLocked()
		b.setStateLocked(StateHalfOpen)
	}
	pending := len(b.events) > 0
	b.mu.Unlock()
	if pending {
		b.flush()
	}
}

// makeProbesLocked makes n free probe slots, and forgets the old ones.
func (b *Breaker) makeProbesLocked(n int) {
	b.slots = make([]probeSlot, n)
	b.free = make([]int32, 0, n)
	b.probeCap.Store(int32(n))
	b.resetProbesLocked()
}

func (b *Breaker) resetProbesLocked() {
	b.free = b.free[:0]
	for i := range b.slots {
		s := &b.slots[i]
		if s.busy {
			s.busy = false
			s.seq++
		}
		b.free = append(b.free, int32(len(b.slots)-1-i))
	}
	b.probesBusy.Store(0)
	b.probeSucc = 0
}

// flush runs the hooks for the queued events, one at a time and in order,
// without holding the lock. If another goroutine is already running hooks,
// it delivers the new events too.
func (b *Breaker) flush() {
	b.mu.Lock()
	if b.delivering {
		b.mu.Unlock()
		return
	}
	b.delivering = true
	for len(b.events) > 0 {
		ev := b.events[0]
		n := copy(b.events, b.events[1:])
		b.events = b.events[:n]
		hooks := b.cfg.hooks // Reconfigure may replace them
		b.mu.Unlock()
		b.runHooks(hooks, ev)
		b.mu.Lock()
	}
	b.delivering = false
	b.mu.Unlock()
}

func (b *Breaker) runHooks(hooks []func(from, to State), ev event) {
	defer func() {
		if p := recover(); p != nil {
			b.mu.Lock()
			b.delivering = false
			b.mu.Unlock()
			panic(p)
		}
	}()
	for _, h := range hooks {
		h(ev.from, ev.to)
	}
}
