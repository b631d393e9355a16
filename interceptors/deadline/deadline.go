package deadline

import (
	"context"
	"io"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/internal/callclock"
	"github.com/bulwarkrpc/bulwark/internal/gone"
	"github.com/bulwarkrpc/bulwark/internal/method"
	"github.com/bulwarkrpc/bulwark/internal/reconfig"
	"github.com/bulwarkrpc/bulwark/internal/refusal"
	"github.com/bulwarkrpc/bulwark/internal/reqctx"
	"github.com/bulwarkrpc/bulwark/internal/unregistered"
)

// Policy holds the deadline configuration; its methods return the
// interceptors. It is safe for concurrent use.
type Policy struct {
	// opts is swapped whole by a chain's Reconfigure; a call loads it once.
	opts atomic.Pointer[options]
}

// New returns a Policy, or an error naming the option that is invalid.
func New(opts ...Option) (*Policy, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	p := &Policy{}
	p.opts.Store(&o)
	return p, nil
}

func init() {
	reconfig.Deadline = func(p any, opts any) (reconfig.Commit, error) { return p.(*Policy).prepare(opts.([]Option)) }
}

// prepare validates opts as New does and returns the commit that makes
// them the Policy's. Every option can change while calls run: a call
// already under way keeps the settings it started with.
func (p *Policy) prepare(opts []Option) (reconfig.Commit, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	return func() { p.opts.Store(&o) }, nil
}

// UnaryClientInterceptor returns the client-side unary interceptor: a call
// whose context has no deadline gets the default timeout; any other call
// passes untouched, at no cost.
func (p *Policy) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, fullMethod string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		o := p.opts.Load()
		if o.timeout == 0 {
			return invoker(ctx, fullMethod, req, reply, cc, opts...)
		}
		if _, ok := ctx.Deadline(); ok {
			return invoker(ctx, fullMethod, req, reply, cc, opts...)
		}
		if o.observer.OnDefault != nil {
			o.observer.OnDefault(ctx, DefaultEvent{Method: fullMethod, Target: targetOf(cc), Timeout: o.timeout})
		}
		ctx, cancel := context.WithTimeout(ctx, o.timeout)
		defer cancel()
		return invoker(ctx, fullMethod, req, reply, cc, opts...)
	}
}

// StreamClientInterceptor returns the client-side stream interceptor: with
// a stream timeout (WithDefaultTimeout), a stream whose context has no
// deadline gets that
// timeout, released when the stream ends (RecvMsg returns an error or the
// response of a client-streaming call, or SendMsg or Header fail).
func (p *Policy) StreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, fullMethod string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		o := p.opts.Load()
		if o.streamTimeout == 0 {
			return streamer(ctx, desc, cc, fullMethod, opts...)
		}
		if _, ok := ctx.Deadline(); ok {
			return streamer(ctx, desc, cc, fullMethod, opts...)
		}
		if o.observer.OnDefault != nil {
			o.observer.OnDefault(ctx, DefaultEvent{Method: fullMethod, Target: targetOf(cc), Timeout: o.streamTimeout})
		}
		ctx, cancel := context.WithTimeout(ctx, o.streamTimeout)
		cs, err := streamer(ctx, desc, cc, fullMethod, opts...)
		if err != nil {
			cancel()
			return nil, err
		}
		return &timedStream{ClientStream: cs, cancel: cancel, unaryResponse: !desc.ServerStreams}, nil
	}
}

func targetOf(cc *grpc.ClientConn) string {
	if cc == nil {
		return ""
	}
	return cc.Target()
}

// timedStream releases its timeout's context when the stream ends.
type timedStream struct {
	grpc.ClientStream
	cancel        context.CancelFunc
	unaryResponse bool
	done          atomic.Bool
}

func (s *timedStream) end() {
	if s.done.CompareAndSwap(false, true) {
		s.cancel()
	}
}

func (s *timedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil || s.unaryResponse {
		s.end()
	}
	return err
}

func (s *timedStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err != nil && err != io.EOF {
		s.end()
	}
	return err
}

func (s *timedStream) Header() (metadata.MD, error) {
	md, err := s.ClientStream.Header()
	if err != nil && err != io.EOF {
		s.end()
	}
	return md, err
}

