package opentelemetry

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/internal/rpc"
)

// callKey is the context key of a client call's *callState.
type callKey struct{}

// callState is what the call interceptor, the stats handler and the retry
// observer learn about one client call. It exists only while the call's
// metrics are enabled or its span is recording.
type callState struct {
	method, target string // A66's grpc.method and grpc.target
	attrs          *methodAttrs
	metrics        bool // the A66 instruments are enabled
	start          time.Time
	noDeadline     bool        // the caller set no deadline
	deadlineNoted  atomic.Bool // the default deadline's span event was added

	retries, hedges     atomic.Int64 // from the Retrier's observer
	begins, transparent atomic.Int64 // from the stats handler

	mu        sync.Mutex // guards the fields below, for hedged attempts
	active    int        // attempts on the transport
	idleSince time.Time  // when active last fell to zero
	delay     time.Duration
}

func callFrom(ctx context.Context) *callState {
	c, _ := ctx.Value(callKey{}).(*callState)
	return c
}

// attemptBegan and attemptEnded keep the time during which the call had no
// attempt on the transport: gRFC A96's grpc.client.call.retry_delay.
func (c *callState) attemptBegan(now time.Time) {
	c.mu.Lock()
	if c.active == 0 && !c.idleSince.IsZero() {
		c.delay += now.Sub(c.idleSince)
	}
	c.active++
	c.mu.Unlock()
}

func (c *callState) attemptEnded(now time.Time) {
	c.mu.Lock()
	if c.active--; c.active == 0 {
		c.idleSince = now
	}
	c.mu.Unlock()
}

// startCall returns ctx with the state of a new call, or nil when neither
// the metrics nor the span events want it.
func (t *Telemetry) startCall(ctx context.Context, cc *grpc.ClientConn, fullMethod string, opts []grpc.CallOption) (context.Context, *callState) {
	// A view may drop some instruments: the call is measured while either
	// of its duration histograms is kept.
	metrics := !t.noMetrics && (t.in.callDuration.Enabled(ctx) || t.in.attemptDuration.Enabled(ctx))
	if !metrics && !(t.spanEvents && trace.SpanFromContext(ctx).IsRecording()) {
		return ctx, nil
	}
	c := &callState{method: otherMethod, target: t.canonicalTarget(cc), metrics: metrics, start: time.Now()}
	for _, o := range opts {
		if _, ok := o.(grpc.StaticMethodCallOption); ok {
			c.method = trimMethod(fullMethod)
			break
		}
	}
	if metrics {
		c.attrs = t.client.forMethod(c.method, c.target)
	}
	_, hasDeadline := ctx.Deadline()
	c.noDeadline = !hasDeadline
	markUsed(&t.clientUsed)
	return context.WithValue(ctx, callKey{}, c), c
}

// canonicalTarget returns cc.CanonicalTarget(), A66's grpc.target, which
// gRPC builds anew on each call, from a cache keyed by cc.Target().
func (t *Telemetry) canonicalTarget(cc *grpc.ClientConn) string {
	if v, ok := t.canonical.Load(cc.Target()); ok {
		return v.(string)
	}
	v, _ := t.canonical.LoadOrStore(cc.Target(), cc.CanonicalTarget())
	return v.(string)
}

// finishCall records grpc.client.call.duration, the gRFC A96 instruments
// and the application error of a call.
func (t *Telemetry) finishCall(ctx context.Context, c *callState, err error) {
	if !c.metrics {
		return
	}
	code := rpc.Code(err)
	t.in.callDuration.Record(ctx, time.Since(c.start).Seconds(), c.attrs.code(code).record...)
	a := c.attrs.none
	retries, hedges := c.retries.Load(), c.hedges.Load()
	begins, transparent := c.begins.Load(), c.transparent.Load()
	// Attempts that reached the transport beyond those the Retrier made
	// are gRPC's own retries (a retryPolicy in the service config).
	if extra := begins - transparent - (1 + retries + hedges); extra > 0 {
		retries += extra
	}
	if retries > 0 {
		t.in.retries.Record(ctx, retries, a.record...)
	}
	if transparent > 0 {
		t.in.transparent.Record(ctx, transparent, a.record...)
	}
	if hedges > 0 {
		t.in.hedges.Record(ctx, hedges, a.record...)
	}
	c.mu.Lock()
	delay := c.delay
	c.mu.Unlock()
	t.in.retryDelay.Record(ctx, delay.Seconds(), a.record...)
	if err != nil {
		t.appError(ctx, t.in.clientAppErrors, &t.clientApp, c.method, c.target, code, err)
	}
}

