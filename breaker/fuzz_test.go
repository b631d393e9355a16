package breaker_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwarkrpc/bulwark/breaker"
)

// FuzzStateMachine drives a breaker with random sequences of Allow, reports,
// mode changes and time steps, inside a synctest bubble, next to a model of
// the state machine. After every step it checks that the breaker agrees with
// the model (state, transitions, refusals, counts), that no transition is one
// the state diagram forbids, that there are never more probes than allowed,
// and that open times stay within their bounds. Reconfigure is one of the
// steps: the model keeps its state and applies the new configuration.
func FuzzStateMachine(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 1, 2, 3, 1, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, 2, 5, 0, 0, 0, 0, 1, 0, 0})
	f.Add([]byte{1, 2, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 4, 0, 0, 0, 1, 0, 0, 1, 1, 0, 1, 2, 0})
	f.Add([]byte{2, 3, 4, 1, 2, 0, 0, 0, 6, 0, 1, 0, 1, 0, 1, 0, 1, 0, 7, 8, 0, 0, 0, 0, 0, 0, 2, 6, 0, 0})
	f.Add([]byte{3, 0, 2, 2, 1, 1, 9, 0, 1, 2, 0, 3, 0, 1, 3, 1, 0, 4, 0, 5, 0, 0, 1, 0, 1, 2, 7, 8, 0, 0, 1, 0, 1})
	f.Add([]byte{4, 1, 3, 2, 0, 1, 0, 0, 6, 4, 1, 0, 1, 0, 2, 3, 7, 8, 0, 0, 0, 0, 2, 6, 0, 0, 0, 1, 0, 0, 1, 1})
	f.Add([]byte{5, 2, 1, 1, 3, 0, 0, 6, 3, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 7, 8, 0, 0, 6, 7, 1, 0, 0})
	// Reconfigure (step 10) in each state: closed with counts, open,
	// half-open with probes in flight.
	f.Add([]byte{1, 7, 3, 3, 2, 1, 1, 0, 0, 0, 1, 0, 0, 3, 0, 1, 0, 10, 1, 5, 2, 2, 3, 0, 1, 0, 0, 1, 1, 0, 3, 0, 1,
		10, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 10, 1, 3, 1, 0, 0, 1, 0, 1, 1, 1, 1, 3, 0, 1, 3, 0, 0})
	f.Add([]byte{2, 3, 2, 1, 3, 2, 0, 1, 0, 1, 1, 0, 0, 0, 3, 0, 1, 9, 10, 2, 3, 2, 0, 1, 0, 0, 0, 0, 1, 0, 3, 0, 0,
		3, 0, 1, 6, 0, 0, 0, 10, 2, 3, 2, 1, 2, 2, 1, 0, 0, 0, 1, 0, 3, 0, 0, 3, 0, 0, 0, 0, 9, 3, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) {
			runModel(t, &byteReader{data: data})
		})
	})
}

type byteReader struct {
	data []byte
	i    int
}

func (r *byteReader) more() bool { return r.i < len(r.data) }

func (r *byteReader) next() int {
	if r.i >= len(r.data) {
		return 0
	}
	r.i++
	return int(r.data[r.i-1])
}

type fuzzConfig struct {
	window                          int // 0 none, 1 count, 2 time
	size, minCalls, consecutive     int
	probes, toClose                 int
	failureRate, slowRate, jitter   float64
	slow, open, maxOpen, probeLimit time.Duration
}

const (
	kindNone = iota // a permit that records nothing
	kindClosed
	kindProbe
)

type permitRec struct {
	p         breaker.Permit
	kind      int
	epoch     int
	start     time.Time
	timed     bool // given while slow-call detection was on
	reclaimed bool
}

type outcomeRec struct{ fail, slow bool }

type model struct {
	t   *testing.T
	b   *breaker.Breaker
	cfg fuzzConfig

	mu       sync.Mutex
	observed []change // from the hook

	mode     breaker.Mode
	state    breaker.State
	epoch    int
	level    int
	openedAt time.Time
	deadline time.Time
	expected []change

	outcomes               []outcomeRec // counted since the last close
	consec                 int
	succ, fail, slowTotals int
	probeSucc              int
	permits                []*permitRec
}