// UnaryServerInterceptor returns the server-side unary interceptor: it
// refuses a request with too little time left before the handler runs, and
// caps or shaves the deadline the handler sees (see the package
// documentation).
func (p *Policy) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		o := p.opts.Load()
		dl, has := ctx.Deadline()
		if !has && o.maxDeadline == 0 {
			return handler(ctx, req)
		}
		pl := o.plan(callclock.Start(ctx), dl, has)
		switch {
		case pl.reject:
			return nil, refusal.Mark(o.reject(ctx, info.FullMethod, pl))
		case pl.adjust:
			if o.observer.OnAdjust != nil {
				o.observer.OnAdjust(ctx, AdjustEvent{Method: info.FullMethod, HasDeadline: has, Remaining: pl.remaining, Given: pl.given})
			}
			ctx, cancel := pl.context(ctx)
			defer cancel()
			return handler(ctx, req)
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor returns the server-side stream interceptor; see
// UnaryServerInterceptor. A stream whose deadline is capped or shaved is
// handled with a stream whose Context returns the new context.
func (p *Policy) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := ss.Context()
		fullMethod := unregistered.Method(srv, info)
		o := p.opts.Load()
		dl, has := ctx.Deadline()
		if !has && o.maxDeadline == 0 {
			return handler(srv, ss)
		}
		pl := o.plan(callclock.Start(ctx), dl, has)
		switch {
		case pl.reject:
			return refusal.Mark(o.reject(ctx, fullMethod, pl))
		case pl.adjust:
			if o.observer.OnAdjust != nil {
				o.observer.OnAdjust(ctx, AdjustEvent{Method: fullMethod, HasDeadline: has, Remaining: pl.remaining, Given: pl.given})
			}
			ctx, cancel := pl.context(ctx)
			defer cancel()
			return handler(srv, &ctxStream{ServerStream: ss, ctx: ctx})
		}
		return handler(srv, ss)
	}
}

// context returns the handler's context: the server's own cap ends it with
// gone.ErrServerDeadline, so that the server's breaker and adaptive limit
// count a handler that runs out of the server's time, and ignore one whose
// caller's deadline passed.
func (pl plan) context(ctx context.Context) (context.Context, context.CancelFunc) {
	if pl.capped {
		return gone.WithServerDeadline(ctx, pl.deadline)
	}
	return context.WithDeadline(ctx, pl.deadline)
}

// ctxStream is a server stream with a replaced context.
type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }

// plan is what a server does with a request.
type plan struct {
	reject    bool
	adjust    bool          // the handler gets deadline instead of the caller's
	capped    bool          // deadline is the server's own cap (WithMaxDeadline)
	deadline  time.Time     // when adjust
	remaining time.Duration // the caller's; zero without a deadline
	given     time.Duration // what the handler gets, or what made the request too short
}

// plan decides, at now, what to do with a request whose deadline is dl
// (has is false when it has none). The deadline it gives the handler is
// never later than the caller's nor than now plus the cap.
func (o *options) plan(now, dl time.Time, has bool) plan {
	var pl plan
	next, hasNext := dl, has
	if has {
		pl.remaining = dl.Sub(now)
		if pl.remaining <= o.minRemaining {
			pl.reject, pl.given = true, pl.remaining
			return pl
		}
		shave := max(o.shave, time.Duration(o.shaveFraction*float64(pl.remaining)))
		if shave > 0 {
			next = dl.Add(-shave)
			if left := next.Sub(now); left <= o.minRemaining {
				pl.reject, pl.given = true, left
				return pl
			}
		}
	}
	if o.maxDeadline > 0 {
		if capped := now.Add(o.maxDeadline); !hasNext || capped.Before(next) {
			next, hasNext, pl.capped = capped, true, true
		}
	}
	if hasNext && (!has || next.Before(dl)) {
		pl.adjust, pl.deadline, pl.given = true, next, next.Sub(now)
	}
	return pl
}

// reject builds the error for a request with too little time left.
func (o *options) reject(ctx context.Context, fullMethod string, pl plan) *tooShortError {
	app := errdetails.New(errdetails.CodeDeadlineTooShort, "deadline too short",
		errdetails.WithDetail("remainingMs", millis(pl.given)),
		errdetails.WithDetail("minimumMs", millis(o.minRemaining)))
	app.Unprocessed, app.Domain = true, method.Service(fullMethod)
	if id, ok := reqctx.Incoming(ctx); ok {
		app.RequestID = id
	}
	if o.observer.OnReject != nil {
		o.observer.OnReject(ctx, RejectEvent{Method: fullMethod, Remaining: pl.remaining, Given: pl.given})
	}
	return &tooShortError{
		method:    fullMethod,
		remaining: pl.given,
		min:       o.minRemaining,
		app:       app,
	}
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
