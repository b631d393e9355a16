package logging

import (
	"context"
	"log/slog"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/circuit"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/deadline"
	"github.com/bulwarkrpc/bulwark/interceptors/requestid"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/rpc"
)

// RetryObserver returns a retry.Observer that logs each retry or hedge at
// Info (attempt, delay and its reason, the error that caused it, the
// request id) and each call the retrier gave up on at Warn.
func (l *Logging) RetryObserver() retry.Observer { return retryLogger{l} }

type retryLogger struct {
	l *Logging
}

func (r retryLogger) OnRetry(ctx context.Context, e retry.RetryEvent) {
	if !r.l.logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := []slog.Attr{
		slog.String("grpc.method", e.Method), slog.String("grpc.target", e.Target),
		slog.Int("retry.attempt", e.Attempt), slog.Duration("retry.delay", e.Delay),
		slog.String("retry.delay_reason", e.Reason), slog.Float64("retry.budget", e.Budget),
	}
	attrs = appendErr(ctx, attrs, e.Err)
	r.l.logger.LogAttrs(ctx, slog.LevelInfo, "retrying call", attrs...)
}

func (r retryLogger) OnCommit(ctx context.Context, e retry.CommitEvent) {
	r.l.logger.LogAttrs(ctx, slog.LevelDebug, "stream committed",
		slog.String("grpc.method", e.Method), slog.Int("retry.attempt", e.Attempt), slog.String("retry.commit_reason", e.Reason))
}

func (r retryLogger) OnFinish(ctx context.Context, e retry.FinishEvent) {
	level := slog.LevelDebug
	if e.Err != nil && e.Reason != "not_retryable" {
		level = slog.LevelWarn
	}
	if !r.l.logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("grpc.method", e.Method), slog.String("grpc.target", e.Target),
		slog.Int("retry.attempts", e.Attempts), slog.String("retry.stop_reason", e.Reason), slog.Bool("retry.hedged", e.Hedged),
	}
	attrs = appendErr(ctx, attrs, e.Err)
	r.l.logger.LogAttrs(ctx, level, "retries ended", attrs...)
}

// appendErr adds the request id and, for err, its code and application
// code.
func appendErr(ctx context.Context, attrs []slog.Attr, err error) []slog.Attr {
	if id, ok := requestid.FromContext(ctx); ok {
		attrs = append(attrs, slog.String("request_id", id))
	}
	if err == nil {
		return attrs
	}
	attrs = append(attrs, slog.String("grpc.code", rpc.Code(err).String()))
	if ae, ok := errdetails.FromError(err); ok {
		attrs = append(attrs, slog.String("app.code", ae.Code))
	}
	return attrs
}

// CircuitObserver returns a circuit.Observer that logs every state change
// of a breaker: at Warn when it opens, at Info otherwise. Calls and
// rejections are left to metrics.
func (l *Logging) CircuitObserver() circuit.Observer { return circuitLogger{l: l} }

type circuitLogger struct {
	circuit.NopObserver
	l *Logging
}

func (c circuitLogger) OnStateChange(target, fullMethod string, from, to breaker.State) {
	level := slog.LevelInfo
	if to == breaker.StateOpen || to == breaker.StateForcedOpen {
		level = slog.LevelWarn
	}
	side := "client"
	if target == "" {
		side = "server"
	}
	c.l.logger.LogAttrs(context.Background(), level, "circuit breaker "+to.String(),
		slog.String("breaker.side", side), slog.String("grpc.target", target), slog.String("grpc.method", fullMethod),
		slog.String("breaker.from", from.String()), slog.String("breaker.state", to.String()))
}

// ConcurrencyObserver returns a concurrency.Observer that logs each
// rejection at Debug (they come in floods under overload: count them with
// metrics) and each change of an adaptive limit at Info.
func (l *Logging) ConcurrencyObserver() concurrency.Observer { return limiterLogger{l: l} }

type limiterLogger struct {
	concurrency.NopObserver
	l *Logging
}

func (c limiterLogger) OnReject(e concurrency.RejectEvent) {
	c.l.logger.LogAttrs(context.Background(), slog.LevelDebug, "call rejected by the concurrency limiter",
		slog.String("grpc.method", e.Method), slog.String("grpc.target", e.Target), slog.String("limiter.reason", e.Reason.String()),
		slog.Int("limiter.limit", e.Limit), slog.Int("limiter.in_flight", e.InFlight), slog.Int("limiter.queued", e.Queued),
		slog.Bool("limiter.stop", e.Stop))
}

func (c limiterLogger) OnLimit(e concurrency.LimitEvent) {
	c.l.logger.LogAttrs(context.Background(), slog.LevelInfo, "concurrency limit changed",
		slog.Int("limiter.old", e.Old), slog.Int("limiter.new", e.New))
}

// DeadlineObserver returns a deadline.Observer that logs each request a
// server refused for too short a deadline, at Debug.
func (l *Logging) DeadlineObserver() deadline.Observer { return deadlineLogger{l: l} }

type deadlineLogger struct {
	deadline.NopObserver
	l *Logging
}

func (d deadlineLogger) OnReject(e deadline.Event) {
	d.l.logger.LogAttrs(context.Background(), slog.LevelDebug, "request refused: deadline too short",
		slog.String("grpc.method", e.Method), slog.Duration("deadline.remaining", e.Remaining))
}
