package metrics

import (
	"context"
	"math"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/circuit"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/deadline"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/limiter"
	"github.com/bulwarkrpc/bulwark/internal/method"
	"github.com/bulwarkrpc/bulwark/internal/retrystate"
)

func defaultRegistry() *errdetails.Registry { return errdetails.Default }

// side is the value of the side label: "client" for events that name a
// target, "server" for the others.
func side(target string) string {
	if target == "" {
		return "server"
	}
	return "client"
}

// numOutcomes is the number of outcomes, for arrays indexed by
// outcome.Outcome.
const numOutcomes = int(outcome.Shed) + 1

// components holds the metrics of Bulwark's components, fed by their
// Observers and, for gauges, read from the components when collected.
type components struct {
	circuitState       *prometheus.GaugeVec
	circuitTransitions *prometheus.CounterVec
	circuitCalls       *prometheus.CounterVec
	circuitRejections  counters[circuitKey]
	circuitCallKids    sync.Map // circuitKey -> *[numOutcomes]prometheus.Counter, on the client
	// serverCircuitKids is circuitCallKids for the server's breakers,
	// whose target is always empty, by method alone: a string key hashes
	// in half the time of a two-string one, and every call looks one up.
	serverCircuitKids sync.Map // full method -> *[numOutcomes]prometheus.Counter

	attempts      *prometheus.Desc // attempts per call, built when collected
	retryDelay    *prometheus.HistogramVec
	retryStops    *prometheus.CounterVec
	retryCommits  *prometheus.CounterVec
	budget        *prometheus.Desc
	buffer        *prometheus.Desc
	retriedCalls  sync.Map // full method -> *attemptCounts
	budgetSources sync.Map // target -> func() (float64, bool)
	bufferSources sync.Map // target -> func() (int64, bool)

	limit, inFlight, queued *prometheus.Desc
	limiterRejections       counters[rejectKey]
	limiterWait             *prometheus.HistogramVec
	limiters                sync.Mutex
	limiterList             []trackedLimiter

	deadlineRejections counters[methodKey]
	deadlineDefaults   counters[methodKey]
	deadlineAdjusted   counters[methodKey]

	reloads *prometheus.CounterVec // series appear with a chain's first Reconfigure
}

// configReload counts a Reconfigure.
func (c *components) configReload(ok bool) {
	result := "error"
	if ok {
		result = "ok"
	}
	c.reloads.WithLabelValues(result).Inc()
}

type circuitKey struct{ target, method string }

func (k circuitKey) labelValues() []string {
	svc, name := method.Split(k.method)
	return []string{side(k.target), k.target, svc, name}
}

type methodKey string

func (k methodKey) labelValues() []string {
	svc, name := method.Split(string(k))
	return []string{svc, name}
}

type rejectKey struct {
	target, method string
	reason         string
}

func (k rejectKey) labelValues() []string {
	svc, name := method.Split(k.method)
	return []string{side(k.target), svc, name, k.reason}
}

// counters caches the children of a counter vector by a key that knows its
// label values, so that an event that can come on every call (a default
// timeout, a rejection under overload) costs a map load, not label hashing.
type counters[K interface {
	comparable
	labelValues() []string
}] struct {
	vec  *prometheus.CounterVec
	kids sync.Map // K -> prometheus.Counter
}

func (c *counters[K]) inc(k K) {
	v, ok := c.kids.Load(k)
	if !ok {
		v, _ = c.kids.LoadOrStore(k, c.vec.WithLabelValues(k.labelValues()...))
	}
	v.(prometheus.Counter).Inc()
}

type trackedLimiter struct {
	side    string
	l       *concurrency.Limiter
	methods []string
}

// attemptCounts counts, for one method, the calls the Retrier handled by
// how many attempts they made, up to the highest cap a Retrier may have
// (index 0 holds any other count). The histogram's buckets stop at the
// default cap, 5; calls beyond it, under a raised cap, count in +Inf and
// in the sum.
type attemptCounts struct {
	byAttempts [retrystate.AttemptsCeiling + 1]atomic.Uint64
}

