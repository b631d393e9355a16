package opentelemetry

import (
	"errors"

	"go.opentelemetry.io/otel/metric"
)

// The names of the gRFC A66 and A96 instruments, as the gRFCs spell them.
const (
	nameAttemptStarted  = "grpc.client.attempt.started"
	nameAttemptDuration = "grpc.client.attempt.duration"
	nameAttemptSent     = "grpc.client.attempt.sent_total_compressed_message_size"
	nameAttemptRcvd     = "grpc.client.attempt.rcvd_total_compressed_message_size"
	nameCallDuration    = "grpc.client.call.duration"
	nameServerStarted   = "grpc.server.call.started"
	nameServerSent      = "grpc.server.call.sent_total_compressed_message_size"
	nameServerRcvd      = "grpc.server.call.rcvd_total_compressed_message_size"
	nameServerDuration  = "grpc.server.call.duration"

	nameRetries            = "grpc.client.call.retries"
	nameTransparentRetries = "grpc.client.call.transparent_retries"
	nameHedges             = "grpc.client.call.hedges"
	nameRetryDelay         = "grpc.client.call.retry_delay"
)

// latencyBounds and sizeBounds are gRFC A66's bucket boundaries, in seconds
// and bytes.
var (
	latencyBounds = []float64{0, 0.00001, 0.00005, 0.0001, 0.0003, 0.0006, 0.0008, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.008, 0.01, 0.013, 0.016, 0.02, 0.025, 0.03, 0.04, 0.05, 0.065, 0.08, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3, 0.4, 0.5, 0.65, 0.8, 1, 2, 5, 10, 20, 50, 100}
	sizeBounds    = []float64{0, 1024, 2048, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864, 268435456, 1073741824, 4294967296}
	// retryBounds and transparentBounds are gRFC A96's.
	retryBounds       = []float64{1, 2, 3, 4, 5}
	transparentBounds = []float64{1, 2, 3, 4, 5, 10}
)

// instruments are every instrument a Telemetry records to.
type instruments struct {
	// gRFC A66, client.
	attemptStarted  metric.Int64Counter
	attemptDuration metric.Float64Histogram
	attemptSent     metric.Int64Histogram
	attemptRcvd     metric.Int64Histogram
	callDuration    metric.Float64Histogram
	// gRFC A66, server.
	serverStarted  metric.Int64Counter
	serverSent     metric.Int64Histogram
	serverRcvd     metric.Int64Histogram
	serverDuration metric.Float64Histogram
	// gRFC A96.
	retries     metric.Int64Histogram
	transparent metric.Int64Histogram
	hedges      metric.Int64Histogram
	retryDelay  metric.Float64Histogram
	// Bulwark's components.
	circuitState       metric.Int64Gauge
	circuitTransitions metric.Int64Counter
	circuitRejections  metric.Int64Counter
	limiterRejections  metric.Int64Counter
	limiterWait        metric.Float64Histogram
	limiterInFlight    metric.Int64ObservableGauge
	limiterLimit       metric.Int64ObservableGauge
	budgetLevel        metric.Float64ObservableGauge
	deadlineRejections metric.Int64Counter
	deadlineDefaults   metric.Int64Counter
	deadlineAdjusted   metric.Int64Counter
	clientAppErrors    metric.Int64Counter
	serverAppErrors    metric.Int64Counter
	configReloads      metric.Int64Counter
}

