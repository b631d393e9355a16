package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/errdetails"
	greeterv1 "github.com/bulwarkrpc/bulwark/examples/greeter/gen/greeter/v1"
	"github.com/bulwarkrpc/bulwark/examples/greeter/greeter"
	"github.com/bulwarkrpc/bulwark/interceptors"
	"github.com/bulwarkrpc/bulwark/interceptors/boundary"
	"github.com/bulwarkrpc/bulwark/interceptors/circuit"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/deadline"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
)

// target is the client's target: cc.Target(), which names the client's
// breaker and retry budget.
const target = "passthrough:///bufnet"

// seed seeds every random source of a run: the greeter's failures, the slow
// dependency, and the breaker's open-time jitter.
const seed = 7

// quiet discards the server boundary's log of the injected failures.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// The Bulwark configuration that every scenario shares. The client and the
// server are the same in every scenario, as they would be in production;
// only the faults change. Where it departs from Bulwark's defaults, the
// comment says why.
const (
	// deadlineAll is the deadline every caller gives every call, in both
	// modes: bare gRPC is not blamed for having none. The client's
	// deadline interceptor gives the same to calls without one.
	deadlineAll = time.Second
	// attemptTimeout is the retry interceptor's per-attempt timeout (off
	// by default): 20 times the service's healthy latency, and short
	// enough that three attempts and their backoffs (100 ms, 200 ms) fit
	// in the deadline: 3×200 + 300 = 900 ms < 1 s.
	attemptTimeout = 200 * time.Millisecond
	// backoff1 and backoff2 are the retry's default backoffs before the
	// second and third attempts, without jitter.
	backoff1, backoff2 = 100 * time.Millisecond, 200 * time.Millisecond
	// maxAttempts is the retry's default attempts per call.
	maxAttempts = 3
	// budgetRatio and budgetFlat are the retry budget's defaults: retries
	// in any 10 s window ≤ 20% of the calls + 10/s × 10 s.
	budgetRatio, budgetFlat = 0.2, 100
	// clientLimit is the client's bulkhead: far above what any scenario
	// keeps in flight while the server answers (rate × attempt time ≤ 40),
	// so it only ever binds if the server stops answering.
	clientLimit = 200
	// serverLimit is the server's concurrency limit when the service has
	// no fixed capacity: far above the load, as an operator would set it.
	serverLimit = 100
	// probes is the breaker's default half-open probes.
	probes = 3
	// openMax is the breaker's default first open duration (jitter only
	// shortens it).
	openMax = 5 * time.Second
)

// mode is how a run's client and server are built.
type mode string

const (
	// bare: plain gRPC, no interceptors on either side.
	bare mode = "bare"
	// bulwark: Bulwark's client and server chains.
	bulwark mode = "bulwark"
	// hedged: Bulwark's chains with hedging on the client.
	hedged mode = "hedged"
)

// scenario is one chaos scenario: a service, the faults it injects and when
// they change, and the load.
type scenario struct {
	name string
	// config is the service's fault injection at the start. Its Capacity,
	// if any, is also the Bulwark server's concurrency limit: the operator
	// knows how many calls the server can run at once.
	config greeter.Config
	// phases change the fault injection while the load runs.
	phases []phase
	// rate is the calls started per second, open loop: a call starts on
	// time whether or not the earlier ones have answered, as requests from
	// many independent users do.
	rate float64
	// duration is how long calls are started.
	duration time.Duration
	// slow, when set, makes a share of the attempts that reach the service
	// wait for a slow dependency.
	slow *slowDependency
	// adaptive makes the Bulwark server's limit adaptive (limit.Gradient
	// with its defaults) instead of fixed.
	adaptive func() concurrency.Option
	// serverBreaker puts the circuit breaker in the Bulwark server's chain
	// too, with its defaults.
	serverBreaker bool
	// canceledAsDBError makes the service answer a call whose caller has
	// gone as a handler whose database call failed on the cancelled context
	// does: errdetails.Database("", ctx.Err()), an UNAVAILABLE.
	canceledAsDBError bool
}

// phase is a change of the service's fault injection at a time after the
// load starts.
type phase struct {
	at     time.Duration
	name   string
	change func(*greeter.Config)
}