func newComponents(o *options) *components {
	ns := o.namespace
	target := []string{"side", "target", "grpc_service", "grpc_method"}
	with := func(extra ...string) []string { return append(append([]string{}, target...), extra...) }
	methodLabels := []string{"grpc_service", "grpc_method"}
	return &components{
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "config_reloads_total",
			Help: "Reconfigure calls on a chain, by result: ok (applied) or error (refused; nothing changed)."}, []string{"result"}),
		circuitState: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "circuit_state",
			Help: "Circuit breaker state: 1 for the current state, 0 for the others. grpc_method is empty for a breaker that guards a whole target."},
			with("state")),
		circuitTransitions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "circuit_transitions_total",
			Help: "Circuit breaker state transitions."}, with("from", "to")),
		circuitCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "circuit_calls_total",
			Help: "Calls a circuit breaker let through, by outcome."}, with("outcome")),
		circuitRejections: counters[circuitKey]{vec: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "circuit_rejections_total",
			Help: "Calls an open circuit breaker refused without reaching the network or the handler."}, target)},

		attempts: prometheus.NewDesc(ns+"_retry_call_attempts", "Attempts per finished client call, hedges included (calls that needed no retry count as 1).",
			[]string{"grpc_service", "grpc_method"}, nil),
		retryDelay: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "retry_delay_seconds",
			Help:    "Delay before each retry or hedge, by where it came from (backoff, pushback, retry_info, hedge).",
			Buckets: []float64{0, .01, .025, .05, .1, .2, .4, .8, 1.6, 3.2, 6.4, 30}}, append(methodLabels, "reason")),
		retryStops: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "retry_stops_total",
			Help: "Calls whose first attempt failed or that were hedged, by why the retrier stopped (succeeded, budget, deadline, not_retryable, ...)."},
			append(methodLabels, "reason", "hedged")),
		retryCommits: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "retry_stream_commits_total",
			Help: "Streams that committed (were no longer retried), by why."}, append(methodLabels, "reason")),
		budget: prometheus.NewDesc(ns+"_retry_budget_level", "What the retry budget of a target holds: retries left in its window, or tokens.",
			[]string{"target"}, nil),
		buffer: prometheus.NewDesc(ns+"_retry_buffer_bytes", "Bytes of sent messages that the streams to a target keep to replay until they commit.",
			[]string{"target"}, nil),

		limit:    prometheus.NewDesc(ns+"_concurrency_limit", "Current concurrency limit; grpc_method is empty for the global limit.", []string{"side", "grpc_service", "grpc_method"}, nil),
		inFlight: prometheus.NewDesc(ns+"_concurrency_in_flight", "Permits held.", []string{"side", "grpc_service", "grpc_method"}, nil),
		queued:   prometheus.NewDesc(ns+"_concurrency_queued", "Calls waiting for a permit.", []string{"side", "grpc_service", "grpc_method"}, nil),
		limiterRejections: counters[rejectKey]{vec: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "concurrency_rejections_total",
			Help: "Calls a concurrency limiter refused, by reason (limit, shed_priority, queue_full, queue_timeout, deadline, canceled)."},
			[]string{"side", "grpc_service", "grpc_method", "reason"})},
		limiterWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "concurrency_wait_seconds",
			Help: "Time calls waited in a limiter's queue, by whether they got a permit.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 8)},
			[]string{"side", "acquired"}),

		deadlineRejections: counters[methodKey]{vec: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "deadline_rejections_total",
			Help: "Requests a server refused because too little of their deadline was left (DEADLINE_TOO_SHORT)."}, methodLabels)},
		deadlineDefaults: counters[methodKey]{vec: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "deadline_defaults_total",
			Help: "Client calls without a deadline that were given the default timeout."}, methodLabels)},
		deadlineAdjusted: counters[methodKey]{vec: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "deadline_adjusted_total",
			Help: "Server requests whose deadline was capped or shaved."}, methodLabels)},
	}
}

func (c *components) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		c.circuitState, c.circuitTransitions, c.circuitCalls, c.circuitRejections.vec,
		c.retryDelay, c.retryStops, c.retryCommits,
		c.limiterRejections.vec, c.limiterWait,
		c.deadlineRejections.vec, c.deadlineDefaults.vec, c.deadlineAdjusted.vec,
		c.reloads,
	}
}

func (c *components) describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.attempts, c.budget, c.buffer, c.limit, c.inFlight, c.queued} {
		ch <- d
	}
}

