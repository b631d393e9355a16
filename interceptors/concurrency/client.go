package concurrency

import (
	"context"
	"io"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/internal/limiter"
)

// UnaryClientInterceptor returns the client-side unary interceptor (a
// bulkhead): each call, or each attempt when it runs inside the retry
// interceptor, holds a permit while it is on the network. A call that gets
// none fails at once with an error that never reaches the network: it
// matches ErrRejected and outcome.ErrLocalReject (so a circuit breaker does
// not count it) and converts with errors.As to an
// *errdetails.ApplicationError with code CLIENT_CONCURRENCY_LIMIT. Each call
// also carries its context's criticality downstream (see
// CriticalityFromContext) in x-bulwark-criticality metadata, unless it is
// the default or the call already carries one.
func (l *Limiter) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, fullMethod string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		cfg := l.cfg.Load()
		c := cfg.clientCriticality(ctx)
		p, r, s := l.take(ctx, cfg, fullMethod, c, targetOf(cc))
		if r != 0 {
			return cfg.clientReject(ctx, fullMethod, targetOf(cc), r, c, s)
		}
		returned := false
		defer func() {
			if !returned { // the invoker panicked
				p.ignore()
			}
		}()
		err := invoker(withOutgoingCriticality(ctx), fullMethod, req, reply, cc, opts...)
		returned = true
		p.end(cfg.clientSample(ctx, err))
		return err
	}
}

// StreamClientInterceptor returns the client-side stream interceptor: a
// stream holds its permit until it ends, which is when RecvMsg returns an
// error (io.EOF included), when RecvMsg returns the response of a
// client-streaming call, when SendMsg or Header fail with an error other
// than io.EOF, or when the call's context ends. A stream abandoned without
// any of these (as gRPC itself forbids) keeps its permit until its context
// ends. Streams do not feed the adaptive limit.
func (l *Limiter) StreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, fullMethod string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		cfg := l.cfg.Load()
		c := cfg.clientCriticality(ctx)
		p, r, s := l.take(ctx, cfg, fullMethod, c, targetOf(cc))
		if r != 0 {
			return nil, cfg.clientReject(ctx, fullMethod, targetOf(cc), r, c, s)
		}
		returned := false
		defer func() {
			if !returned { // the streamer panicked
				p.ignore()
			}
		}()
		cs, err := streamer(withOutgoingCriticality(ctx), desc, cc, fullMethod, opts...)
		returned = true
		if err != nil {
			p.ignore()
			return nil, err
		}
		ps := &permitStream{ClientStream: cs, permit: p, unaryResponse: !desc.ServerStreams}
		ps.stop = context.AfterFunc(ctx, ps.canceled)
		return ps, nil
	}
}

func (cfg *settings) clientCriticality(ctx context.Context) Criticality {
	if !cfg.priority {
		return DefaultCriticality
	}
	return CriticalityFromContext(ctx)
}

func targetOf(cc *grpc.ClientConn) string {
	if cc == nil {
		return ""
	}
	return cc.Target()
}

// clientSample judges a call's result for the adaptive limit; see
// WithClassifier.
func (cfg *settings) clientSample(ctx context.Context, err error) sampleKind {
	if err == nil {
		return sampleLatency
	}
	switch status.Code(err) {
	case codes.DeadlineExceeded:
		return sampleDrop
	case codes.Canceled:
		return sampleNone
	}
	switch cfg.classifier(ctx, outcome.Attempt{Err: err}) {
	case outcome.RetryableFailure, outcome.Shed:
		return sampleDrop
	case outcome.Success, outcome.FatalFailure:
		return sampleLatency
	}
	return sampleNone
}

// clientReject builds the error for a call refused on the client.
func (cfg *settings) clientReject(ctx context.Context, fullMethod, target string, r reason, c Criticality, s *limiter.Semaphore) *rejectError {
	if cfg.obs.OnReject != nil {
		cfg.obs.OnReject(ctx, rejectEvent(fullMethod, target, r, c, s))
	}
	return &rejectError{reason: r, method: fullMethod, client: true}
}

// permitStream gives its permit back when the stream ends.
type permitStream struct {
	grpc.ClientStream
	permit        permit
	unaryResponse bool // a client-streaming call: one RecvMsg ends it
	done          atomic.Bool
	stop          func() bool
}

// release ends the permit when the stream ends under its user's calls.
func (s *permitStream) release() {
	if s.done.CompareAndSwap(false, true) {
		s.stop()
		s.permit.ignore()
	}
}

// canceled ends the permit when the call's context ends.
func (s *permitStream) canceled() {
	if s.done.CompareAndSwap(false, true) {
		s.permit.ignore()
	}
}

func (s *permitStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil || s.unaryResponse {
		s.release()
	}
	return err
}

func (s *permitStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err != nil && err != io.EOF {
		s.release()
	}
	return err
}

func (s *permitStream) Header() (metadata.MD, error) {
	md, err := s.ClientStream.Header()
	if err != nil && err != io.EOF {
		s.release()
	}
	return md, err
}
