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

// Observers are the hooks a Logging gives the components that take an
// Observer; pass each to its component's WithObserver (the chains of
// package interceptors do).
type Observers struct {
	Circuit     circuit.Observer
	Concurrency concurrency.Observer
	Deadline    deadline.Observer
	Retry       retry.Observer
}

// Observers returns the observers through which l logs what they report.
func (l *Logging) Observers() Observers {
	return Observers{Circuit: l.circuitHooks(), Concurrency: l.concurrencyHooks(), Deadline: l.deadlineHooks(), Retry: l.retryHooks()}
}

// retryHooks returns a retry.Observer that logs each retry or hedge at
// Info (attempt, delay and its reason, the error that caused it, the
// request id) and each call the retrier gave up on at Warn.
func (l *Logging) retryHooks() retry.Observer {
	r := retryLogger{l}
	return retry.Observer{OnRetry: r.OnRetry, OnCommit: r.OnCommit, OnFinish: r.OnFinish}
}

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

// circuitHooks returns a circuit.Observer that logs every state change
// of a breaker: at Warn when it opens, at Info otherwise. Calls and
// rejections are left to metrics.
func (l *Logging) circuitHooks() circuit.Observer {
	return circuit.Observer{OnStateChange: circuitLogger{l: l}.OnStateChange}
}

type circuitLogger struct{ l *Logging }

func (c circuitLogger) OnStateChange(ctx context.Context, e circuit.StateEvent) {
	target, fullMethod, from, to := e.Target, e.Method, e.From, e.To
	level := slog.LevelInfo
	if to == breaker.StateOpen || to == breaker.StateForcedOpen {
		level = slog.LevelWarn
	}
	side := "client"
	if target == "" {
		side = "server"
	}
	c.l.logger.LogAttrs(ctx, level, "circuit breaker "+to.String(),
		slog.String("breaker.side", side), slog.String("grpc.target", target), slog.String("grpc.method", fullMethod),
		slog.String("breaker.from", from.String()), slog.String("breaker.state", to.String()))
}

// concurrencyHooks returns a concurrency.Observer that logs each
// rejection at Debug (they come in floods under overload: count them with
// metrics) and each change of an adaptive limit at Info.
func (l *Logging) concurrencyHooks() concurrency.Observer {
	c := limiterLogger{l: l}
	return concurrency.Observer{OnReject: c.OnReject, OnLimit: c.OnLimit}
}

type limiterLogger struct{ l *Logging }

func (c limiterLogger) OnReject(ctx context.Context, e concurrency.RejectEvent) {
	c.l.logger.LogAttrs(ctx, slog.LevelDebug, "call rejected by the concurrency limiter",
		slog.String("grpc.method", e.Method), slog.String("grpc.target", e.Target), slog.String("limiter.reason", e.Reason),
		slog.Int("limiter.limit", e.Limit), slog.Int("limiter.in_flight", e.InFlight), slog.Int("limiter.queued", e.Queued),
		slog.Bool("limiter.stop", e.Stop))
}

func (c limiterLogger) OnLimit(ctx context.Context, e concurrency.LimitEvent) {
	c.l.logger.LogAttrs(ctx, slog.LevelInfo, "concurrency limit changed",
		slog.Int("limiter.old", e.Old), slog.Int("limiter.new", e.New))
}

// deadlineHooks returns a deadline.Observer that logs each request a
// server refused for too short a deadline, at Debug.
func (l *Logging) deadlineHooks() deadline.Observer {
	return deadline.Observer{OnReject: deadlineLogger{l: l}.OnReject}
}

type deadlineLogger struct{ l *Logging }

func (d deadlineLogger) OnReject(ctx context.Context, e deadline.RejectEvent) {
	d.l.logger.LogAttrs(ctx, slog.LevelDebug, "request refused: deadline too short",
		slog.String("grpc.method", e.Method), slog.Duration("deadline.remaining", e.Remaining))
}
