package metrics

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/track"
)

// reporter is what the chain builders ask of Metrics (see internal/track).
type reporter struct{ m *Metrics }

func init() {
	track.Register(func(v any) track.Reporter {
		if m, ok := v.(*Metrics); ok && m != nil {
			return reporter{m}
		}
		return nil
	})
}

// TrackLimiter reports the gauges of l's global limit under side.
func (r reporter) TrackLimiter(side string, l *concurrency.Limiter) { r.m.trackLimiter(side, l) }

// TrackRetrier reports the gauges of r's targets.
func (r reporter) TrackRetrier(rt *retry.Retrier) { r.m.trackRetrier(rt) }

// AttemptInterceptors return the interceptors that count each attempt in
// <namespace>_client_attempts_total.
func (r reporter) AttemptInterceptors() (grpc.UnaryClientInterceptor, grpc.StreamClientInterceptor) {
	return r.m.unaryAttempt(), r.m.streamAttempt()
}

// ClientInterceptors return the call interceptors of the client side.
func (r reporter) ClientInterceptors() (grpc.UnaryClientInterceptor, grpc.StreamClientInterceptor) {
	return r.m.unaryClient(), r.m.streamClient()
}

// ServerInterceptors return the server interceptors.
func (r reporter) ServerInterceptors() (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	return r.m.unaryServer(), r.m.streamServer()
}

// ConfigReload counts a chain's Reconfigure in
// <namespace>_config_reloads_total.
func (r reporter) ConfigReload(ok bool) { r.m.comps.configReload(ok) }

// StatsHandlers returns nil, nil: Metrics has none.
func (r reporter) StatsHandlers() (client, server stats.Handler) { return nil, nil }
