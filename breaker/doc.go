// Package breaker is a circuit breaker: it stops calls to a dependency that
// is failing, so that callers fail fast and the dependency gets time to
// recover, and it lets a few probe calls through from time to time to find
// out when it has. It imports only the standard library; package
// interceptors/circuit puts it in front of gRPC calls.
//
// # States
//
// A breaker starts closed: calls go through and their outcomes are counted.
// When a trip rule fires, it opens: calls are refused with an *OpenError
// (matching ErrOpen) whose RefusesFor says how long it stays open. When the
// open time has passed it becomes half-open: a few probe calls go through at
// once, the rest are refused. Enough successful probes close it; one failed probe opens
// it again, for twice as long as before (up to a cap). A probe that never
// reports is taken back after a timeout so that another call can probe.
//
//	closed --trip rule--> open --open time--> half-open --successes--> closed
//	                        ^                     |
//	                        +------a failure------+
//
// The transitions closed to half-open and open to closed never happen on
// their own. Operators can also pin a breaker (SetMode): ModeForcedOpen
// refuses everything, ModeDisabled lets everything through and records
// nothing, ModeMetricsOnly runs the state machine and reports its
// transitions but never refuses a call.
//
// # Trip rules
//
// The rules can be combined; any one of them trips the breaker:
//   - consecutive failures (WithConsecutiveFailures; off by default);
//   - failure rate over a time window or over the last n calls, once the
//     window holds a minimum number of calls (WithFailureRate,
//     WithTimeWindow, WithCountWindow, WithMinCalls; default 50 % over 10 s
//     in 10 buckets, at least 20 calls);
//   - slow-call rate: calls that take longer than a threshold (WithSlowCalls;
//     off by default).
//
// # Timing
//
// The open time starts at 5 s and doubles on each reopening up to 60 s; it
// is shortened by a random share of up to 20 % (WithOpenJitter) so that
// clients that tripped together do not probe together. A half-open breaker
// admits 3 probes at once, closes after 2 successes and takes a probe back
// after 30 s. All of these are options. Timers move the breaker from open to
// half-open and move the time window; they run only while needed and follow
// the fake clock of testing/synctest.
//
// # Use
//
// Allow returns a Permit; report the call's Verdict (Succeeded, Failed or
// Skipped) to it with Done. Counts returns a snapshot of the counts, and WithOnStateChange
// adds hooks called on every transition, outside the breaker's lock.
//
// # Reconfiguring
//
// Reconfigure gives a running breaker new options, checked as New checks
// them, and keeps its state: an open breaker stays open until its current
// open time ends, and a closed one keeps its counts unless its window
// changes shape. The new thresholds apply from the next call reported; a
// change of the number of probes invalidates the probes in flight of a
// half-open breaker (their reports are ignored).
//
// # Cost
//
// In the closed state, Allow is one atomic load and reporting a success is
// one atomic add on a counter striped across cache lines: no lock, no clock
// read, no allocation, and no cache line written by every call, so the
// closed path scales across cores. A refusal returns a preallocated error.
// Failures, slow calls (whose detection reads the clock twice per call),
// probes and transitions take a mutex.
package breaker
