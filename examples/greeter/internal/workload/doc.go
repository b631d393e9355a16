// Package workload drives a greeter server for the example's client: it
// makes a number of calls of one method, some at a time (a closed loop) or
// at a fixed rate (an open loop), each with its own deadline and the
// greeter-fault metadata, and sums up what happened in a Summary (success
// rate, codes, application codes, attempts on the wire, latency
// percentiles, breaker transitions, rejections by reason) that the client
// prints as JSON for scripts such as the demo.
//
// # Counting attempts
//
// Attempts are counted by the client's innermost interceptor (see
// AttemptCounter), so that each retry a client chain makes counts, and
// calls refused locally (an open breaker) do not. The same interceptor
// counts the attempts a Bulwark server refused before its handler ran
// (Rejections), by the reason in their ErrorInfo.
package workload