func runModel(t *testing.T, in *byteReader) {
	m := &model{t: t, cfg: readConfig(in)}
	rnd := breaker.WithRandSource(rand.NewPCG(uint64(len(in.data)), 7))
	b, err := breaker.New(append(m.options(), rnd)...)
	if err != nil {
		t.Fatalf("config %+v: %v", m.cfg, err)
	}
	defer b.Close()
	m.b = b
	for step := 0; in.more(); step++ {
		op := in.next() % 11
		desc := m.apply(op, in)
		synctest.Wait()
		m.check(fmt.Sprintf("step %d (%s), config %+v", step, desc, m.cfg))
	}
}

// readConfig reads a configuration from in.
func readConfig(in *byteReader) fuzzConfig {
	cfg := fuzzConfig{
		window:      in.next() % 3,
		size:        1 + in.next()%8,
		minCalls:    1 + in.next()%6,
		consecutive: in.next() % 5,
		probes:      1 + in.next()%4,
		toClose:     1 + in.next()%3,
		failureRate: []float64{0.25, 0.5, 1}[in.next()%3],
		slowRate:    []float64{0.5, 1}[in.next()%2],
		jitter:      []float64{0, 0.5}[in.next()%2],
		open:        time.Second,
		maxOpen:     []time.Duration{time.Second, 4 * time.Second}[in.next()%2],
		probeLimit:  10 * time.Second,
	}
	if in.next()%2 == 1 {
		cfg.slow = 500 * time.Millisecond
	}
	return cfg
}

// options returns the breaker options of m's configuration.
func (m *model) options() []breaker.Option {
	cfg := m.cfg
	opts := []breaker.Option{
		breaker.WithConsecutiveFailures(cfg.consecutive),
		breaker.WithMinCalls(cfg.minCalls),
		breaker.WithFailureRate(cfg.failureRate),
		breaker.WithOpenDuration(cfg.open, cfg.maxOpen),
		breaker.WithOpenJitter(cfg.jitter),
		breaker.WithHalfOpen(cfg.probes, cfg.toClose),
		breaker.WithProbeTimeout(cfg.probeLimit),
		breaker.WithOnStateChange(func(from, to breaker.State) {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.observed = append(m.observed, change{from, to, time.Now()})
		}),
	}
	switch cfg.window {
	case 0:
		opts = append(opts, breaker.WithTimeWindow(0, 0))
	case 1:
		opts = append(opts, breaker.WithCountWindow(cfg.size))
	case 2:
		opts = append(opts, breaker.WithTimeWindow(4*time.Second, 4))
	}
	if cfg.slow > 0 {
		opts = append(opts, breaker.WithSlowCalls(cfg.slow, cfg.slowRate))
	}
	return opts
}

func (m *model) transition(to breaker.State) {
	m.expected = append(m.expected, change{from: m.state, to: to, at: time.Now()})
	m.state = to
	m.epoch++
	for _, p := range m.permits {
		if p.kind == kindProbe {
			p.reclaimed = true // a probe of a past state
		}
	}
	switch to {
	case breaker.StateClosed:
		m.resetClosed()
	case breaker.StateHalfOpen:
		m.probeSucc = 0
	}
}

func (m *model) resetClosed() {
	m.outcomes, m.consec, m.succ, m.fail, m.slowTotals = nil, 0, 0, 0, 0
}

func (m *model) openFor(level int) time.Duration {
	return min(m.cfg.open<<level, m.cfg.maxOpen)
}

// trip models a transition to open and checks the open time.
func (m *model) trip() {
	if m.state == breaker.StateHalfOpen {
		if m.openFor(m.level) < m.cfg.maxOpen {
			m.level++
		}
	} else {
		m.level = 0
	}
	m.transition(breaker.StateOpen)
	d := m.openFor(m.level)
	rem := m.b.OpenRemaining()
	lo := d - time.Duration(float64(d)*m.cfg.jitter) - 1
	if rem > d || rem < lo {
		m.t.Fatalf("open for %v at level %d, want in [%v, %v]", rem, m.level, lo, d)
	}
	m.openedAt, m.deadline = time.Now(), time.Now().Add(rem)
}