// interval is the time between two calls at rate per second. It is a
// little longer than 1/rate, by an odd number of nanoseconds, so that no
// call starts at the same instant as an event that falls on a round number
// of milliseconds from another call (backoff, pushback, the service's
// latency, the breaker's buckets, the phases): events at the same fake
// instant run in an order that synctest does not fix, and would make runs
// differ.
func interval(rate float64) time.Duration {
	return time.Duration(float64(time.Second)/rate) + 7919*time.Nanosecond
}

// calls is the number of calls a scenario starts.
func (sc scenario) calls() int {
	return int(sc.duration / interval(sc.rate))
}

// call is what the client saw of one call.
type call struct {
	start time.Duration // since the load began
	took  time.Duration
	err   error
}

// transition is a change of the client breaker's state.
type transition struct {
	at       time.Duration // since the load began
	from, to breaker.State
}

// String returns the transition as the tables print it.
func (tr transition) String() string {
	return fmt.Sprintf("%s→%s@%s", tr.from, tr.to, ms(tr.at))
}

// result is what one run of a scenario measured.
type result struct {
	mode  mode
	calls []call
	// arrivals are the times (since the load began) of the attempts that
	// reached the server, seen by the gRPC server's stats handler before
	// any interceptor: every attempt of every call, refused or not.
	arrivals []time.Duration
	// service holds each attempt the service handled, in the order they
	// ended.
	service []handled
	// transitions are the client breaker's state changes (Bulwark only).
	transitions []transition
	// breakerRejects counts the attempts the client breaker refused.
	breakerRejects int64
	// final is the client breaker's state after the run.
	final breaker.State
	// serverTransitions and serverFinal are the server breaker's, with
	// scenario.serverBreaker.
	serverTransitions []transition
	serverFinal       breaker.State
	// dbErrors counts the attempts answered as DB_ERROR after their caller
	// had gone (scenario.canceledAsDBError).
	dbErrors int64
}

// run runs sc in mode m inside the current synctest bubble and checks that
// nothing is left behind: no call in the service's slots, no permit in
// either limiter, no breaker probe. synctest itself fails the test if a
// goroutine of the run outlives it.
func run(t *testing.T, sc scenario, m mode) *result {
	t.Helper()
	svc, err := greeter.New(sc.config, greeter.WithSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	rec := &recorder{begin: begin}
	serverRec := &recorder{begin: begin}
	arrivals := &arrivalLog{begin: begin}
	timer := &serviceTimer{begin: begin}
	lis := bufconn.Listen(1 << 20)

	serverOpts := []grpc.ServerOption{grpc.StatsHandler(arrivals)}
	dialOpts := []grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}
	var client *interceptors.ClientChain
	var server *interceptors.ServerChain
	if m != bare {
		client, server = chains(t, sc, m, rec, serverRec)
		serverOpts = append(serverOpts, server.ServerOptions()...)
		dialOpts = append(dialOpts, client.DialOptions()...)
	}
	// Innermost on the server, in both modes: the slow dependency is part
	// of the service, and the timer measures the service itself.
	inner := []grpc.UnaryServerInterceptor{timer.interceptor()}
	var dbErrors atomic.Int64
	if sc.canceledAsDBError {
		inner = append(inner, canceledAsDBError(&dbErrors))
	}
	if sc.slow != nil {
		inner = append(inner, sc.slow.interceptor())
	}
	serverOpts = append(serverOpts, grpc.ChainUnaryInterceptor(inner...))

	srv := grpc.NewServer(serverOpts...)
	greeterv1.RegisterGreeterServer(srv, svc)
	serving := make(chan struct{})
	go func() {
		defer close(serving)
		_ = srv.Serve(lis)
	}()
	conn, err := grpc.NewClient(target, dialOpts...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = conn.Close()
		srv.Stop()
		<-serving
		_ = lis.Close()
		if client != nil {
			client.Close()
			server.Close()
		}
	}()
	greeterClient := greeterv1.NewGreeterClient(conn)

	for _, p := range sc.phases {
		tm := time.AfterFunc(p.at, func() {
			if err := svc.Update(p.change); err != nil {
				t.Errorf("phase %s: %v", p.name, err)
			}
		})
		defer tm.Stop()
	}

	every := interval(sc.rate)
	calls := make([]call, sc.calls())
	var wg sync.WaitGroup
	for i := range calls {
		if d := time.Until(begin.Add(time.Duration(i) * every)); d > 0 {
			<-time.After(d) // fake time: the bubble's clock moves to the next start
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), deadlineAll)
			defer cancel()
			start := time.Now()
			_, err := greeterClient.SayHello(ctx, &greeterv1.HelloRequest{Name: "chaos"})
			calls[i] = call{start: start.Sub(begin), took: time.Since(start), err: err}
		})
	}
	wg.Wait()
	// Let the server finish the attempts whose callers have gone.
	synctest.Wait()

	res := &result{mode: m, calls: calls, arrivals: arrivals.list(), service: timer.list(), dbErrors: dbErrors.Load()}
	if st := svc.Stats(); st.InFlight != 0 || st.Waiting != 0 {
		t.Errorf("%s: the service still has %d calls in its slots and %d waiting for one", m, st.InFlight, st.Waiting)
	}
	if n := svc.Stats().Requests; n != int64(len(res.service)) {
		t.Errorf("%s: the service counted %d requests and the timer %d", m, n, len(res.service))
	}
	if m != bare {
		for side, l := range map[string]*concurrency.Limiter{"client": client.Limiter(), "server": server.Limiter()} {
			if st := l.Stats(); st.InFlight != 0 || st.Queued != 0 {
				t.Errorf("%s: %s limiter still holds %d permits and %d queued calls", m, side, st.InFlight, st.Queued)
			}
		}
		b := client.Circuit().ClientBreaker(target, "")
		if p := b.Counts().Probes; p != 0 {
			t.Errorf("%s: the client breaker still counts %d probes in flight", m, p)
		}
		res.final = b.State()
		res.transitions = rec.list()
		res.breakerRejects = rec.rejects.Load()
		if sc.serverBreaker {
			res.serverFinal = server.Circuit().ServerBreaker("/greeter.v1.Greeter/SayHello").State()
			res.serverTransitions = serverRec.list()
		}
	}
	return res
}

