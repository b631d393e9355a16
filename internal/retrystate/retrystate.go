// Package retrystate is what the retry interceptor shares with the packages
// around it, and with no one else: the cap on a call's attempts, the header
// that numbers them, and a read-only view of a Retrier's targets for the
// metrics that the chain builders wire to it.
package retrystate

import "time"

// MaxAttempts is the default cap on the attempts a call may make, the
// first included: gRFC A6's client-side cap on maxAttempts, which
// retry.WithAttemptsCap raises.
const MaxAttempts = 5

// AttemptsCeiling is the highest cap retry.WithAttemptsCap accepts, and so
// the most attempts any call makes.
const AttemptsCeiling = 10

// Clamp returns c, a retry.CallOption, marked as coming from a service
// config that Bulwark parses itself (a hedgingPolicy): the attempts it asks
// for above the Retrier's cap are treated as the cap (gRFC A6), where a Go
// option asking for them is refused. Package retry sets it when it is
// initialised.
var Clamp func(c any) any

// ChannelCapped returns c, a retry.CallOption, marked as coming from the
// channel's own method config (a retryPolicy, through GetMethodConfig):
// gRPC has already held its attempts to the channel's cap
// (grpc.WithMaxCallAttempts, 5 by default), so the Retrier's cap does not
// apply to them. Package retry sets it when it is initialised.
var ChannelCapped func(c any) any

// PreviousAttemptsHeader is the request header that tells the server how
// many attempts of the call came before this one (gRFC A6). The retry
// interceptor sets it on every attempt after the first.
const PreviousAttemptsHeader = "grpc-previous-rpc-attempts"

// Targets reads what a Retrier keeps per target (cc.Target()).
type Targets interface {
	// BudgetLevel returns what the target's retry budget holds now:
	// retries left in the window, tokens, or +Inf without a budget; false
	// for a target the Retrier has not seen.
	BudgetLevel(target string) (float64, bool)
	// BufferedBytes returns the bytes of sent messages that the target's
	// streams keep to replay; false for a target the Retrier has not
	// seen.
	BufferedBytes(target string) (int64, bool)
}

// Of returns the Targets of r, a *retry.Retrier, or nil for anything
// else. Package retry sets it when it is initialised; the packages that
// call it import retry, so it is set by then.
var Of func(r any) Targets

// CircuitGate returns the retry.Option that tells a Retrier how long the
// circuit breaker inside it will still refuse calls to a target and
// method (see RefusesFor): before a retry or a hedge
// that the breaker would refuse, the call ends at once with its last real
// error. interceptors.NewClientChain gives it to the Retrier it puts
// outside a circuit breaker. Package retry sets it when it is initialised.
var CircuitGate func(refusesFor func(target, fullMethod string) time.Duration) any

// RefusesFor returns, for c, a *circuit.Circuit, the function that says
// how long the client breaker guarding a target (and method, per method)
// will still refuse calls: zero when it has none yet or lets calls
// through. It makes no breaker and takes no lock. Package circuit sets it
// when it is initialised.
var RefusesFor func(c any) func(target, fullMethod string) time.Duration
