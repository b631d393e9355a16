// Package track gives the chain builders of package interceptors what the
// metrics and opentelemetry packages offer them alone: the gauges read from
// a chain's Limiter and Retrier, the client interceptors that see each
// attempt inside the retrier, and the stats handlers. Users compose these
// through the chains, so they are not part of the packages' API.
package track

import (
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
)

// Reporter is what a chain builder asks of a *metrics.Metrics or an
// *opentelemetry.Telemetry.
type Reporter interface {
	// TrackLimiter reports the gauges of l under side, "client" or
	// "server".
	TrackLimiter(side string, l *concurrency.Limiter)
	// TrackRetrier reports the gauges of r's targets.
	TrackRetrier(r *retry.Retrier)
	// AttemptInterceptors return the client interceptors that see each
	// attempt; they belong innermost, inside retry and the circuit breaker.
	AttemptInterceptors() (grpc.UnaryClientInterceptor, grpc.StreamClientInterceptor)
	// ClientInterceptors return the client interceptors that see the call
	// as the application does; they belong outside retry.
	ClientInterceptors() (grpc.UnaryClientInterceptor, grpc.StreamClientInterceptor)
	// ServerInterceptors return the server interceptors.
	ServerInterceptors() (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor)
	// StatsHandlers return the client and server stats handlers, nil when
	// there are none.
	StatsHandlers() (client, server stats.Handler)
	// ConfigReload counts a chain's Reconfigure: applied (ok) or refused.
	ConfigReload(ok bool)
}

var adapters []func(v any) Reporter

// Register adds f, which returns the Reporter of the values it knows and
// nil for the others. The metrics and opentelemetry packages call it when
// they are initialised.
func Register(f func(v any) Reporter) { adapters = append(adapters, f) }

// Of returns the Reporter of v, a *metrics.Metrics or an
// *opentelemetry.Telemetry.
func Of(v any) Reporter {
	for _, f := range adapters {
		if r := f(v); r != nil {
			return r
		}
	}
	panic(fmt.Sprintf("track: no Reporter for %T", v))
}

// LoggingClient and LoggingServer return the interceptors of a
// *logging.Logging, which the chains place themselves. Package logging
// sets them when it is initialised.
var (
	LoggingClient func(l any) (grpc.UnaryClientInterceptor, grpc.StreamClientInterceptor)
	LoggingServer func(l any) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor)
)