// newInstruments creates the instruments on m, joining the errors of those
// the meter refused.
func newInstruments(m metric.Meter) (instruments, error) {
	var in instruments
	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	latency := metric.WithExplicitBucketBoundaries(latencyBounds...)
	size := metric.WithExplicitBucketBoundaries(sizeBounds...)

	in.attemptStarted, err = m.Int64Counter(nameAttemptStarted, metric.WithUnit("{attempt}"),
		metric.WithDescription("The total number of RPC attempts started, including those that have not completed."))
	check(err)
	in.attemptDuration, err = m.Float64Histogram(nameAttemptDuration, metric.WithUnit("s"), latency,
		metric.WithDescription("End-to-end time taken to complete an RPC attempt including the time it takes to pick a subchannel."))
	check(err)
	in.attemptSent, err = m.Int64Histogram(nameAttemptSent, metric.WithUnit("By"), size,
		metric.WithDescription("Total bytes (compressed but not encrypted) sent across all request messages (metadata excluded) per RPC attempt."))
	check(err)
	in.attemptRcvd, err = m.Int64Histogram(nameAttemptRcvd, metric.WithUnit("By"), size,
		metric.WithDescription("Total bytes (compressed but not encrypted) received across all response messages (metadata excluded) per RPC attempt."))
	check(err)
	in.callDuration, err = m.Float64Histogram(nameCallDuration, metric.WithUnit("s"), latency,
		metric.WithDescription("End-to-end time the gRPC library takes to complete an RPC from the application's perspective."))
	check(err)

	in.serverStarted, err = m.Int64Counter(nameServerStarted, metric.WithUnit("{call}"),
		metric.WithDescription("The total number of RPCs started, including those that have not completed."))
	check(err)
	in.serverSent, err = m.Int64Histogram(nameServerSent, metric.WithUnit("By"), size,
		metric.WithDescription("Total bytes (compressed but not encrypted) sent across all response messages (metadata excluded) per RPC."))
	check(err)
	in.serverRcvd, err = m.Int64Histogram(nameServerRcvd, metric.WithUnit("By"), size,
		metric.WithDescription("Total bytes (compressed but not encrypted) received across all request messages (metadata excluded) per RPC."))
	check(err)
	in.serverDuration, err = m.Float64Histogram(nameServerDuration, metric.WithUnit("s"), latency,
		metric.WithDescription("End-to-end time an RPC takes from the server transport's perspective."))
	check(err)

	in.retries, err = m.Int64Histogram(nameRetries, metric.WithUnit("{retry}"), metric.WithExplicitBucketBoundaries(retryBounds...),
		metric.WithDescription("Number of retries during the client call. If there were no retries, 0 is not reported."))
	check(err)
	in.transparent, err = m.Int64Histogram(nameTransparentRetries, metric.WithUnit("{transparent_retry}"), metric.WithExplicitBucketBoundaries(transparentBounds...),
		metric.WithDescription("Number of transparent retries during the client call. If there were no transparent retries, 0 is not reported."))
	check(err)
	in.hedges, err = m.Int64Histogram(nameHedges, metric.WithUnit("{hedge}"), metric.WithExplicitBucketBoundaries(retryBounds...),
		metric.WithDescription("Number of hedges during the client call. If there were no hedges, 0 is not reported."))
	check(err)
	in.retryDelay, err = m.Float64Histogram(nameRetryDelay, metric.WithUnit("s"), latency,
		metric.WithDescription("Total time of delay while there is no active attempt during the client call."))
	check(err)

	in.circuitState, err = m.Int64Gauge("bulwark.circuit.state", metric.WithUnit("{state}"),
		metric.WithDescription("Circuit breaker state: 1 for the current state (bulwark.circuit.state), 0 for the others."))
	check(err)
	in.circuitTransitions, err = m.Int64Counter("bulwark.circuit.transitions", metric.WithUnit("{transition}"),
		metric.WithDescription("Circuit breaker state transitions."))
	check(err)
	in.circuitRejections, err = m.Int64Counter("bulwark.circuit.rejections", metric.WithUnit("{call}"),
		metric.WithDescription("Calls an open circuit breaker refused without reaching the network or the handler."))
	check(err)
	in.limiterRejections, err = m.Int64Counter("bulwark.limiter.rejections", metric.WithUnit("{call}"),
		metric.WithDescription("Calls a concurrency limiter refused, by reason."))
	check(err)
	in.limiterWait, err = m.Float64Histogram("bulwark.limiter.wait.duration", metric.WithUnit("s"), latency,
		metric.WithDescription("Time calls waited in a concurrency limiter's queue."))
	check(err)
	in.limiterInFlight, err = m.Int64ObservableGauge("bulwark.limiter.in_flight", metric.WithUnit("{call}"),
		metric.WithDescription("Permits of a concurrency limiter held."))
	check(err)
	in.limiterLimit, err = m.Int64ObservableGauge("bulwark.limiter.limit", metric.WithUnit("{call}"),
		metric.WithDescription("Current limit of a concurrency limiter."))
	check(err)
	in.budgetLevel, err = m.Float64ObservableGauge("bulwark.retry.budget.level", metric.WithUnit("{retry}"),
		metric.WithDescription("What the retry budget of a target holds: retries left in its window, or tokens."))
	check(err)
	in.deadlineRejections, err = m.Int64Counter("bulwark.deadline.rejections", metric.WithUnit("{call}"),
		metric.WithDescription("Requests a server refused because too little of their deadline was left (DEADLINE_TOO_SHORT)."))
	check(err)
	in.deadlineDefaults, err = m.Int64Counter("bulwark.deadline.defaults", metric.WithUnit("{call}"),
		metric.WithDescription("Client calls without a deadline that were given the default timeout."))
	check(err)
	in.deadlineAdjusted, err = m.Int64Counter("bulwark.deadline.adjustments", metric.WithUnit("{call}"),
		metric.WithDescription("Server requests whose deadline was capped or shaved."))
	check(err)
	in.clientAppErrors, err = m.Int64Counter("bulwark.client.application_errors", metric.WithUnit("{error}"),
		metric.WithDescription("Application errors received by the client, by application code (codes the registry does not know are OTHER)."))
	check(err)
	in.serverAppErrors, err = m.Int64Counter("bulwark.server.application_errors", metric.WithUnit("{error}"),
		metric.WithDescription("Application errors returned by the server's handlers, by application code (codes the registry does not know are OTHER)."))
	check(err)
	in.configReloads, err = m.Int64Counter("bulwark.config.reloads", metric.WithUnit("{reload}"),
		metric.WithDescription("Reconfigure calls on a chain, by result: ok (applied) or error (refused; nothing changed)."))
	check(err)
	if err := errors.Join(errs...); err != nil {
		return instruments{}, errors.Join(errors.New("opentelemetry: New: the meter refused instruments"), err)
	}
	return in, nil
}
