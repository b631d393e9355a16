package breaker

import (
	"errors"
	"time"
)

// ErrOpen is matched, with errors.Is, by every error with which a breaker
// refuses a call: while it is open or forced open, and while it is half-open
// with all its probes taken.
var ErrOpen = errors.New("breaker: circuit open")

// OpenError is the error Allow and Do return when the breaker refuses a call.
// Each breaker returns the same *OpenError every time, so a refusal
// allocates nothing; RefusesFor reads the breaker's current open deadline.
// It matches ErrOpen with errors.Is.
type OpenError struct {
	b *Breaker
}

// Error returns "breaker: circuit open", followed by the remaining open time
// when there is one.
func (e *OpenError) Error() string {
	if rem := e.RefusesFor(); rem > 0 {
		return "breaker: circuit open, retry in " + rem.Round(time.Millisecond).String()
	}
	return "breaker: circuit open"
}

// Is reports whether target is ErrOpen.
func (e *OpenError) Is(target error) bool { return target == ErrOpen }

// RefusesFor returns how long the breaker will stay open from now: zero once
// the open time has passed, and zero when the breaker refuses calls for
// another reason (forced open, or half-open with all probes taken), since
// no open time says when that ends. It is read when called, so an error
// kept for later reports the breaker's state at that later time.
func (e *OpenError) RefusesFor() time.Duration {
	if e == nil || e.b == nil {
		return 0
	}
	return e.b.remaining()
}
