package circuit

import (
	"time"

	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/internal/method"
)

// ErrOpen is breaker.ErrOpen: every *OpenError matches it with errors.Is.
var ErrOpen = breaker.ErrOpen

// rejectMessage is the status message of a refused call.
const rejectMessage = "circuit breaker open"

// OpenError is the error of a call that an open breaker refused without
// touching the network. It matches ErrOpen (breaker.ErrOpen) and
// outcome.ErrLocalReject with errors.Is. Its status (GRPCStatus) is
// UNAVAILABLE with an ErrorInfo of reason CIRCUIT_OPEN, marked unprocessed,
// and a RetryInfo holding the remaining open time when there is one.
//
// Each breaker refuses with the same *OpenError, so a refusal allocates
// nothing; the status is built when asked for, from the remaining time at
// that moment.
type OpenError struct {
	// Target is the client's target (cc.Target()); empty on the server.
	Target string
	// Method is the full method name the breaker guards; empty for a client
	// breaker that guards a whole target.
	Method string

	b *breaker.Breaker
}

// Error returns "circuit: open", the target or method, and the remaining
// open time.
func (e *OpenError) Error() string {
	s := "circuit: open"
	switch {
	case e.Target != "" && e.Method != "":
		s += " for " + e.Target + " " + e.Method
	case e.Target != "":
		s += " for " + e.Target
	case e.Method != "":
		s += " for " + e.Method
	}
	if rem := e.Remaining(); rem > 0 {
		s += ", retry in " + rem.Round(time.Millisecond).String()
	}
	return s
}

// Unwrap returns breaker.ErrOpen.
func (e *OpenError) Unwrap() error { return breaker.ErrOpen }

// Is reports whether target is outcome.ErrLocalReject.
func (e *OpenError) Is(target error) bool { return target == outcome.ErrLocalReject }

// Remaining returns how long the breaker stays open from now; zero when it
// refuses calls for another reason (half-open with every probe taken, or
// forced open).
func (e *OpenError) Remaining() time.Duration { return e.b.Remaining() }

// GRPCStatus returns the status the call fails with: UNAVAILABLE, ErrorInfo
// reason CIRCUIT_OPEN (domain: the method's service), and RetryInfo set to
// the remaining open time. It is the status of the ApplicationError that As
// gives.
func (e *OpenError) GRPCStatus() *status.Status {
	return e.applicationError().GRPCStatus()
}

// As sets target, when it is an **errdetails.ApplicationError, to a new
// CIRCUIT_OPEN ApplicationError (retryable, unprocessed, RetryAfter the
// remaining open time). So errdetails.FromError reads a rejection like any
// other application error, and on the server the error boundary sends it
// with the request id and a grpc-retry-pushback-ms trailer.
func (e *OpenError) As(target any) bool {
	p, ok := target.(**errdetails.ApplicationError)
	if ok {
		*p = e.applicationError()
	}
	return ok
}

func (e *OpenError) applicationError() *errdetails.ApplicationError {
	opts := []errdetails.Option{errdetails.WithUnprocessed()}
	if e.Method != "" {
		opts = append(opts, errdetails.WithDomain(method.Service(e.Method)))
	}
	if rem := e.Remaining(); rem > 0 {
		opts = append(opts, errdetails.WithRetryAfter(rem))
	}
	return errdetails.New(errdetails.CodeCircuitOpen, rejectMessage, opts...)
}
