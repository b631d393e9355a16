// Package opentelemetry reports gRPC calls and Bulwark's components to
// OpenTelemetry: the instruments of gRFC A66 and A96 with the names, units,
// attributes and bucket boundaries the gRFCs define, Bulwark's own
// instruments under bulwark.*, and events on the caller's span.
//
// It uses only the OpenTelemetry API (go.opentelemetry.io/otel, /metric,
// /trace, /attribute): the SDK, its readers, views and exporters are the
// user's choice, given as a metric.MeterProvider (WithMeterProvider).
//
// # Where it goes
//
// Build one Telemetry with New and give it to both chains
// (interceptors.WithOpenTelemetry), or, without Bulwark's chains, pass
// DialOptions to grpc.NewClient and ServerOptions to grpc.NewServer. In the
// chains its pieces sit beside the Prometheus metrics:
//
//	client:  call interceptor → deadline → retry → attempt interceptor → concurrency → circuit → … transport (stats handler)
//	server:  (stats handler) … call interceptor → boundary → deadline → concurrency → circuit → handler
//
// The call interceptor (part of DialOptions) measures the call as the
// application sees it and keeps, in the call's context, what the stats
// handler (part of DialOptions) and the Retrier's observer (Observers().Retry)
// learn about its attempts; the attempt interceptor, which only the
// chains install, inside the retrier, sees each attempt's local refusal.
// On the server the stats handler (part of ServerOptions) measures the
// call from the transport's view, and the server interceptor tells it
// which calls are to registered methods.
//
// # gRFC A66
//
// Client: grpc.client.attempt.started, grpc.client.attempt.duration,
// grpc.client.attempt.sent_total_compressed_message_size,
// grpc.client.attempt.rcvd_total_compressed_message_size and
// grpc.client.call.duration. Server: grpc.server.call.started,
// grpc.server.call.duration and the two compressed size histograms.
// Attributes grpc.method, grpc.target (cc.CanonicalTarget()) and
// grpc.status ("OK", "UNAVAILABLE", ...). Latency buckets from 0 to 100 s,
// size buckets from 0 to 4 GiB, as A66 lists them.
//
// Attempts and message sizes are measured where gRPC measures them, by a
// stats.Handler: an interceptor cannot see compressed sizes nor gRPC's
// transparent retries. A test runs the same calls through grpc-go's
// stats/opentelemetry and through this package and finds the same names,
// units, attribute keys, bucket boundaries, counts and byte sums.
//
// A method is recorded by name on the client when the call carries
// grpc.StaticMethod() (generated stubs add it), and on the server when it
// is registered; otherwise as "other", as A66 requires, so that arbitrary
// method names cannot create unbounded series. On the server, where gRPC
// tells registration only to its own packages, a call counts as registered
// when an interceptor sees it with a service (grpc.UnknownServiceHandler
// calls have none). A call that no interceptor sees, such as one to an
// unknown method, is counted as started when its status is sent, rather
// than when its headers arrive.
//
// # gRFC A96
//
// grpc.client.call.retries, grpc.client.call.hedges and
// grpc.client.call.transparent_retries (recorded at the end of a call, only
// when not zero) and grpc.client.call.retry_delay (every call: the time the
// call had no attempt on the transport, measured between the stats
// handler's attempts). Retries and hedges come from Bulwark's Retrier, which
// hedges; an attempt it sent because none had answered within the hedging
// delay is a hedge, every other attempt after the first is a retry.
// Attempts that reach the transport beyond the Retrier's (gRPC's own
// retryPolicy) count as retries; transparent retries come from gRPC's
// stats.
//
// # Bulwark's instruments
//
// bulwark.circuit.state, bulwark.circuit.transitions and
// bulwark.circuit.rejections; bulwark.limiter.in_flight,
// bulwark.limiter.limit, bulwark.limiter.rejections and
// bulwark.limiter.wait.duration; bulwark.retry.budget.level;
// bulwark.deadline.defaults, bulwark.deadline.rejections and
// bulwark.deadline.adjustments; bulwark.client.application_errors and
// bulwark.server.application_errors (by bulwark.app_code, bounded by the
// registry, WithCodes); bulwark.config.reloads (by result, ok or error: a
// chain's Reconfigure). Their grpc.target is the component's target,
// cc.Target().
//
// # Span events
//
// When the caller's context carries a recording span
// (trace.SpanFromContext), Telemetry adds events to it and never starts a
// span: bulwark.retry and bulwark.hedge (attempt number, delay, its reason,
// the previous status, the budget left), bulwark.retry.stop,
// bulwark.circuit.rejected, bulwark.limiter.rejected,
// bulwark.deadline.default (client) and bulwark.deadline.rejected (server),
// and, from the observers (Observers().Concurrency and .Deadline), which get
// the call's context, bulwark.limiter.wait (bulwark.waited,
// bulwark.acquired) and bulwark.deadline.adjusted (server; bulwark.timeout,
// the time the handler was given). Durations are float seconds. The
// rejection events come from the interceptors, which read the returned
// error, so that they are added whether or not the component's observer is
// installed.
//
// # Cost
//
// With the API's noop MeterProvider (noop.NewMeterProvider(), recognised
// by New) and no recording span, a client call costs one span lookup and
// every other hook a field or atomic load, with no allocation
// (BenchmarkLayer); another provider whose instruments are disabled costs
// two Enabled checks more on each side. gRPC itself allocates its
// stats events for any stats.Handler, some 34 objects per unary call
// (BenchmarkCall/bulwark-noop). With the SDK, a client call resolves its
// attribute sets with one map lookup; they are made once per method,
// target and code.
//
// # Dependencies
//
// The package belongs to Bulwark's main module. grpc-go's own go.mod
// already requires go.opentelemetry.io/otel, /metric, /trace and the SDK
// at the versions this module uses, so they are in every gRPC user's
// module graph already; and Go compiles only the packages a build imports,
// so programs that do not import this package build nothing more. A
// nested module would cost a second version to release and keep in step
// for no saving.
package opentelemetry
