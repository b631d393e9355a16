// Package limit holds the algorithms that adapt a concurrency limit to what
// a peer can take, for package interceptors/concurrency.
//
// # Samples and windows
//
// A limiter does not call an Algorithm on every call: it gathers the calls
// that end during a window (by default at least 100 ms and 10 calls) into one
// Sample (their average latency, the most calls that were in flight, how many
// there were and how many ended in an overload signal) and calls Update once
// per window. Calls to Update are serialised; an Algorithm needs no lock.
//
// # AIMD
//
// AIMD (additive increase, multiplicative decrease, as in TCP) suits the
// client side, where the signal is the peer refusing or timing out calls:
// the limit grows by one per window while the calls use at least half of
// it, and is multiplied by the backoff ratio (0.9) after a window with a
// drop. A latency timeout can count as a drop too.
//
// # Gradient
//
// Gradient suits the server side, where the signal is latency. It compares
// each window's average latency with a baseline, the latency calls have when
// they do not wait for each other, and while latency stays within Tolerance
// (1.25) times the baseline the limit grows by a headroom (the square root of
// the limit); beyond it the limit is scaled by the ratio (the gradient,
// between 0.5 and 1), smoothed. A window with less than half the limit in
// flight changes nothing: it did not test the limit. Like Netflix's Gradient2
// it keeps a smoothed estimate and a tolerance; unlike it, it does not take
// the baseline from a long-term average of all latencies, which creeps up
// under sustained overload and takes the limit with it.
//
// The baseline is learnt from quiet windows only: those with at most
// limit/(2×Tolerance) calls in flight, which cannot queue even when the
// limit is Tolerance times the capacity. Under sustained load there are no
// quiet windows, so after ProbeEvery (50) busy windows in a row the
// algorithm probes, as Envoy's adaptive concurrency filter does: it lowers
// the limit to limit/(2×Tolerance) until a quiet window has measured the
// baseline again (at most four windows). A probe that finds the baseline
// more than 20% lower is followed by another one soon, so a baseline first
// learnt while calls queued is corrected within a few probes. The first
// probe comes after ProbeEvery/10 windows. A probe refuses part of the
// traffic for a window or two: about 2% of the time at the defaults.
//
// The limit settles where latency is about Tolerance times the baseline:
// with the default tolerance a saturated server runs its calls at about
// 1.25 to 1.35 times their unloaded latency (the headroom adds a little),
// and refuses the rest at once instead of queueing them. A lower tolerance keeps latency closer to the baseline but
// makes the limit more sensitive to noise in latency.
package limit
