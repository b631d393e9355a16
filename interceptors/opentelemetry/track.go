package opentelemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/track"
)

// reporter is what the chain builders ask of Telemetry (see
// internal/track).
type reporter struct{ t *Telemetry }

func init() {
	track.Register(func(v any) track.Reporter {
		if t, ok := v.(*Telemetry); ok && t != nil {
			return reporter{t}
		}
		return nil
	})
}

// TrackLimiter reports the gauges of l's global limit under side.
func (r reporter) TrackLimiter(side string, l *concurrency.Limiter) { r.t.trackLimiter(side, l) }

// TrackRetrier reports the budget level of r's targets.
func (r reporter) TrackRetrier(rt *retry.Retrier) { r.t.trackRetrier(rt) }

// AttemptInterceptors return the interceptors that add span events for
// each attempt's local refusals, right inside the retrier.
func (r reporter) AttemptInterceptors() (grpc.UnaryClientInterceptor, grpc.StreamClientInterceptor) {
	return r.t.unaryAttempt(), r.t.streamAttempt()
}

// ClientInterceptors return the call interceptors of the client side.
func (r reporter) ClientInterceptors() (grpc.UnaryClientInterceptor, grpc.StreamClientInterceptor) {
	return r.t.unaryClientInterceptor(), r.t.streamClientInterceptor()
}

// ServerInterceptors return the server interceptors.
func (r reporter) ServerInterceptors() (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	return r.t.unaryServerInterceptor(), r.t.streamServerInterceptor()
}

// ConfigReload counts a chain's Reconfigure in bulwark.config.reloads.
func (r reporter) ConfigReload(ok bool) {
	result := attribute.String("result", "error")
	if ok {
		result = attribute.String("result", "ok")
	}
	r.t.in.configReloads.Add(context.Background(), 1, metric.WithAttributes(result))
}

// StatsHandlers return the client and server stats handlers.
func (r reporter) StatsHandlers() (client, server stats.Handler) {
	return r.t.clientStatsHandler(), r.t.serverStatsHandler()
}
