// Package interceptors builds Bulwark's recommended client and server
// chains in one call each. The components live in the subpackages (one per
// concern: boundary, circuit, concurrency, deadline, logging, metrics,
// requestid, retry); this package puts them in the order in which they work
// together, wires their metrics and logs, and refuses configurations that
// would not work.
//
//	chain, err := interceptors.NewClientChain(
//		interceptors.WithLogger(logger),
//		interceptors.WithMetrics(m),
//		interceptors.WithDeadline(),
//		interceptors.WithRetry(),
//		interceptors.WithCircuitBreaker(),
//	)
//	if err != nil { ... }
//	conn, err := grpc.NewClient(target, append(chain.DialOptions(), creds)...)
//
// Only what is configured is in a chain; the request id and the error
// boundary (the server's boundary, the client's decoder) always are.
//
// # The client chain
//
// First is outermost: a call passes through each layer in this order on the
// way out, and its result in the reverse order on the way back.
//
//		 call ──▶ requestid ─ logging ─ metrics(call) ─ deadline ─ retry ──┐
//		                                                                    │ per attempt
//		 transport ◀── decode ─ metrics(attempt) ─ circuit ─ concurrency ◀──┘
//
//	  - requestid first: every record and outgoing call carries the id.
//	  - logging and metrics(call) outside retry: one record and one
//	    grpc_client_handled_total per call, whatever the attempts; they also
//	    see calls that Bulwark refused locally.
//	  - deadline outside retry: the default timeout covers all attempts, and
//	    retry never sleeps past it. Inside retry, each attempt would get a new
//	    full timeout and a call could last attempts × timeout.
//	  - retry outside concurrency and circuit: each attempt takes its own
//	    limiter permit and breaker permit, so no permit is held during a
//	    backoff, an open breaker refuses the next attempt, and its refusal (a
//	    local reject) stops retrying instead of spinning on it. The chain
//	    also lets retry ask the breaker how long it stays open: when it
//	    would still be open once the backoff ends, the call ends at once with
//	    the server's error instead of sleeping into a refusal. Outside them,
//	    a retry would re-enter an open breaker and hold a permit while it
//	    sleeps.
//	  - concurrency outside circuit: a limiter rejection never reaches the
//	    breaker, so a client's own bulkhead never trips its breaker. Reversed,
//	    local overload would open the circuit to a healthy server.
//	  - metrics(attempt) inside circuit: bulwark_client_attempts_total counts
//	    only attempts that reached the transport.
//	  - decode innermost: every layer sees *errdetails.ApplicationError, so
//	    the classifier reads retryability and server delays once.
//
// gRPC's own retryPolicy must not also be on: every Bulwark attempt would
// become up to five gRPC attempts. With WithRetry, DialOptions includes
// grpc.WithDisableRetry.
//
// # The server chain
//
//		 request ──▶ requestid ─ logging ─ metrics ─ boundary ─ deadline ─ concurrency ─ circuit ─ handler
//
//	  - requestid first, so logs, errors and outgoing calls share the id.
//	  - logging and metrics outside the boundary: they see the code the
//	    caller receives, and a panic as INTERNAL.
//	  - boundary outside every other component: their errors (overload,
//	    deadline too short, circuit open) and panics anywhere inside are
//	    encoded the same way, with the grpc-retry-pushback-ms trailer.
//	  - deadline before concurrency: a request that cannot finish in time is
//	    refused before it takes or waits for a permit.
//	  - concurrency before circuit: overload is refused before any work, and
//	    the handler's breaker judges only admitted requests.
//
// # Metrics and logs
//
// WithMetrics feeds every component's Observer to one metrics.Metrics,
// which the user registers on a registry; WithLogger logs finished calls and
// the components' events. An Observer given in a component's own options
// (circuit.WithObserver, say) is added to the chain's: it hears the same
// events, after the metrics and the log. WithOpenTelemetry does the same for
// an opentelemetry.Telemetry, beside or instead of Prometheus: its call
// layer sits beside metrics(call), its attempt layer just inside retry,
// and its stats handlers on the connection and the server.
//
// # Exempt methods
//
// Calls to the methods WithExempt and WithExemptFunc name, and to the
// standard health and reflection services, skip the logging, deadline,
// concurrency and circuit layers on both sides: a probe of a busy server is
// answered, and never opens a breaker. They keep the request id, the
// metrics, the error boundary and, on the client, retries.
//
// # Configuration that changes while the chain runs
//
// Reconfigure swaps in new options for the deadline, circuit breaker,
// concurrency limiter and retry layers while calls run, keeping their
// state (see ClientChain.Reconfigure). WithServiceConfig applies gRPC's
// service config, including the hedgingPolicy and retryThrottling gRPC
// leaves unimplemented, through the same layers. WithHealth reports
// sustained shedding on the standard health service.
//
// # One interceptor per side
//
// DialOptions and ServerOptions install each side's chain as one
// interceptor per kind (unary, stream) that runs the layers in the order
// above: gRPC's own chaining of a list of interceptors makes a closure per
// layer for every call; the chains make one small object per call.
package interceptors