// chains builds the Bulwark chains of a run.
func chains(t *testing.T, sc scenario, m mode, rec, serverRec *recorder) (*interceptors.ClientChain, *interceptors.ServerChain) {
	t.Helper()
	retryOpts := []retry.Option{
		// Jitter off, so that the bounds below can name each backoff
		// exactly; the calls of an open-loop load start at distinct times,
		// so their retries do not fall together anyway.
		retry.WithJitter(0),
		retry.WithPerAttemptTimeout(attemptTimeout),
	}
	if m == hedged {
		retryOpts = append(retryOpts, retry.WithHedging(hedgeDelay, maxAttempts))
	}
	client, err := interceptors.NewClientChain(
		interceptors.WithDeadline(deadline.WithDefaultTimeout(deadlineAll, 0)),
		interceptors.WithRetry(retryOpts...),
		interceptors.WithConcurrency(concurrency.WithLimit(clientLimit)),
		interceptors.WithCircuitBreaker(
			circuit.WithObserver(rec.observer()),
			circuit.WithBreakerOptions(breaker.WithRandSource(rand.NewPCG(seed, seed))),
		),
	)
	if err != nil {
		t.Fatal(err)
	}
	limit := concurrency.WithLimit(serverLimit)
	switch {
	case sc.adaptive != nil:
		limit = sc.adaptive()
	case sc.config.Capacity > 0:
		limit = concurrency.WithLimit(sc.config.Capacity)
	}
	serverOpts := []interceptors.ServerOption{
		interceptors.WithBoundary(boundary.WithLogger(quiet)),
		interceptors.WithDeadline(),
		interceptors.WithConcurrency(limit),
	}
	if sc.serverBreaker {
		serverOpts = append(serverOpts, interceptors.WithCircuitBreaker(circuit.WithObserver(serverRec.observer())))
	}
	server, err := interceptors.NewServerChain(serverOpts...)
	if err != nil {
		client.Close()
		t.Fatal(err)
	}
	return client, server
}

