package logging

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/requestid"
	"github.com/bulwarkrpc/bulwark/internal/callclock"
	"github.com/bulwarkrpc/bulwark/internal/method"
	"github.com/bulwarkrpc/bulwark/internal/rpc"
	"github.com/bulwarkrpc/bulwark/internal/sent"
	"github.com/bulwarkrpc/bulwark/internal/track"
)

// Logging logs finished calls to a *slog.Logger; DialOptions and
// ServerOptions install its interceptors. It is safe for concurrent use.
type Logging struct {
	logger *slog.Logger
	opts   options
}

// New returns a Logging that writes to logger, or an error when logger is
// nil or an option is (each named).
func New(logger *slog.Logger, opts ...Option) (*Logging, error) {
	var errs []error
	if logger == nil {
		errs = append(errs, errors.New("logging: New(nil): the logger must not be nil"))
	}
	o := options{serverLevels: serverLevels, clientLevels: clientLevels}
	for _, opt := range opts {
		if opt == nil {
			errs = append(errs, errors.New("logging: nil Option"))
			continue
		}
		opt.apply(&o)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Logging{logger: logger, opts: o}, nil
}

// ServerOptions returns what grpc.NewServer takes to log each finished
// call and stream on the server. Pass them after requestid's interceptors,
// so that records carry the request id; the server chain places them
// itself.
func (l *Logging) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(l.unaryServerInterceptor()), grpc.ChainStreamInterceptor(l.streamServerInterceptor())}
}

// DialOptions returns what grpc.NewClient takes to log each finished call
// on the client, and each finished stream: when opening it fails, or when
// RecvMsg first returns an error (io.EOF is a success) or the reply of a
// client-streaming call. The client chain places them itself.
func (l *Logging) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithChainUnaryInterceptor(l.unaryClientInterceptor()), grpc.WithChainStreamInterceptor(l.streamClientInterceptor())}
}

// init gives the chains the interceptors to place (see internal/track).
func init() {
	track.LoggingClient = func(v any) (grpc.UnaryClientInterceptor, grpc.StreamClientInterceptor) {
		l := v.(*Logging)
		return l.unaryClientInterceptor(), l.streamClientInterceptor()
	}
	track.LoggingServer = func(v any) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
		l := v.(*Logging)
		return l.unaryServerInterceptor(), l.streamServerInterceptor()
	}
}

// unaryServerInterceptor logs each finished unary call on the server.
func (l *Logging) unaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := callclock.Start(ctx)
		resp, err := handler(ctx, req)
		l.log(ctx, "server", info.FullMethod, "unary", err, start)
		return resp, err
	}
}

// streamServerInterceptor logs each finished stream on the server.
func (l *Logging) streamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := callclock.Start(ss.Context())
		err := handler(srv, ss)
		l.log(ss.Context(), "server", bounded(info.FullMethod), rpc.Type(info.IsClientStream, info.IsServerStream), err, start)
		return err
	}
}

// unaryClientInterceptor logs each finished unary call on the client.
func (l *Logging) unaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, fullMethod string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		start := callclock.StartOf(opts)
		err := invoker(ctx, fullMethod, req, reply, cc, opts...)
		l.log(ctx, "client", fullMethod, "unary", err, start)
		return err
	}
}

// streamClientInterceptor logs each finished stream on the client: when
// opening it fails, or when RecvMsg first returns an error (io.EOF is a
// success) or the reply of a client-streaming call.
func (l *Logging) streamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, fullMethod string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		start := callclock.StartOf(opts)
		typ := rpc.Type(desc.ClientStreams, desc.ServerStreams)
		cs, err := streamer(ctx, desc, cc, fullMethod, opts...)
		if err != nil {
			l.log(ctx, "client", fullMethod, typ, err, start)
			return nil, err
		}
		return rpc.WrapClient(cs, desc.ServerStreams, rpc.ClientHooks{
			Finished: func(err error) { l.log(ctx, "client", fullMethod, typ, err, start) },
		}), nil
	}
}

func (l *Logging) log(ctx context.Context, component, fullMethod, typ string, err error, start time.Time) {
	code := rpc.Code(err)
	levels := l.opts.serverLevels
	if component == "client" {
		levels = l.opts.clientLevels
	}
	level := levels(code)
	if !l.logger.Enabled(ctx, level) {
		return
	}
	service, name := method.Split(fullMethod)
	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs,
		slog.String("grpc.component", component),
		slog.String("grpc.service", service),
		slog.String("grpc.method", name),
		slog.String("grpc.method_type", typ),
		slog.String("grpc.code", code.String()),
		slog.Float64("grpc.time_ms", float64(time.Since(start).Microseconds())/1000),
	)
	if id, ok := requestid.FromContext(ctx); ok {
		attrs = append(attrs, slog.String("request_id", id))
	}
	if err != nil {
		attrs = append(attrs, slog.String("grpc.error", logText(err)))
		if ae, ok := errdetails.FromError(err); ok {
			attrs = append(attrs, slog.String("app.code", ae.Code), slog.Bool("app.retryable", ae.Retryable))
			if component == "client" && ae.RequestID != "" {
				attrs = append(attrs, slog.String("app.request_id", ae.RequestID))
			}
		}
	}
	l.logger.LogAttrs(ctx, level, "finished call", attrs...)
}

// logText is the text of err for this process's log: for an error the
// server's boundary sent, the handler's own error rather than the message
// the caller received.
func logText(err error) string {
	var s *sent.Error
	if errors.As(err, &s) && s.Cause != nil {
		return s.Cause.Error()
	}
	return err.Error()
}

// maxMethodBytes bounds the method names the server logs: a server with
// grpc.UnknownServiceHandler logs the names its callers choose.
const maxMethodBytes = 256

// bounded returns fullMethod cut to maxMethodBytes.
func bounded(fullMethod string) string {
	if len(fullMethod) <= maxMethodBytes {
		return fullMethod
	}
	return strings.ToValidUTF8(fullMethod[:maxMethodBytes], "")
}