// collect sends the metrics that are read when collected.
func (m *Metrics) collectComputed(ch chan<- prometheus.Metric) {
	c := m.comps
	// Attempts per call: calls the retrier handled by their attempts, and
	// the other finished calls as single attempts.
	m.client.children.Range(func(k, v any) bool {
		rc := v.(*rpcChildren)
		counts := [retrystate.AttemptsCeiling + 1]uint64{}
		var retried uint64
		if ac, ok := c.retriedCalls.Load(k); ok {
			for i := range counts {
				counts[i] = ac.(*attemptCounts).byAttempts[i].Load()
				retried += counts[i]
			}
		}
		finished := rc.finished.Load()
		single := uint64(0)
		if finished > retried {
			single = finished - retried
		}
		buckets := make(map[float64]uint64, retrystate.MaxAttempts)
		total := single
		sum := float64(single)
		for n := 1; n <= retrystate.AttemptsCeiling; n++ {
			total += counts[n]
			sum += float64(n) * float64(counts[n])
			if n <= retrystate.MaxAttempts {
				buckets[float64(n)] = total
			}
		}
		total += counts[0]
		sum += float64(counts[0]) * (retrystate.AttemptsCeiling + 1)
		ch <- prometheus.MustNewConstHistogram(c.attempts, total, sum, buckets, rc.service, rc.method)
		return true
	})
	c.budgetSources.Range(func(k, v any) bool {
		if level, ok := v.(func() (float64, bool))(); ok && !math.IsInf(level, 1) {
			ch <- prometheus.MustNewConstMetric(c.budget, prometheus.GaugeValue, level, k.(string))
		}
		return true
	})
	c.bufferSources.Range(func(k, v any) bool {
		if n, ok := v.(func() (int64, bool))(); ok {
			ch <- prometheus.MustNewConstMetric(c.buffer, prometheus.GaugeValue, float64(n), k.(string))
		}
		return true
	})
	c.limiters.Lock()
	limiters := c.limiterList
	c.limiters.Unlock()
	for _, tl := range limiters {
		if st := tl.l.Stats(); st.Limit > 0 {
			c.sendStats(ch, tl.side, "", "", st)
		}
		for _, fm := range tl.methods {
			if s := limiter.MethodSemaphore(tl.l, fm); s != nil {
				svc, name := method.Split(fm)
				c.sendStats(ch, tl.side, svc, name, concurrency.Stats{Limit: s.Limit(), InFlight: s.InFlight(), Queued: s.Queued()})
			}
		}
	}
}

func (c *components) sendStats(ch chan<- prometheus.Metric, side, svc, name string, st concurrency.Stats) {
	ch <- prometheus.MustNewConstMetric(c.limit, prometheus.GaugeValue, float64(st.Limit), side, svc, name)
	ch <- prometheus.MustNewConstMetric(c.inFlight, prometheus.GaugeValue, float64(st.InFlight), side, svc, name)
	ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(st.Queued), side, svc, name)
}

// trackLimiter reports the limit, in-flight and queue gauges of l (its
// global limit and the given methods' limits) under side ("client" or
// "server"). The chain builders call it (through internal/track).
func (m *Metrics) trackLimiter(side string, l *concurrency.Limiter, methods ...string) {
	m.comps.limiters.Lock()
	defer m.comps.limiters.Unlock()
	m.comps.limiterList = append(m.comps.limiterList, trackedLimiter{side: side, l: l, methods: methods})
}

// trackRetrier reports the budget level of r's targets, once a target has
// needed a retry, and the bytes their streams keep to replay, once a stream
// to the target has committed. The chain builders call it (through
// internal/track).
func (m *Metrics) trackRetrier(r *retry.Retrier) {
	m.retrier.Store(r)
}

// circuitHooks returns the circuit.Observer that feeds the
// <namespace>_circuit_* metrics.
func (m *Metrics) circuitHooks() circuit.Observer {
	o := circuitObserver{m.comps}
	return circuit.Observer{OnStateChange: o.OnStateChange, OnCall: o.OnCall, OnReject: o.OnReject}
}

type circuitObserver struct{ c *components }

func (o circuitObserver) OnStateChange(_ context.Context, e circuit.StateEvent) {
	target, from, to := e.Target, e.From, e.To
	svc, name := splitOptional(e.Method)
	s := side(target)
	o.c.circuitState.WithLabelValues(s, target, svc, name, from.String()).Set(0)
	o.c.circuitState.WithLabelValues(s, target, svc, name, to.String()).Set(1)
	o.c.circuitTransitions.WithLabelValues(s, target, svc, name, from.String(), to.String()).Inc()
}

func (o circuitObserver) OnCall(_ context.Context, e circuit.CallEvent) {
	target, fullMethod, oc := e.Target, e.Method, e.Outcome
	var v any
	var ok bool
	if target == "" {
		v, ok = o.c.serverCircuitKids.Load(fullMethod)
	} else {
		v, ok = o.c.circuitCallKids.Load(circuitKey{target, fullMethod})
	}
	if !ok {
		var kids [numOutcomes]prometheus.Counter
		svc, name := method.Split(fullMethod)
		for i := range kids {
			kids[i] = o.c.circuitCalls.WithLabelValues(side(target), target, svc, name, outcome.Outcome(i).String())
		}
		if target == "" {
			v, _ = o.c.serverCircuitKids.LoadOrStore(fullMethod, &kids)
		} else {
			v, _ = o.c.circuitCallKids.LoadOrStore(circuitKey{target, fullMethod}, &kids)
		}
	}
	if int(oc) < len(v.(*[numOutcomes]prometheus.Counter)) {
		v.(*[numOutcomes]prometheus.Counter)[oc].Inc()
	}
}

