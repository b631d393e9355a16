package concurrency

import (
	"context"
	"errors"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/internal/gone"
	"github.com/bulwarkrpc/bulwark/internal/limiter"
	"github.com/bulwarkrpc/bulwark/internal/method"
	"github.com/bulwarkrpc/bulwark/internal/refusal"
	"github.com/bulwarkrpc/bulwark/internal/reqctx"
	"github.com/bulwarkrpc/bulwark/internal/retrystate"
	"github.com/bulwarkrpc/bulwark/internal/unregistered"
)

// UnaryServerInterceptor returns the server-side unary interceptor: it
// takes a permit before the handler runs and gives it back when the handler
// returns or panics; a call that gets none is refused before any response
// header is sent (see the package documentation).
func (l *Limiter) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		cfg := l.cfg.Load()
		c, raised := cfg.serverCriticality(ctx)
		p, r, s := l.take(ctx, cfg, info.FullMethod, c, "")
		if r != 0 {
			return nil, refusal.Mark(cfg.serverReject(ctx, info.FullMethod, r, c, s))
		}
		if raised {
			// A trusted caller's critical call: its handler's outgoing calls
			// carry the criticality on.
			ctx = NewCriticalityContext(ctx, c)
		}
		return serveUnary(ctx, req, handler, &p)
	}
}

func serveUnary(ctx context.Context, req any, handler grpc.UnaryHandler, p *permit) (any, error) {
	returned := false
	defer func() {
		if !returned { // the handler panicked
			p.ignore()
		}
	}()
	resp, err := handler(ctx, req)
	returned = true
	p.end(serverSample(ctx, err))
	return resp, err
}

// StreamServerInterceptor returns the server-side stream interceptor: the
// stream holds its permit until its handler returns or panics. Streams do
// not feed the adaptive limit.
func (l *Limiter) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := ss.Context()
		// Methods the server has not registered share one name: theirs is
		// the caller's to choose, and ends up in metric labels.
		fullMethod := unregistered.Method(srv, info)
		cfg := l.cfg.Load()
		c, raised := cfg.serverCriticality(ctx)
		p, r, s := l.take(ctx, cfg, fullMethod, c, "")
		if r != 0 {
			return refusal.Mark(cfg.serverReject(ctx, fullMethod, r, c, s))
		}
		defer p.ignore()
		if raised {
			ss = &criticalStream{ServerStream: ss, ctx: NewCriticalityContext(ctx, c)}
		}
		return handler(srv, ss)
	}
}

// criticalStream is a server stream whose context carries the criticality
// a trusted caller raised, for the handler's outgoing calls.
type criticalStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *criticalStream) Context() context.Context { return s.ctx }

// serverCriticality returns the criticality of a request: the one an
// interceptor before the limiter put on its context, else its metadata's,
// which may lower the criticality but raise it only for a trusted caller.
// raised is true for a trusted caller's raise, which the context does not
// carry yet.
func (cfg *settings) serverCriticality(ctx context.Context) (c Criticality, raised bool) {
	if !cfg.priority {
		return DefaultCriticality, false
	}
	if c, ok := ctx.Value(criticalityKey{}).(Criticality); ok {
		return c, false
	}
	c = requestedCriticality(ctx)
	if c == Critical {
		if cfg.trusted == nil || !cfg.trusted(ctx) {
			return DefaultCriticality, false
		}
		return c, true
	}
	return c, false
}

// serverSample judges a handler's result for the adaptive limit: a call
// whose caller hung up or whose own deadline passed says nothing, whatever
// the handler returned (a client's short deadlines are not overload); a
// deadline that ran out otherwise (the server's own, or a downstream call's)
// is a drop; anything else is a latency sample.
func serverSample(ctx context.Context, err error) sampleKind {
	if err == nil {
		return sampleLatency
	}
	if gone.Caller(ctx) {
		return sampleNone
	}
	switch status.Code(err) {
	case codes.DeadlineExceeded:
		return sampleDrop
	case codes.Canceled:
		return sampleNone
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return sampleDrop
	case errors.Is(err, context.Canceled):
		return sampleNone
	}
	return sampleLatency
}

// serverReject builds the error for a refused call: UNAVAILABLE with
// SERVER_OVERLOADED, unprocessed, and a delay hint or a request to stop,
// which the error boundary sends as grpc-retry-pushback-ms.
func (cfg *settings) serverReject(ctx context.Context, fullMethod string, r reason, c Criticality, s *limiter.Semaphore) *rejectError {
	retryAfter := cfg.retryAfter
	if cfg.severe(ctx, r) {
		retryAfter = -1
	}
	app := errdetails.New(errdetails.CodeServerOverloaded, "server overloaded", errdetails.WithDetail("rejection", r.String()))
	app.Unprocessed, app.Domain, app.RetryAfter = true, method.Service(fullMethod), retryAfter
	if retryAfter < 0 {
		app.Retryable = false
	}
	if id, ok := reqctx.Incoming(ctx); ok {
		app.RequestID = id
	}
	e := &rejectError{reason: r, method: fullMethod, retryAfter: retryAfter, app: app}
	if cfg.obs.OnReject != nil {
		ev := rejectEvent(fullMethod, "", r, c, s)
		ev.Stop = retryAfter < 0
		cfg.obs.OnReject(ctx, ev)
	}
	return e
}

// severe reports whether a rejection should ask the caller not to retry:
// the caller is already retrying; the queue is full or the call waited in
// it until its wait or its deadline ran out (the backlog is at its bound,
// so the overload is not a blip); or the caller's deadline leaves no time
// for a retry after the delay.
func (cfg *settings) severe(ctx context.Context, r reason) bool {
	switch r {
	case reasonQueueFull, reasonQueueTimeout, reasonDeadline, reasonCanceled:
		return true
	}
	for _, v := range metadata.ValueFromIncomingContext(ctx, retrystate.PreviousAttemptsHeader) {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return true
		}
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= cfg.retryAfter {
		return true
	}
	return false
}