// unaryClientInterceptor records a unary call: grpc.client.call.duration,
// the gRFC A96 instruments grpc.client.call.retries, .hedges,
// .transparent_retries and .retry_delay, and
// bulwark.client.application_errors. It belongs outermost in the client
// chain, beside the metrics of calls, outside the deadline and the retrier;
// the stats handler (clientStatsHandler) records the attempts and needs it.
// It returns the call's error unchanged.
func (t *Telemetry) unaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		ctx, c := t.startCall(ctx, cc, method, opts)
		if c == nil {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		err := invoker(ctx, method, req, reply, cc, opts...)
		t.finishCall(ctx, c, err)
		return err
	}
}

// streamClientInterceptor is the stream form of unaryClientInterceptor: the
// call ends at the first RecvMsg error (io.EOF for success) or, for a call
// without a server stream, at the RecvMsg of its reply.
func (t *Telemetry) streamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		ctx, c := t.startCall(ctx, cc, method, opts)
		if c == nil {
			return streamer(ctx, desc, cc, method, opts...)
		}
		cs, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			t.finishCall(ctx, c, err)
			return nil, err
		}
		return rpc.WrapClient(cs, desc.ServerStreams, rpc.ClientHooks{
			Finished: func(err error) { t.finishCall(ctx, c, err) },
		}), nil
	}
}

// clientStatsHandler returns the stats.Handler that records each attempt
// that reaches the transport (gRFC A66's grpc.client.attempt.*: started,
// duration, compressed bytes sent and received) and counts gRPC's
// transparent retries. Register it with grpc.WithStatsHandler together with
// unaryClientInterceptor and streamClientInterceptor (DialOptions does);
// attempts of calls that did not pass through them are not recorded.
func (t *Telemetry) clientStatsHandler() stats.Handler { return clientHandler{t} }

type clientHandler struct{ t *Telemetry }

// attemptKey is the context key of an attempt's *attemptState.
type attemptKey struct{}

type attemptState struct {
	call       *callState
	start      time.Time
	sent, rcvd atomic.Int64
}

func (h clientHandler) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	if !h.t.clientUsed.Load() {
		return ctx
	}
	c := callFrom(ctx)
	if c == nil || !c.metrics {
		return ctx
	}
	a := &attemptState{call: c, start: time.Now()}
	c.attemptBegan(a.start)
	return context.WithValue(ctx, attemptKey{}, a)
}

func (h clientHandler) HandleRPC(ctx context.Context, s stats.RPCStats) {
	if !h.t.clientUsed.Load() {
		return
	}
	a, _ := ctx.Value(attemptKey{}).(*attemptState)
	if a == nil {
		return
	}
	switch s := s.(type) {
	case *stats.Begin:
		a.call.begins.Add(1)
		if s.IsTransparentRetryAttempt {
			a.call.transparent.Add(1)
		}
		h.t.in.attemptStarted.Add(ctx, 1, a.call.attrs.none.add...)
	case *stats.OutPayload:
		a.sent.Add(int64(s.CompressedLength))
	case *stats.InPayload:
		a.rcvd.Add(int64(s.CompressedLength))
	case *stats.End:
		now := time.Now()
		a.call.attemptEnded(now)
		code := codes.OK
		if s.Error != nil {
			code = status.Code(s.Error)
		}
		r := a.call.attrs.code(code).record
		h.t.in.attemptDuration.Record(ctx, now.Sub(a.start).Seconds(), r...)
		h.t.in.attemptSent.Record(ctx, a.sent.Load(), r...)
		h.t.in.attemptRcvd.Record(ctx, a.rcvd.Load(), r...)
	}
}

func (clientHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }

func (clientHandler) HandleConn(context.Context, stats.ConnStats) {}

// unaryAttempt adds span events for what happens to each
// attempt inside the retrier: the default deadline the call was given
// (bulwark.deadline.default), a circuit breaker's refusal
// (bulwark.circuit.rejected) and a concurrency limiter's rejection
// (bulwark.limiter.rejected), to the caller's span when it is recording. It
// belongs in the client chain right inside the retrier, outside the limiter
// and the circuit breaker. It returns the attempt's error unchanged.
func (t *Telemetry) unaryAttempt() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if !t.spanEvents || !t.clientUsed.Load() {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		span := trace.SpanFromContext(ctx)
		if !span.IsRecording() {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		defaultDeadlineEvent(ctx, span)
		err := invoker(ctx, method, req, reply, cc, opts...)
		if err != nil {
			rejectionEvent(span, err, false)
		}
		return err
	}
}

// streamAttempt is the stream form of unaryAttempt;
// the limiter and the breaker refuse a stream when it opens.
func (t *Telemetry) streamAttempt() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		if !t.spanEvents || !t.clientUsed.Load() {
			return streamer(ctx, desc, cc, method, opts...)
		}
		span := trace.SpanFromContext(ctx)
		if !span.IsRecording() {
			return streamer(ctx, desc, cc, method, opts...)
		}
		defaultDeadlineEvent(ctx, span)
		cs, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			rejectionEvent(span, err, false)
		}
		return cs, err
	}
}
