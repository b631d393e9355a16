// Package greeter is the server side of Bulwark's example: a
// greeter.v1.Greeter service that fails on purpose, so that Bulwark's
// interceptors have something to work on.
//
// # The service
//
// Service answers SayHello (unary), SayHelloStream (server stream) and
// Chat (bidirectional stream). A name longer than MaxNameLength is refused
// with a VALIDATION_ERROR on the field "name", like any real validation.
//
// # Fault injection
//
// A Config sets faults for every call: a random failure rate with its code
// (an application code, turned into an errdetails.ApplicationError by
// ErrorFor, or a gRPC code name such as UNAVAILABLE, sent as a plain
// status), added latency, a share of slow calls (SlowRate, SlowLatency),
// and a Capacity that queues calls beyond a fixed number of slots, so
// latency grows under overload. Service.SetConfig and the /faults endpoint
// (FaultsHandler) change it while the server runs.
//
// With Config.Chaos on, each request may also ask for its own fault in the
// greeter-fault metadata (FaultKey), for example
//
//	greeter-fault: error=DB_ERROR
//	greeter-fault: plain-error
//	greeter-fault: panic
//	greeter-fault: delay=2s
//	greeter-fault: error=UNAVAILABLE,after=2
//
// See Fault for the whole list. plain-error and panic carry Secret in their
// text: the error boundary must keep it in the server's log and send
// callers only INTERNAL with a generic message and a request id.
//
// Every wait (latency, delay=, a slot) ends when the caller cancels or its
// deadline passes, and the call then ends with CANCELLED or
// DEADLINE_EXCEEDED.
//
// # The server
//
// NewServer assembles the whole server in one place: the gRPC server with
// Bulwark's server chain (interceptors.NewServerChain: request id, logging,
// metrics, error boundary, deadline check, and optionally load shedding
// and a circuit breaker), the service, the standard health service,
// reflection, and a Prometheus registry holding the chain's metrics.
// WithBare builds a plain gRPC server instead, for comparison.
// Server.HTTPHandler serves /metrics, /faults, /stats and /config. The
// binary in examples/greeter/server runs it; tests run it over bufconn or
// on 127.0.0.1.
//
// # Live reconfiguration
//
// A Live holds what may change while the server serves: the load-shedding
// limit, the deadline check's settings and the breaker's. WithLive sets
// them at start; Server.Reconfigure applies a new Live through the chain's
// Reconfigure, keeping the state the chain holds (permits in flight, open
// breakers), or changes nothing and says why; Server.Live returns the Live
// in force. ReadLive reads one as JSON, strictly. The /config endpoint
// serves them: GET shows the Live in force, POST applies a new one.
package greeter
