package boundary

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/requestid"
	"github.com/bulwarkrpc/bulwark/internal/method"
	"github.com/bulwarkrpc/bulwark/internal/refusal"
	"github.com/bulwarkrpc/bulwark/internal/reqctx"
	"github.com/bulwarkrpc/bulwark/internal/sent"
	"github.com/bulwarkrpc/bulwark/internal/wire"
)

// Boundary holds the configuration of the error boundary; its methods return
// the interceptors. It is safe for concurrent use.
type Boundary struct {
	opts options
}

// New returns a Boundary, or an error naming the option that is invalid.
func New(opts ...Option) (*Boundary, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	return &Boundary{opts: o}, nil
}

// UnaryServerInterceptor returns the server-side unary error boundary: it
// recovers panics and turns every error the handler returns into a
// well-formed status (see the package documentation).
func (b *Boundary) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				resp, err = nil, b.recovered(ctx, info.FullMethod, p)
			}
		}()
		resp, err = handler(ctx, req)
		if err != nil {
			return nil, b.Convert(ctx, info.FullMethod, err, grpc.SetTrailer)
		}
		return resp, nil
	}
}

// StreamServerInterceptor returns the server-side stream error boundary; see
// UnaryServerInterceptor.
func (b *Boundary) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		ctx := ss.Context()
		defer func() {
			if p := recover(); p != nil {
				err = b.recovered(ctx, info.FullMethod, p)
			}
		}()
		if err = handler(srv, ss); err != nil {
			return b.Convert(ctx, info.FullMethod, err, func(_ context.Context, md metadata.MD) error {
				ss.SetTrailer(md)
				return nil
			})
		}
		return nil
	}
}