func (o circuitObserver) OnReject(_ context.Context, e circuit.RejectEvent) {
	o.c.circuitRejections.inc(circuitKey{e.Target, e.Method})
}

// splitOptional splits a full method name, or returns two empty strings
// for the empty name of a breaker that guards a whole target.
func splitOptional(fullMethod string) (string, string) {
	if fullMethod == "" {
		return "", ""
	}
	return method.Split(fullMethod)
}

// retryHooks returns the retry.Observer that feeds the
// <namespace>_retry_* metrics.
func (m *Metrics) retryHooks() retry.Observer {
	o := retryObserver{m}
	return retry.Observer{OnRetry: o.OnRetry, OnCommit: o.OnCommit, OnFinish: o.OnFinish}
}

type retryObserver struct{ m *Metrics }

func (o retryObserver) OnRetry(_ context.Context, e retry.RetryEvent) {
	svc, name := method.Split(e.Method)
	o.m.comps.retryDelay.WithLabelValues(svc, name, e.Reason).Observe(e.Delay.Seconds())
	if r := o.m.retrier.Load(); r != nil {
		target := e.Target
		o.m.comps.budgetSources.LoadOrStore(target, func() (float64, bool) { return retrystate.Of(r).BudgetLevel(target) })
	}
}

func (o retryObserver) OnCommit(_ context.Context, e retry.CommitEvent) {
	svc, name := method.Split(e.Method)
	o.m.comps.retryCommits.WithLabelValues(svc, name, e.Reason).Inc()
	if r := o.m.retrier.Load(); r != nil {
		target := e.Target
		if _, ok := o.m.comps.bufferSources.Load(target); !ok {
			o.m.comps.bufferSources.LoadOrStore(target, func() (int64, bool) { return retrystate.Of(r).BufferedBytes(target) })
		}
	}
}

func (o retryObserver) OnFinish(_ context.Context, e retry.FinishEvent) {
	svc, name := method.Split(e.Method)
	hedged := "false"
	if e.Hedged {
		hedged = "true"
	}
	o.m.comps.retryStops.WithLabelValues(svc, name, e.Reason, hedged).Inc()
	v, ok := o.m.comps.retriedCalls.Load(e.Method)
	if !ok {
		v, _ = o.m.comps.retriedCalls.LoadOrStore(e.Method, &attemptCounts{})
	}
	n := e.Attempts
	if n < 1 || n > retrystate.AttemptsCeiling {
		n = 0
	}
	v.(*attemptCounts).byAttempts[n].Add(1)
}

// concurrencyHooks returns the concurrency.Observer that feeds the
// <namespace>_concurrency_* counters and histograms (the gauges come from
// the chain builders).
func (m *Metrics) concurrencyHooks() concurrency.Observer {
	o := concurrencyObserver{c: m.comps}
	return concurrency.Observer{OnReject: o.OnReject, OnWait: o.OnWait}
}

type concurrencyObserver struct{ c *components }

func (o concurrencyObserver) OnReject(_ context.Context, e concurrency.RejectEvent) {
	o.c.limiterRejections.inc(rejectKey{e.Target, e.Method, e.Reason})
}

func (o concurrencyObserver) OnWait(_ context.Context, e concurrency.WaitEvent) {
	acquired := "false"
	if e.Acquired {
		acquired = "true"
	}
	o.c.limiterWait.WithLabelValues(side(e.Target), acquired).Observe(e.Waited.Seconds())
}

// deadlineHooks returns the deadline.Observer that feeds the
// <namespace>_deadline_* metrics.
func (m *Metrics) deadlineHooks() deadline.Observer {
	c := m.comps
	return deadline.Observer{
		OnDefault: func(_ context.Context, e deadline.DefaultEvent) { c.deadlineDefaults.inc(methodKey(e.Method)) },
		OnAdjust:  func(_ context.Context, e deadline.AdjustEvent) { c.deadlineAdjusted.inc(methodKey(e.Method)) },
		OnReject:  func(_ context.Context, e deadline.RejectEvent) { c.deadlineRejections.inc(methodKey(e.Method)) },
	}
}