func (m *model) liveProbes() int {
	n := 0
	for _, p := range m.permits {
		if p.kind == kindProbe && !p.reclaimed {
			n++
		}
	}
	return n
}

func (m *model) apply(op int, in *byteReader) string {
	now := time.Now()
	switch op {
	case 0, 1, 2: // Allow
		p, err := m.b.Allow()
		rec := &permitRec{p: p, epoch: m.epoch, start: now, timed: m.cfg.slow > 0}
		refused := false
		switch m.state {
		case breaker.StateClosed:
			rec.kind = kindClosed
		case breaker.StateOpen:
			refused = m.mode == breaker.ModeNormal
		case breaker.StateForcedOpen:
			refused = true
		case breaker.StateHalfOpen:
			if m.liveProbes() >= m.cfg.probes {
				for _, q := range m.permits {
					if q.kind == kindProbe && now.Sub(q.start) >= m.cfg.probeLimit {
						q.reclaimed = true
					}
				}
			}
			if m.liveProbes() < m.cfg.probes {
				rec.kind = kindProbe
			} else {
				refused = m.mode == breaker.ModeNormal
			}
		}
		if refused != (err != nil) {
			m.t.Fatalf("Allow in %v (mode %v, %d live probes): err %v, want refused %v", m.state, m.mode, m.liveProbes(), err, refused)
		}
		if err != nil {
			var oe *breaker.OpenError
			if !errors.Is(err, breaker.ErrOpen) || !errors.As(err, &oe) {
				m.t.Fatalf("refusal %v is not an *OpenError matching ErrOpen", err)
			}
			want := time.Duration(0)
			if m.state == breaker.StateOpen {
				want = m.deadline.Sub(now)
			}
			if oe.RefusesFor() != want {
				m.t.Fatalf("RefusesFor = %v, want %v", oe.RefusesFor(), want)
			}
			return "Allow refused"
		}
		m.permits = append(m.permits, rec)
		return fmt.Sprintf("Allow kind %d", rec.kind)
	case 3, 4: // report
		if len(m.permits) == 0 {
			return "no permit to report"
		}
		i := in.next() % len(m.permits)
		p := m.permits[i]
		m.permits = append(m.permits[:i], m.permits[i+1:]...)
		r := breaker.Verdict(in.next() % 3)
		p.p.Done(r)
		m.report(p, r, now)
		return fmt.Sprintf("report %v of kind %d", r, p.kind)
	case 5: // time passes
		d := []time.Duration{1, 100 * time.Millisecond, 499 * time.Millisecond, time.Second, 3 * time.Second, 10 * time.Second, 31 * time.Second, 0}[in.next()%8]
		m.sleep(d)
		return fmt.Sprintf("sleep %v", d)
	case 6: // to just before the end of the open time, then maybe to it
		if m.state != breaker.StateOpen {
			return "not open"
		}
		m.sleep(m.deadline.Sub(now) - 1)
		if m.b.State() != breaker.StateOpen {
			m.t.Fatalf("half-open 1ns before the deadline")
		}
		if in.next()%2 == 0 {
			m.sleep(1)
		}
		return "sleep to the deadline"
	case 7: // mode
		mode := breaker.Mode(in.next() % 4)
		m.b.SetMode(mode)
		if mode != m.mode {
			m.mode = mode
			m.level = 0
			switch mode {
			case breaker.ModeForcedOpen:
				m.transition(breaker.StateForcedOpen)
			case breaker.ModeDisabled:
				m.transition(breaker.StateDisabled)
			default:
				m.transition(breaker.StateClosed)
			}
			if m.expected[len(m.expected)-1].from == m.expected[len(m.expected)-1].to {
				m.expected = m.expected[:len(m.expected)-1] // no event for an unchanged state
			}
		}
		return "SetMode " + mode.String()
	case 8: // Reset
		m.b.Reset()
		if m.mode == breaker.ModeNormal || m.mode == breaker.ModeMetricsOnly {
			m.level = 0
			m.transition(breaker.StateClosed)
			if m.expected[len(m.expected)-1].from == breaker.StateClosed {
				m.expected = m.expected[:len(m.expected)-1]
			}
		}
		return "Reset"
	case 9: // a slow call in flight: time passes while permits are held
		m.sleep(m.cfg.slow + time.Duration(in.next()%3-1))
		return "sleep around the slow threshold"
	default:
		return m.reconfigure(in)
	}
}

