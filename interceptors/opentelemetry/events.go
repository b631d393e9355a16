package opentelemetry

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/internal/refusal"
	"github.com/bulwarkrpc/bulwark/internal/wire"
)

// The span events, and their attribute keys. Durations are in seconds.
const (
	eventRetry            = "bulwark.retry"
	eventHedge            = "bulwark.hedge"
	eventRetryStop        = "bulwark.retry.stop"
	eventCircuitRejected  = "bulwark.circuit.rejected"
	eventLimiterRejected  = "bulwark.limiter.rejected"
	eventDeadlineDefault  = "bulwark.deadline.default"
	eventDeadlineRejected = "bulwark.deadline.rejected"

	keyAttempt    = "bulwark.attempt"
	keyAttempts   = "bulwark.attempts"
	keyDelay      = "bulwark.delay"
	keyBudget     = "bulwark.retry.budget"
	keyRetryAfter = "bulwark.retry_after"
	keyTimeout    = "bulwark.timeout"
)

// defaultDeadlineEvent adds bulwark.deadline.default to span, once per call,
// when the caller set no deadline and the call now has one: the deadline
// interceptor, outside the retrier, gave it its default timeout.
func defaultDeadlineEvent(ctx context.Context, span trace.Span) {
	c := callFrom(ctx)
	if c == nil || !c.noDeadline {
		return
	}
	d, ok := ctx.Deadline()
	if !ok || c.deadlineNoted.Swap(true) {
		return
	}
	span.AddEvent(eventDeadlineDefault, trace.WithAttributes(attribute.Float64(keyTimeout, time.Until(d).Seconds())))
}

// rejectionEvent adds to span the event of a local refusal that err is, if
// it is one. On the server (fromStatus), where the error boundary has
// turned the refusal into a status, the application code tells it.
func rejectionEvent(span trace.Span, err error, fromStatus bool) {
	var oe refusal.Circuit
	// A Limiter's rejection names its method and reason.
	var re interface {
		Rejection() (fullMethod, reason string)
	}
	// A deadline Policy's refusal says how much time the request had.
	var te interface {
		TooShort() (remaining, min time.Duration)
	}
	switch {
	case errors.As(err, &oe):
		target, fullMethod := oe.CircuitKey()
		span.AddEvent(eventCircuitRejected, trace.WithAttributes(
			attribute.String(keyTarget, target), attribute.String(keyMethod, trimMethod(fullMethod)),
			attribute.Float64(keyRetryAfter, oe.RefusesFor().Seconds())))
	case errors.Is(err, breaker.ErrOpen):
		span.AddEvent(eventCircuitRejected)
	case errors.Is(err, concurrency.ErrRejected) && errors.As(err, &re):
		fullMethod, reason := re.Rejection()
		span.AddEvent(eventLimiterRejected, trace.WithAttributes(
			attribute.String(keyMethod, trimMethod(fullMethod)), attribute.String(keyReason, reason)))
	case errors.As(err, &te):
		span.AddEvent(eventDeadlineRejected)
	case fromStatus:
		ae, ok := errdetails.FromError(err)
		if !ok {
			return
		}
		switch ae.Code {
		case errdetails.CodeCircuitOpen:
			span.AddEvent(eventCircuitRejected, trace.WithAttributes(attribute.Float64(keyRetryAfter, ae.RetryAfter.Seconds())))
		case errdetails.CodeServerOverloaded:
			span.AddEvent(eventLimiterRejected, trace.WithAttributes(attribute.Float64(keyRetryAfter, ae.RetryAfter.Seconds())))
		case errdetails.CodeDeadlineTooShort:
			span.AddEvent(eventDeadlineRejected)
		}
	}
}

// appError counts the application error err carries, if any, on ctr.
func (t *Telemetry) appError(ctx context.Context, ctr metric.Int64Counter, cache *attrCache, method, target string, code codes.Code, err error) {
	ae, ok := errdetails.FromError(err)
	if !ok {
		return
	}
	app := ae.Code
	if !wire.KnownCode(t.registry, app) {
		app = "OTHER"
	}
	ctr.Add(ctx, 1, cache.get(attrKey{method: method, target: target, code: code, extra: app}).add...)
}
