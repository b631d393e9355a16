package refusal

import "time"

// Circuit is implemented by the error with which a circuit breaker refuses
// a call, so that telemetry can name the breaker without the circuit
// package exporting its error type.
type Circuit interface {
	error
	// CircuitKey returns the target (empty on the server) and the full
	// method (empty for a client breaker that guards a whole target) of the
	// breaker that refused.
	CircuitKey() (target, fullMethod string)
	// RefusesFor returns how long the breaker stays open from now.
	RefusesFor() time.Duration
}
