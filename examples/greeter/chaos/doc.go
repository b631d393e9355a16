// Package chaos is Bulwark's chaos suite: the demo's scenarios (a healthy
// service, a flaky one, a blip, a full outage and its recovery, where the
// service fails or hangs, overload, and a slow dependency) as deterministic
// tests. Each scenario runs twice,
// with bare gRPC and with Bulwark's chains, and the tests assert success
// rates, amplification (attempts that reach the server per call), latency
// bounds, and that nothing is left behind. The package has no API: it holds
// only tests.
//
//	go -C examples test -race -v ./greeter/chaos/
//
// prints a table per scenario, for example
//
//	flaky      calls  success  att/call      p50      p99  fail p50   svc p99  failures
//	bare         379    66.5%     1.000   10.0ms   10.0ms    10.0ms    10.0ms  unavailable=127
//	bulwark      379    97.1%     1.383   10.0ms  330.0ms   330.0ms    10.0ms  unavailable=11
//
// # How a scenario runs
//
// A greeter service (package greeter, with its fault injection and a seeded
// random source) is served over bufconn inside a testing/synctest bubble, so
// that seconds of scenario take milliseconds and every figure is the same on
// every run. The load is open: calls start at a fixed rate whether or not
// the earlier ones have answered, each in its own goroutine, each with a
// 1 s deadline set by its caller in both modes. Phases change the faults
// while the load runs (an outage begins, the service recovers).
//
// The client measures each call's result and its latency in fake time; a
// stats handler on the server counts every attempt that reaches it, before
// any interceptor; a timer around the service measures its own time.
//
// # The Bulwark configuration
//
// Every scenario uses the same chains, as a production client and server
// would. The client: a default deadline, retries (3 attempts, 100 ms ×2
// backoff, the 20% + 10/s budget) with a 200 ms per-attempt timeout,
// a bulkhead of 200 calls, and a circuit breaker (5 s open, 3 probes). The
// server: the error boundary, the deadline check, and a concurrency limit
// equal to the service's capacity when it has one (or adaptive, in one
// scenario). One scenario also hedges.
//
// Besides the per-attempt timeout, which is off by default and without
// which a hung server never opens the breaker, three choices differ from
// Bulwark's defaults, each explained where it is made: the retry's jitter is
// off (it cannot be seeded); the breaker trips on the failure rate only, as
// DESIGN.md lists it (the consecutive-failures rule, on by default, trips on
// a 30%-flaky server and on any blip, then refuses every call for 5 s); and
// the breaker does not count the server's load-shedding rejections as
// failures (with the default classifier, an overloaded server's rejections
// open every client's breaker, and goodput falls from the server's capacity
// to almost nothing).
//
// # What is asserted
//
// The bounds come from the design, not from a run, and each test says how:
// the chance that three independent attempts fail, the retry budget's cap,
// the backoffs and per-attempt timeout that bound a call's latency, the
// breaker's open time and probes, the capacity of a limited server and the
// collapse of a FIFO queue past its callers' deadline. After every run the
// service's slots, both limiters and the breaker's probes are empty;
// synctest fails a test whose goroutines outlive it, and goleak checks the
// whole package.
//
// Bulwark is ahead of bare gRPC in the flaky, blip, overload and slow
// scenarios. In a long outage it is not ahead on success, by design: its
// breaker refuses calls for up to one open time after the service is back,
// in exchange for sending the failing service almost nothing. The outage
// test bounds that loss.
//
// # Determinism
//
// Every random source is seeded: the greeter's failures, the slow
// dependency, the breaker's open-time jitter. Events that fall on the same
// fake instant run in an order synctest does not fix, so calls start at an
// interval a few microseconds off the round numbers of every other timer.
package chaos
