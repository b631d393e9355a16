package retry

import (
	"math/rand/v2"
	"time"
)

// The tests choose when a unary call's first attempt reads its pushback
// trailer; users get trailerAuto.

type TrailerMode = trailerMode

const (
	TrailerAuto   = trailerAuto
	TrailerAlways = trailerAlways
	TrailerNever  = trailerNever
)

func WithFirstAttemptTrailer(m TrailerMode) Option { return withFirstAttemptTrailer(m) }

// The tests play the circuit breaker that the client chain puts inside the
// Retrier, and check the error of an invalid call option.

func WithCircuitGate(openFor func(target, fullMethod string) time.Duration) Option {
	return withCircuitGate(openFor)
}

var ErrInvalidCallOption = errInvalidCallOption

func WithRandSource(src rand.Source) Option { return withRandSource(src) }