// reconfigure gives the breaker a new configuration and models what it
// keeps: the state, the open deadline, the counts of a window of the same
// shape, the consecutive failures, the successful probes, and the probes
// in flight unless their number changed.
func (m *model) reconfigure(in *byteReader) string {
	old := m.cfg
	m.cfg = readConfig(in)
	m.cfg.open = []time.Duration{time.Second, 2 * time.Second}[in.next()%2]
	m.cfg.maxOpen = max(m.cfg.maxOpen, m.cfg.open)
	m.cfg.probeLimit = []time.Duration{10 * time.Second, 5 * time.Second}[in.next()%2]
	if err := m.b.Reconfigure(m.options()...); err != nil {
		m.t.Fatalf("Reconfigure %+v: %v", m.cfg, err)
	}
	if m.cfg.window != old.window || (m.cfg.window == 1 && m.cfg.size != old.size) {
		m.outcomes, m.succ, m.fail, m.slowTotals = nil, 0, 0, 0
	}
	if m.cfg.probes != old.probes && m.state == breaker.StateHalfOpen {
		m.epoch++
		for _, p := range m.permits {
			if p.kind == kindProbe {
				p.reclaimed = true
			}
		}
	}
	return fmt.Sprintf("Reconfigure from %+v", old)
}

func (m *model) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	end := time.Now().Add(d)
	if m.state == breaker.StateOpen && !end.Before(m.deadline) {
		time.Sleep(time.Until(m.deadline))
		synctest.Wait()
		m.transition(breaker.StateHalfOpen)
	}
	time.Sleep(time.Until(end))
}

func (m *model) report(p *permitRec, r breaker.Verdict, now time.Time) {
	if p.epoch != m.epoch || p.kind == kindNone || r == breaker.Skipped {
		return
	}
	slow := m.cfg.slow > 0 && p.timed && now.Sub(p.start) >= m.cfg.slow
	switch p.kind {
	case kindProbe:
		if p.reclaimed {
			return
		}
		if r == breaker.Failed || slow {
			m.trip()
			return
		}
		if m.probeSucc++; m.probeSucc >= m.cfg.toClose {
			m.level = 0
			m.transition(breaker.StateClosed)
		}
	case kindClosed:
		fail := r == breaker.Failed
		m.outcomes = append(m.outcomes, outcomeRec{fail, slow})
		if fail {
			m.fail++
			m.consec++
		} else {
			m.succ++
			m.consec = 0
		}
		if slow {
			m.slowTotals++
		}
		trip := fail && m.cfg.consecutive > 0 && m.consec >= m.cfg.consecutive
		switch m.cfg.window {
		case 1:
			w := m.window()
			calls := float64((w.Successes + w.Failures))
			if (w.Successes+w.Failures) >= uint64(m.cfg.minCalls) &&
				((fail && float64(w.Failures) >= m.cfg.failureRate*calls) || (slow && float64(w.Slow) >= m.cfg.slowRate*calls)) {
				trip = true
			}
		case 2:
			// The time window's buckets are not modelled: accept a trip the
			// breaker's own counts justify.
			if !trip && m.b.State() == breaker.StateOpen {
				c := m.b.Counts()
				calls := float64((c.Successes + c.Failures))
				if (c.Successes+c.Failures) < uint64(m.cfg.minCalls) ||
					!((fail && float64(c.Failures) >= m.cfg.failureRate*calls) || (slow && float64(c.Slow) >= m.cfg.slowRate*calls)) {
					m.t.Fatalf("tripped with counts %+v", c)
				}
				if c.Failures > uint64(m.fail) || c.Successes > uint64(m.succ) || c.Slow > uint64(m.slowTotals) {
					m.t.Fatalf("counts %+v exceed the calls since closing (%d successes, %d failures, %d slow)", c, m.succ, m.fail, m.slowTotals)
				}
				trip = true
			}
		}
		if trip {
			m.trip()
		}
	}
}

