package deadline

import (
	"time"

	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
)

// tooShortError is the error with which a server refuses a request for
// having too little time left. It converts with errors.As to its
// *errdetails.ApplicationError: DEADLINE_EXCEEDED with ErrorInfo reason
// DEADLINE_TOO_SHORT (details remainingMs and minimumMs), unprocessed and
// not retryable, which the error boundary sends.
type tooShortError struct {
	method string // the full method name of the request
	// remaining is the time the request had left (after the shave, when
	// the shave made it too short).
	remaining time.Duration
	min       time.Duration // the least time a request must have left
	app       *errdetails.ApplicationError
}

// Error describes the rejection for logs.
func (e *tooShortError) Error() string {
	return "deadline: " + e.method + " refused: " + e.remaining.String() + " left, want more than " + e.min.String()
}

// As converts the rejection to its *errdetails.ApplicationError.
func (e *tooShortError) As(target any) bool {
	if p, ok := target.(**errdetails.ApplicationError); ok {
		*p = e.app
		return true
	}
	return false
}

// GRPCStatus returns the status the rejection is sent as, built from its
// ApplicationError.
func (e *tooShortError) GRPCStatus() *status.Status { return e.app.GRPCStatus() }

// TooShort returns the time the request had left and the least it needed,
// for telemetry.
func (e *tooShortError) TooShort() (remaining, min time.Duration) { return e.remaining, e.min }