// arrivalLog is a server stats handler that records when each RPC reaches
// the server, before any interceptor: every attempt of every call.
type arrivalLog struct {
	begin time.Time
	mu    sync.Mutex
	at    []time.Duration
}

func (a *arrivalLog) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	a.mu.Lock()
	a.at = append(a.at, time.Since(a.begin))
	a.mu.Unlock()
	return ctx
}

func (a *arrivalLog) HandleRPC(context.Context, stats.RPCStats) {}

func (a *arrivalLog) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }

func (a *arrivalLog) HandleConn(context.Context, stats.ConnStats) {}

func (a *arrivalLog) list() []time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	at := slices.Clone(a.at)
	slices.Sort(at)
	return at
}

// handled is an attempt the service handled.
type handled struct {
	at   time.Duration // when it reached the service, since the load began
	took time.Duration // its wait for a slot and its work
}

// serviceTimer measures how long the service takes for each attempt it
// handles.
type serviceTimer struct {
	begin time.Time
	mu    sync.Mutex
	h     []handled
}

func (s *serviceTimer) interceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		h := handled{at: start.Sub(s.begin), took: time.Since(start)}
		s.mu.Lock()
		s.h = append(s.h, h)
		s.mu.Unlock()
		return resp, err
	}
}

func (s *serviceTimer) list() []handled {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.h)
}

// recorder is the client circuit's observer: it keeps the breaker's
// transitions with their fake times and counts its refusals.
type recorder struct {
	begin   time.Time
	mu      sync.Mutex
	changes []transition
	rejects atomic.Int64
}

// observer returns the Observer whose hooks record into r.
func (r *recorder) observer() circuit.Observer {
	return circuit.Observer{OnStateChange: r.OnStateChange, OnReject: r.OnReject}
}

func (r *recorder) OnStateChange(_ context.Context, e circuit.StateEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, transition{at: time.Since(r.begin), from: e.From, to: e.To})
}

func (r *recorder) OnReject(context.Context, circuit.RejectEvent) { r.rejects.Add(1) }

func (r *recorder) list() []transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.changes)
}

// slowDependency makes a share of the attempts that reach the service wait
// for a slow dependency, each attempt drawn on its own, as with a slow
// replica or a pause: it asks the greeter for a delay= fault, so the
// service's Config must have Chaos on.
type slowDependency struct {
	share float64
	delay time.Duration
}

// interceptor returns the server interceptor of one run, with its own
// seeded random source.
func (s *slowDependency) interceptor() grpc.UnaryServerInterceptor {
	var mu sync.Mutex
	rnd := rand.New(rand.NewPCG(seed, seed+1))
	fault := "delay=" + s.delay.String()
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		mu.Lock()
		slow := rnd.Float64() < s.share
		mu.Unlock()
		if slow {
			md, _ := metadata.FromIncomingContext(ctx)
			md = md.Copy()
			md.Set(greeter.FaultKey, fault)
			ctx = metadata.NewIncomingContext(ctx, md)
		}
		return handler(ctx, req)
	}
}

// canceledAsDBError answers a call whose caller has gone as a handler does
// whose database call failed on the cancelled context, and counts them.
func canceledAsDBError(n *atomic.Int64) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err != nil && ctx.Err() != nil {
			n.Add(1)
			return nil, errdetails.Database("", ctx.Err())
		}
		return resp, err
	}
}

// The measures of a run.

// okCount returns how many of calls succeeded.
func okCount(calls []call) int {
	n := 0
	for _, c := range calls {
		if c.err == nil {
			n++
		}
	}
	return n
}

// successRate is the share of calls that succeeded.
func successRate(calls []call) float64 {
	if len(calls) == 0 {
		return 0
	}
	return float64(okCount(calls)) / float64(len(calls))
}

// amplification is the attempts that reached the server per call.
func (r *result) amplification() float64 { return float64(len(r.arrivals)) / float64(len(r.calls)) }

// between returns the calls that started in [from, to).
func (r *result) between(from, to time.Duration) []call {
	var out []call
	for _, c := range r.calls {
		if c.start >= from && c.start < to {
			out = append(out, c)
		}
	}
	return out
}

// arrivedBetween counts the attempts that reached the server in [from, to).
func (r *result) arrivedBetween(from, to time.Duration) int {
	n := 0
	for _, at := range r.arrivals {
		if at >= from && at < to {
			n++
		}
	}
	return n
}