// Convert turns err, returned by the handler of fullMethod, into the error
// the server sends (see the package documentation). setTrailer receives the
// grpc-retry-pushback-ms trailer when the error carries a delay hint; it may
// be nil. The server interceptors call Convert; it is exported for servers
// that build their own boundary, such as a gRPC-Gateway error handler.
func (b *Boundary) Convert(ctx context.Context, fullMethod string, err error, setTrailer func(context.Context, metadata.MD) error) error {
	if err == nil {
		return nil
	}
	own := refusal.Is(err) // this server's own refusal, made before the handler ran
	var ae *errdetails.ApplicationError
	if errors.As(err, &ae) && ae != nil {
		if wire.Remote(ae) {
			return b.downstream(ctx, fullMethod, ae, err, setTrailer)
		}
		return b.application(ctx, fullMethod, ae, err, own, setTrailer)
	}
	var gs interface{ GRPCStatus() *status.Status }
	if errors.As(err, &gs) {
		if st := gs.GRPCStatus(); st != nil && st.Code() != codes.OK {
			if own {
				return &sent.Error{Cause: err, Status: st}
			}
			// A status too large to decode is first cut to the bound, so
			// that what it still carries goes through the same rules.
			st = fit(st)
			if remote, ok := errdetails.FromError(st.Err()); ok {
				return b.downstream(ctx, fullMethod, remote, err, setTrailer)
			}
			return b.status(ctx, fullMethod, err, st, sent.IsReceived(err))
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return &sent.Error{Cause: err, Status: status.New(codes.Canceled, "request canceled")}
	case errors.Is(err, context.DeadlineExceeded):
		return &sent.Error{Cause: err, Status: status.New(codes.DeadlineExceeded, "deadline exceeded")}
	}
	id := requestID(ctx)
	b.opts.logger.LogAttrs(ctx, slog.LevelError, "unknown error sent as INTERNAL",
		slog.String("grpc.method", fullMethod), slog.String("request_id", id), slog.Any("error", err))
	return b.internal(fullMethod, id, err, nil)
}

// application sends an ApplicationError made in this process: a copy with
// the domain and request id filled in, so a shared error value is never
// changed. Only this server's own refusals (own) may say unprocessed: an
// error that came out of the handler came after the handler ran.
func (b *Boundary) application(ctx context.Context, fullMethod string, ae *errdetails.ApplicationError, err error, own bool, setTrailer func(context.Context, metadata.MD) error) error {
	cp := *ae
	cp.Unprocessed = cp.Unprocessed && own
	if cp.Domain == "" {
		cp.Domain = b.domain(fullMethod)
	}
	if cp.RequestID == "" {
		cp.RequestID = requestID(ctx)
	}
	if verr := cp.Validate(); verr != nil {
		b.opts.logger.LogAttrs(ctx, slog.LevelError, "invalid application error sent as INTERNAL",
			slog.String("grpc.method", fullMethod), slog.String("request_id", cp.RequestID),
			slog.Any("error", err), slog.String("reason", verr.Error()))
	} else if cause := cp.Unwrap(); cause != nil {
		b.opts.logger.LogAttrs(ctx, slog.LevelWarn, "application error",
			slog.String("grpc.method", fullMethod), slog.String("request_id", cp.RequestID),
			slog.String("app.code", cp.Code), slog.Any("error", cause))
	}
	if setTrailer != nil {
		if ms := pushback(&cp); ms != "" {
			_ = setTrailer(ctx, metadata.Pairs(wire.PushbackTrailer, ms))
		}
	}
	st := cp.GRPCStatus()
	if b.opts.debugInfo {
		st = wire.DebugStatus(&cp)
	}
	return &sent.Error{Cause: err, Status: st}
}

// downstream sends an error that the handler passed on from one of its own
// outgoing calls: the downstream policy picks what to keep, then it is sent
// as this server's own application error, never unprocessed, without
// DebugInfo unless this server opts in, and within the size bound.
func (b *Boundary) downstream(ctx context.Context, fullMethod string, remote *errdetails.ApplicationError, err error, setTrailer func(context.Context, metadata.MD) error) error {
	fwd := b.opts.downstream(ctx, remote)
	if fwd == nil || wire.Remote(fwd) {
		// A policy that returns nothing, or the remote error itself, gets
		// the default: a remote error's status would be forwarded as it
		// came.
		fwd = Forward(ctx, remote)
	}
	cp := *fwd // the policy may return a shared value
	if !b.opts.debugInfo {
		cp.Debug = nil
	}
	return b.application(ctx, fullMethod, &cp, err, false, setTrailer)
}

// Forward is the default DownstreamPolicy. It keeps the gRPC code, the
// application code, the safe message, the retryability and retry hint, the
// field violations, the domain, the request id and the time of remote, and
// leaves out the rest: its typed details, preconditions, quotas, resource
// and DebugInfo were written for this server, not for its callers. remote
// becomes the cause, for this server's logs.
func Forward(_ context.Context, remote *errdetails.ApplicationError) *errdetails.ApplicationError {
	e := errdetails.New(remote.Code, remote.Message, errdetails.WithCause(remote))
	e.GRPCCode, e.Retryable, e.RetryAfter = remote.GRPCCode, remote.Retryable, remote.RetryAfter
	e.Domain, e.RequestID = remote.Domain, remote.RequestID
	if !remote.Time.IsZero() {
		e.Time = remote.Time
	}
	e.Violations = slices.Clone(remote.Violations)
	return e
}

// status sends a status that carries no application error. received is
// true for one that an outgoing call returned (the client chain's decoder
// marks them), false for one the handler built itself with status.Error,
// which goes out byte for byte, as with plain gRPC, unless it breaks a
// rule below. In either case: DebugInfo is dropped unless this server opts
// in; a bulwark.v1.ApplicationError that did not decode (and might say
// unprocessed) is dropped; a message over wire.MaxMessageBytes is
// cut; details are dropped from the last until the status fits in
// wire.MaxStatusBytes; and grpc-go's own error for a failed
// connection becomes UNAVAILABLE "upstream unavailable". A received status
// keeps its code and message but only its google.rpc.BadRequest and
// RetryInfo, the field violations and retry hint of the downstream rule,
// and any message of grpc-go's own (which names addresses and connection
// states) becomes UNAVAILABLE "upstream unavailable".
func (b *Boundary) status(ctx context.Context, fullMethod string, err error, st *status.Status, received bool) error {
	if transportError(st, received) {
		b.opts.logger.LogAttrs(ctx, slog.LevelWarn, "transport error of an outgoing call sent as UNAVAILABLE",
			slog.String("grpc.method", fullMethod), slog.String("request_id", requestID(ctx)), slog.Any("error", err))
		return &sent.Error{Cause: err, Status: status.New(codes.Unavailable, unavailableMessage)}
	}
	p := st.Proto()
	n := len(p.Details)
	p.Details = slices.DeleteFunc(p.Details, func(a *anypb.Any) bool {
		switch a.MessageName() {
		case debugInfoName:
			return !b.opts.debugInfo
		case applicationErrorName:
			return true
		case badRequestName, retryInfoName:
			return false
		}
		return received
	})
	changed := len(p.Details) != n
	if len(p.Message) > wire.MaxMessageBytes {
		p.Message, changed = truncate(p.Message, wire.MaxMessageBytes), true
	}
	for len(p.Details) > 0 && proto.Size(p) > wire.MaxStatusBytes {
		p.Details, changed = p.Details[:len(p.Details)-1], true
	}
	if !changed {
		return &sent.Error{Cause: err, Status: st}
	}
	return &sent.Error{Cause: err, Status: status.FromProto(p)}
}

// fit returns st when it is small enough to decode (errdetails'
// MaxDecodeBytes), else a copy cut to the status bound: its message cut to
// wire.MaxMessageBytes and its details dropped from the last until
// it fits in wire.MaxStatusBytes.
func fit(st *status.Status) *status.Status {
	p := st.Proto()
	if proto.Size(p) <= wire.MaxDecodeBytes {
		return st
	}
	p.Message = truncate(p.Message, wire.MaxMessageBytes)
	for len(p.Details) > 0 && proto.Size(p) > wire.MaxStatusBytes {
		p.Details = p.Details[:len(p.Details)-1]
	}
	return status.FromProto(p)
}

// pushback returns the grpc-retry-pushback-ms value for e, or "" for none:
// the delay when e is retryable with a hint, -1 when e asks not to be
// retried.
func pushback(e *errdetails.ApplicationError) string {
	if e.RetryAfter > 0 && !e.Retryable {
		return ""
	}
	return wire.PushbackValue(e.RetryAfter)
}

// recovered logs a panic with its stack and returns the INTERNAL error sent
// in its place.
func (b *Boundary) recovered(ctx context.Context, fullMethod string, p any) error {
	stack := debug.Stack()
	id := requestID(ctx)
	b.opts.logger.LogAttrs(ctx, slog.LevelError, "handler panicked, sent as INTERNAL",
		slog.String("grpc.method", fullMethod), slog.String("request_id", id),
		slog.Any("panic", p), slog.String("stack", string(stack)))
	return b.internal(fullMethod, id, fmt.Errorf("panic: %v", p), strings.Split(strings.TrimSpace(string(stack)), "\n"))
}

// internal returns the generic INTERNAL error that stands for cause.
func (b *Boundary) internal(fullMethod, id string, cause error, stack []string) error {
	ae := errdetails.New(errdetails.CodeInternal, "internal error", errdetails.WithCause(cause))
	ae.Domain, ae.RequestID = b.domain(fullMethod), id
	st := ae.GRPCStatus()
	if b.opts.debugInfo {
		ae.Debug = &errdetails.Debug{Detail: cause.Error(), Stack: stack}
		st = wire.DebugStatus(ae)
	}
	return &sent.Error{Cause: ae, Status: st}
}

func (b *Boundary) domain(fullMethod string) string {
	if b.opts.domain != "" {
		return b.opts.domain
	}
	return method.Service(fullMethod)
}

// requestID returns the request id of the server-side ctx (the one on
// the context, else a valid incoming x-request-id), or a new one when it has none.
func requestID(ctx context.Context) string {
	if id, ok := reqctx.Incoming(ctx); ok {
		return id
	}
	return requestid.New()
}
