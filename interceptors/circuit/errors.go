package circuit

import (
	"sync/atomic"
	"time"

	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/internal/method"
)

// rejectMessage is the status message of a refused call.
const rejectMessage = "circuit breaker open"

// openError is the error of a call that an open breaker refused without
// touching the network. It wraps the breaker's *breaker.OpenError, so
// errors.As gives its RefusesFor and it matches breaker.ErrOpen with
// errors.Is; it also matches outcome.ErrLocalReject. Its status (GRPCStatus)
// is UNAVAILABLE with an ErrorInfo of reason CIRCUIT_OPEN, marked
// unprocessed, and a RetryInfo holding the remaining open time when there is
// one; errors.As converts it to that *errdetails.ApplicationError.
//
// Each breaker refuses with the same *openError, so a refusal allocates
// nothing; the status is built when asked for, from the remaining time at
// that moment.
type openError struct {
	// Target is the client's target (cc.Target()); empty on the server.
	Target string
	// Method is the full method name the breaker guards; empty for a client
	// breaker that guards a whole target.
	Method string

	// err is the breaker's own refusal, kept at the first refusal (the
	// breaker returns the same one every time).
	err atomic.Pointer[breaker.OpenError]
}

// refused keeps err, the error with which the breaker refused a call, and
// returns e.
func (e *openError) refused(err error) *openError {
	if e.err.Load() == nil {
		if oe, ok := err.(*breaker.OpenError); ok {
			e.err.Store(oe)
		}
	}
	return e
}

// Error returns "circuit: open", the target or method, and the remaining
// open time.
func (e *openError) Error() string {
	s := "circuit: open"
	switch {
	case e.Target != "" && e.Method != "":
		s += " for " + e.Target + " " + e.Method
	case e.Target != "":
		s += " for " + e.Target
	case e.Method != "":
		s += " for " + e.Method
	}
	if rem := e.RefusesFor(); rem > 0 {
		s += ", retry in " + rem.Round(time.Millisecond).String()
	}
	return s
}

// Unwrap returns the breaker's *breaker.OpenError (breaker.ErrOpen before
// the breaker refused a call).
func (e *openError) Unwrap() error {
	if oe := e.err.Load(); oe != nil {
		return oe
	}
	return breaker.ErrOpen
}

// Is reports whether target is outcome.ErrLocalReject.
func (e *openError) Is(target error) bool { return target == outcome.ErrLocalReject }

// RefusesFor returns how long the breaker stays open from now; zero when it
// refuses calls for another reason (half-open with every probe taken, or
// forced open). With CircuitKey, it makes openError a refusal.Circuit.
func (e *openError) RefusesFor() time.Duration { return e.err.Load().RefusesFor() }

// CircuitKey returns the target and method of the breaker that refused.
func (e *openError) CircuitKey() (target, fullMethod string) { return e.Target, e.Method }

// GRPCStatus returns the status the call fails with: UNAVAILABLE, ErrorInfo
// reason CIRCUIT_OPEN (domain: the method's service), and RetryInfo set to
// the remaining open time. It is the status of the ApplicationError that As
// gives.
func (e *openError) GRPCStatus() *status.Status {
	return e.applicationError().GRPCStatus()
}

// As sets target, when it is an **errdetails.ApplicationError, to a new
// CIRCUIT_OPEN ApplicationError (retryable, unprocessed, RetryAfter the
// remaining open time). So errdetails.FromError reads a rejection like any
// other application error, and on the server the error boundary sends it
// with the request id and a grpc-retry-pushback-ms trailer.
func (e *openError) As(target any) bool {
	p, ok := target.(**errdetails.ApplicationError)
	if ok {
		*p = e.applicationError()
	}
	return ok
}

func (e *openError) applicationError() *errdetails.ApplicationError {
	ae := errdetails.New(errdetails.CodeCircuitOpen, rejectMessage)
	ae.Unprocessed = true
	if e.Method != "" {
		ae.Domain = method.Service(e.Method)
	}
	if rem := e.RefusesFor(); rem > 0 {
		ae.RetryAfter = rem
	}
	return ae
}