// serviceTimes returns how long the service took for the attempts that
// reached it in [from, to), sorted.
func (r *result) serviceTimes(from, to time.Duration) []time.Duration {
	var d []time.Duration
	for _, h := range r.service {
		if h.at >= from && h.at < to {
			d = append(d, h.took)
		}
	}
	slices.Sort(d)
	return d
}

// latencies returns the durations of calls (of the successful ones only
// when okOnly), sorted.
func latencies(calls []call, okOnly bool) []time.Duration {
	var d []time.Duration
	for _, c := range calls {
		if !okOnly || c.err == nil {
			d = append(d, c.took)
		}
	}
	slices.Sort(d)
	return d
}

// failedLatencies returns the durations of the calls that failed, sorted.
func failedLatencies(calls []call) []time.Duration {
	var d []time.Duration
	for _, c := range calls {
		if c.err != nil {
			d = append(d, c.took)
		}
	}
	slices.Sort(d)
	return d
}

// percentile returns the nearest-rank q-th percentile of sorted d, or 0
// for none.
func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	rank := int(float64(len(d))*q/100 + 0.999999) // ceil without float noise
	return d[min(max(rank, 1), len(d))-1]
}

// reason names why a call failed, for the table.
func reason(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, breaker.ErrOpen):
		return "circuit_open"
	case errors.Is(err, concurrency.ErrRejected) && errors.Is(err, outcome.ErrLocalReject):
		return "client_limit"
	case errors.Is(err, retry.ErrBudgetExhausted):
		return "budget"
	}
	if ae, ok := errdetails.FromError(err); ok && ae.Code == errdetails.CodeServerOverloaded {
		return "overloaded"
	}
	return strings.ToLower(status.Code(err).String())
}

// reasons counts the failed calls by reason, in a fixed order.
func reasons(calls []call) string {
	count := map[string]int{}
	for _, c := range calls {
		if c.err != nil {
			count[reason(c.err)]++
		}
	}
	if len(count) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, count[k])
	}
	return strings.Join(parts, " ")
}

// table returns the comparison of runs that the tests log: success rate,
// attempts that reached the server per call, latency percentiles of all
// calls and the median latency of the failed ones, p99 of the service's
// time per handled attempt, failures by reason, and the breaker's
// transitions.
func table(name string, runs ...*result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-9s %6s %8s %9s %8s %8s %9s %9s  %s\n", name, "calls", "success", "att/call", "p50", "p99", "fail p50", "svc p99", "failures")
	for _, r := range runs {
		all := latencies(r.calls, false)
		fmt.Fprintf(&b, "%-9s %6d %7.1f%% %9.3f %8s %8s %9s %9s  %s\n", r.mode, len(r.calls), 100*successRate(r.calls),
			r.amplification(), ms(percentile(all, 50)), ms(percentile(all, 99)), failMedian(r.calls),
			ms(percentile(r.serviceTimes(0, 1<<62), 99)), reasons(r.calls))
	}
	for _, r := range runs {
		if len(r.transitions) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%-9s breaker:", r.mode)
		for _, tr := range r.transitions {
			fmt.Fprintf(&b, " %s", tr)
		}
		fmt.Fprintf(&b, "; refused %d attempts\n", r.breakerRejects)
	}
	return b.String()
}

// failMedian formats the median latency of the failed calls, or "-" when
// none failed.
func failMedian(calls []call) string {
	d := failedLatencies(calls)
	if len(d) == 0 {
		return "-"
	}
	return ms(percentile(d, 50))
}

// ms formats d in milliseconds with one decimal.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

// compare runs sc bare and with Bulwark (and in the extra modes), each in
// its own bubble, logs the table and returns the results in that order.
func compare(t *testing.T, sc scenario, extra ...mode) []*result {
	t.Helper()
	modes := append([]mode{bare, bulwark}, extra...)
	runs := make([]*result, len(modes))
	for i, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { runs[i] = run(t, sc, m) })
		})
	}
	for _, r := range runs {
		if r == nil {
			t.FailNow()
		}
	}
	t.Log(table(sc.name, runs...))
	return runs
}
