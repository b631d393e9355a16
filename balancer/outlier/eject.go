package outlier

import (
	"context"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/internal/attempt"
)

// reason is the rule that ejected an endpoint.
type reason uint8

const (
	reasonSuccessRate reason = iota
	reasonFailurePercentage
	reasonConsecutiveFailures
)

func (r reason) String() string {
	switch r {
	case reasonSuccessRate:
		return "success_rate"
	case reasonFailurePercentage:
		return "failure_percentage"
	default:
		return "consecutive_failures"
	}
}

type eventKind uint8

const (
	eventEject     eventKind = iota
	eventUneject             // an ejected endpoint returned
	eventForget              // an ejected endpoint left (resolver update, Close)
	eventEndpoints           // the number of endpoints changed by delta
)

// event is one change reported to the metrics and the logger, after the
// locks are released.
type event struct {
	kind     eventKind
	reason   reason
	addr     string
	duration time.Duration // how long an ejection lasts
	delta    int
}

func (b *outlierBalancer) emit(evs []event) {
	m, l := b.bld.metrics, b.bld.logger
	for _, e := range evs {
		if m != nil {
			m.record(b.target, e)
		}
		if l == nil {
			continue
		}
		switch e.kind {
		case eventEject:
			l.LogAttrs(context.Background(), slog.LevelWarn, "outlier: endpoint ejected",
				slog.String("target", b.target), slog.String("address", e.addr),
				slog.String("reason", e.reason.String()), slog.Duration("ejection_time", e.duration))
		case eventUneject:
			l.LogAttrs(context.Background(), slog.LevelInfo, "outlier: endpoint returned",
				slog.String("target", b.target), slog.String("address", e.addr))
		}
	}
}

// record counts an attempt's outcome for ep, and applies the
// consecutive-failure rule.
func (b *outlierBalancer) record(ctx context.Context, ep *endpointState, err error) {
	if err == nil { // a success, whatever the classifier
		ep.active.Load().success.Add(1)
		if ep.fails.Load() != 0 {
			ep.fails.Store(0)
		}
		return
	}
	r := outcome.Attempt{Err: err}
	if attempt.TimedOut(ctx, err) {
		// The attempt's own deadline passed: a slow endpoint, not a caller
		// that gave up.
		r.AttemptTimedOut = true
		ctx = context.WithoutCancel(ctx)
	}
	o := b.bld.classifier(ctx, r)
	switch {
	case o == outcome.Success:
		ep.active.Load().success.Add(1)
		if ep.fails.Load() != 0 {
			ep.fails.Store(0)
		}
	case attempt.Failure(o):
		ep.active.Load().failure.Add(1)
		if limit := b.consecutive.Load(); limit > 0 && ep.fails.Add(1) == limit {
			b.ejectNow(ep)
		}
	}
}

// ejectNow ejects ep for consecutive failures, if the limits allow.
func (b *outlierBalancer) ejectNow(ep *endpointState) {
	b.childMu.Lock()
	b.mu.Lock()
	ep.fails.Store(0)
	var evs []event
	var notify []func()
	if !b.closed && !ep.removed && !ep.ejected && b.canEjectLocked() {
		evs, notify = b.ejectLocked(ep, time.Now(), reasonConsecutiveFailures, evs, notify)
	}
	b.mu.Unlock()
	for _, f := range notify {
		f()
	}
	b.childMu.Unlock()
	b.emit(evs)
}

// canEjectLocked applies max ejection percent, and never ejects the last
// endpoint that is not ejected: when every endpoint is bad, the per-target
// circuit breaker is the one to act.
func (b *outlierBalancer) canEjectLocked() bool {
	total := len(b.all)
	return b.ejected*100 < int(b.cfg.maxEjectionPercent)*total && b.ejected+1 < total
}

func (b *outlierBalancer) ejectLocked(ep *endpointState, now time.Time, r reason, evs []event, notify []func()) ([]event, []func()) {
	ep.ejected, ep.ejectedAt = true, now
	ep.multiplier++
	b.ejected++
	for sc := range ep.subConns {
		sc.ejected = true
		if f := sc.notifyLocked(); f != nil {
			notify = append(notify, f)
		}
	}
	return append(evs, event{kind: eventEject, reason: r, addr: ep.id.Addr, duration: b.cfg.ejectionTime(ep.multiplier)}), notify
}

