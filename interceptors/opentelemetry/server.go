package opentelemetry

import (
	"context"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/internal/rpc"
	"github.com/bulwarkrpc/bulwark/internal/unregistered"
)

// serverKey is the context key of a server call's *serverState.
type serverKey struct{}

// serverState is what the stats handler and the server interceptor learn
// about one server call.
type serverState struct {
	start      time.Time
	method     string // "other" until an interceptor sees a registered method
	started    atomic.Bool
	sent, rcvd atomic.Int64
}

// serverStatsHandler returns the stats.Handler that records gRFC A66's
// server instruments: grpc.server.call.started, .duration, and the
// compressed bytes sent and received. Register it with grpc.StatsHandler
// together with unaryServerInterceptor and streamServerInterceptor
// (ServerOptions does): the interceptors tell registered methods, which
// are recorded by name, from the others, recorded as "other" (A66). A call
// that never reaches an interceptor (an unknown method, or a request that
// could not be decoded) is "other", and is counted as started when its
// status is sent.
func (t *Telemetry) serverStatsHandler() stats.Handler { return serverHandler{t} }

type serverHandler struct{ t *Telemetry }

func (h serverHandler) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	if h.t.noMetrics || !h.t.in.serverDuration.Enabled(ctx) && !h.t.in.serverStarted.Enabled(ctx) {
		return ctx
	}
	markUsed(&h.t.serverUsed)
	return context.WithValue(ctx, serverKey{}, &serverState{start: time.Now(), method: otherMethod})
}

func (h serverHandler) HandleRPC(ctx context.Context, s stats.RPCStats) {
	if !h.t.serverUsed.Load() {
		return
	}
	st, _ := ctx.Value(serverKey{}).(*serverState)
	if st == nil {
		return
	}
	switch s := s.(type) {
	case *stats.InPayload:
		st.rcvd.Add(int64(s.CompressedLength))
	case *stats.OutPayload:
		st.sent.Add(int64(s.CompressedLength))
	case *stats.OutTrailer:
		// A call that no interceptor saw, such as one to an unknown method
		// (which has no End), is counted as started when its status goes.
		h.t.serverStarted(ctx, st)
	case *stats.End:
		h.t.serverStarted(ctx, st)
		code := codes.OK
		if s.Error != nil {
			code = status.Code(s.Error)
		}
		r := h.t.server.get(attrKey{method: st.method, code: code}).record
		h.t.in.serverDuration.Record(ctx, time.Since(st.start).Seconds(), r...)
		h.t.in.serverSent.Record(ctx, st.sent.Load(), r...)
		h.t.in.serverRcvd.Record(ctx, st.rcvd.Load(), r...)
	}
}

func (serverHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }

func (serverHandler) HandleConn(context.Context, stats.ConnStats) {}

// serverStarted counts st in grpc.server.call.started, once.
func (t *Telemetry) serverStarted(ctx context.Context, st *serverState) {
	if !st.started.Swap(true) {
		t.in.serverStarted.Add(ctx, 1, t.server.get(attrKey{method: st.method, code: noStatus}).add...)
	}
}

// serverCall marks the call of ctx as one to the registered method
// fullMethod and counts it as started; it returns the call's state, or nil
// when the stats handler is not recording it.
func (t *Telemetry) serverCall(ctx context.Context, fullMethod string) *serverState {
	if !t.serverUsed.Load() {
		return nil
	}
	st, _ := ctx.Value(serverKey{}).(*serverState)
	if st == nil {
		return nil
	}
	if !st.started.Load() {
		st.method = trimMethod(fullMethod)
		t.serverStarted(ctx, st)
	}
	return st
}

// serverDone counts the application error of a failed call and adds the
// span event of a refusal by Bulwark's server components.
func (t *Telemetry) serverDone(ctx context.Context, st *serverState, err error) {
	if st != nil {
		t.appError(ctx, t.in.serverAppErrors, &t.serverApp, st.method, "", rpc.Code(err), err)
	}
	if t.spanEvents {
		if span := trace.SpanFromContext(ctx); span.IsRecording() {
			rejectionEvent(span, err, true)
		}
	}
}

// unaryServerInterceptor tells the stats handler (serverStatsHandler) that
// a call is to a registered method, counts
// bulwark.server.application_errors, and adds the span events of the
// refusals of Bulwark's server components (circuit breaker, limiter,
// deadline) to the server's span when it is recording. It belongs in the
// server chain beside the metrics, outside the error boundary. It returns
// the handler's result unchanged.
func (t *Telemetry) unaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		st := t.serverCall(ctx, info.FullMethod)
		resp, err := handler(ctx, req)
		if err != nil {
			t.serverDone(ctx, st, err)
		}
		return resp, err
	}
}

// streamServerInterceptor is the stream form of unaryServerInterceptor. A
// call that grpc.UnknownServiceHandler serves (no service value, client
// and server streaming) stays "other".
func (t *Telemetry) streamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := ss.Context()
		var st *serverState
		if unregistered.Is(srv, info) {
			st, _ = ctx.Value(serverKey{}).(*serverState)
		} else {
			st = t.serverCall(ctx, info.FullMethod)
		}
		err := handler(srv, ss)
		if err != nil {
			t.serverDone(ctx, st, err)
		}
		return err
	}
}
