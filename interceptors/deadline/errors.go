package deadline

import (
	"errors"
	"time"

	"google.golang.org/grpc/status"
)

// ErrTooShort is matched, with errors.Is, by every error with which a
// server refuses a request for having too little time left.
var ErrTooShort = errors.New("deadline: too little time left")

// TooShortError is the error with which a server refuses a request for
// having too little time left. It matches ErrTooShort. Its status is
// DEADLINE_EXCEEDED with ErrorInfo reason DEADLINE_TOO_SHORT, unprocessed
// and not retryable.
type TooShortError struct {
	// Method is the full method name of the request.
	Method string
	// Remaining is the time the request had left (after the shave, when
	// the shave made it too short).
	Remaining time.Duration
	// Min is the least time a request must have left (WithMinRemaining).
	Min time.Duration

	st *status.Status
}

// Error describes the rejection for logs.
func (e *TooShortError) Error() string {
	return "deadline: " + e.Method + " refused: " + e.Remaining.String() + " left, want more than " + e.Min.String()
}

// Unwrap returns ErrTooShort.
func (e *TooShortError) Unwrap() error { return ErrTooShort }

// GRPCStatus returns the status the rejection is sent as.
func (e *TooShortError) GRPCStatus() *status.Status { return e.st }