func (b *outlierBalancer) unejectLocked(ep *endpointState, evs []event, notify []func()) ([]event, []func()) {
	ep.ejected, ep.ejectedAt = false, time.Time{}
	ep.fails.Store(0)
	b.ejected--
	for sc := range ep.subConns {
		sc.ejected = false
		if f := sc.notifyLocked(); f != nil {
			notify = append(notify, f)
		}
	}
	return append(evs, event{kind: eventUneject, addr: ep.id.Addr}), notify
}

// sample is one endpoint's calls over the last interval.
type sample struct {
	ep                *endpointState
	success, failures uint32
}

func (s sample) volume() uint32 { return s.success + s.failures }

// tick runs the algorithm of gRFC A50 at the end of each interval.
func (b *outlierBalancer) tick() {
	b.childMu.Lock()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.childMu.Unlock()
		return
	}
	now := time.Now()
	samples := make([]sample, 0, len(b.all))
	for ep := range b.all {
		c := ep.active.Swap(ep.spare)
		s := sample{ep: ep, success: c.success.Swap(0), failures: c.failure.Swap(0)}
		ep.spare = c
		samples = append(samples, s)
	}
	var evs []event
	var notify []func()
	if sr := b.cfg.successRate; sr != nil {
		evs, notify = b.successRateLocked(sr, samples, now, evs, notify)
	}
	if fp := b.cfg.failurePercentage; fp != nil {
		evs, notify = b.failurePercentageLocked(fp, samples, now, evs, notify)
	}
	for ep := range b.all {
		switch {
		case !ep.ejected:
			if ep.multiplier > 0 {
				ep.multiplier--
			}
		case !now.Before(ep.ejectedAt.Add(b.cfg.ejectionTime(ep.multiplier))):
			evs, notify = b.unejectLocked(ep, evs, notify)
		}
	}
	b.timer = time.AfterFunc(b.cfg.interval, b.tick)
	b.mu.Unlock()
	for _, f := range notify {
		f()
	}
	b.childMu.Unlock()
	b.emit(evs)
}

// successRateLocked ejects the endpoints whose success rate is below the
// mean by more than stdevFactor/1000 standard deviations.
func (b *outlierBalancer) successRateLocked(sr *successRate, samples []sample, now time.Time, evs []event, notify []func()) ([]event, []func()) {
	var n, sum float64
	for _, s := range samples {
		if s.volume() >= sr.requestVolume && s.volume() > 0 {
			n++
			sum += float64(s.success) / float64(s.volume())
		}
	}
	if n == 0 || n < float64(sr.minimumHosts) {
		return evs, notify
	}
	mean := sum / n
	var sq float64
	for _, s := range samples {
		if s.volume() >= sr.requestVolume && s.volume() > 0 {
			d := float64(s.success)/float64(s.volume()) - mean
			sq += d * d
		}
	}
	threshold := mean - math.Sqrt(sq/n)*float64(sr.stdevFactor)/1000
	for _, s := range samples {
		if s.volume() < sr.requestVolume || s.volume() == 0 || s.ep.ejected {
			continue
		}
		if float64(s.success)/float64(s.volume()) < threshold && b.canEjectLocked() && enforce(sr.enforcementPercentage) {
			evs, notify = b.ejectLocked(s.ep, now, reasonSuccessRate, evs, notify)
		}
	}
	return evs, notify
}

// failurePercentageLocked ejects the endpoints whose failure percentage is
// above the threshold.
func (b *outlierBalancer) failurePercentageLocked(fp *failurePercentage, samples []sample, now time.Time, evs []event, notify []func()) ([]event, []func()) {
	hosts := 0
	for _, s := range samples {
		if s.volume() >= fp.requestVolume && s.volume() > 0 {
			hosts++
		}
	}
	if hosts == 0 || hosts < int(fp.minimumHosts) {
		return evs, notify
	}
	for _, s := range samples {
		if s.volume() < fp.requestVolume || s.volume() == 0 || s.ep.ejected {
			continue
		}
		if float64(s.failures)*100/float64(s.volume()) > float64(fp.threshold) && b.canEjectLocked() && enforce(fp.enforcementPercentage) {
			evs, notify = b.ejectLocked(s.ep, now, reasonFailurePercentage, evs, notify)
		}
	}
	return evs, notify
}

// enforce draws whether a rule with this enforcement percentage applies.
func enforce(percent uint32) bool {
	return percent >= 100 || percent > 0 && rand.Uint32N(100) < percent
}