// window returns the model's count window.
func (m *model) window() breaker.Counts {
	o := m.outcomes
	if len(o) > m.cfg.size {
		o = o[len(o)-m.cfg.size:]
	}
	var c breaker.Counts
	for _, r := range o {
		if r.fail {
			c.Failures++
		} else {
			c.Successes++
		}
		if r.slow {
			c.Slow++
		}
	}
	return c
}

var allowed = map[[2]breaker.State]bool{
	{breaker.StateClosed, breaker.StateOpen}:     true,
	{breaker.StateOpen, breaker.StateHalfOpen}:   true,
	{breaker.StateHalfOpen, breaker.StateOpen}:   true,
	{breaker.StateHalfOpen, breaker.StateClosed}: true,
}

func (m *model) check(where string) {
	t := m.t
	m.mu.Lock()
	observed := m.observed
	m.observed = nil
	m.mu.Unlock()
	if fmt.Sprint(observed) != fmt.Sprint(m.expected) {
		t.Fatalf("%s: transitions\n got %v\nwant %v", where, observed, m.expected)
	}
	for _, c := range observed {
		manual := c.to == breaker.StateForcedOpen || c.to == breaker.StateDisabled ||
			c.from == breaker.StateForcedOpen || c.from == breaker.StateDisabled
		if !manual && !allowed[[2]breaker.State{c.from, c.to}] && c.to != breaker.StateClosed {
			t.Fatalf("%s: forbidden transition %v > %v", where, c.from, c.to)
		}
	}
	m.expected = nil
	if got := m.b.State(); got != m.state {
		t.Fatalf("%s: state = %v, want %v", where, got, m.state)
	}
	if got := m.b.CurrentMode(); got != m.mode {
		t.Fatalf("%s: mode = %v, want %v", where, got, m.mode)
	}
	if m.state == breaker.StateOpen && !time.Now().Before(m.deadline) {
		t.Fatalf("%s: still open at the deadline", where)
	}
	c := m.b.Counts()
	if c.Slow > (c.Successes+c.Failures) && m.state == breaker.StateClosed {
		t.Fatalf("%s: %d slow calls of %d", where, c.Slow, (c.Successes + c.Failures))
	}
	switch m.state {
	case breaker.StateClosed:
		if c.ConsecutiveFailures != uint64(m.consec) {
			t.Fatalf("%s: %d consecutive failures, want %d", where, c.ConsecutiveFailures, m.consec)
		}
		switch m.cfg.window {
		case 0:
			want := breaker.Counts{Successes: uint64(m.succ), Failures: uint64(m.fail), Slow: uint64(m.slowTotals), ConsecutiveFailures: uint64(m.consec)}
			if c != want {
				t.Fatalf("%s: counts %+v, want %+v", where, c, want)
			}
		case 1:
			want := m.window()
			want.ConsecutiveFailures = uint64(m.consec)
			if c != want {
				t.Fatalf("%s: counts %+v, want %+v", where, c, want)
			}
		case 2:
			if c.Successes > uint64(m.succ) || c.Failures > uint64(m.fail) || c.Slow > uint64(m.slowTotals) {
				t.Fatalf("%s: counts %+v exceed the calls since closing", where, c)
			}
		}
	case breaker.StateHalfOpen:
		if c.Probes > m.cfg.probes || c.Probes != m.liveProbes() || c.Successes != uint64(m.probeSucc) {
			t.Fatalf("%s: counts %+v, want %d live probes (at most %d), %d successes", where, c, m.liveProbes(), m.cfg.probes, m.probeSucc)
		}
	}
}
