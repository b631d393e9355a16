package retry

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrBudgetExhausted is matched, with errors.Is, by the error of a call
// whose retry the budget (WithBudget or WithTokenBucket) refused; see
// BudgetError.
var ErrBudgetExhausted = errors.New("retry: budget exhausted")

// ErrInvalidCallOption is matched by the error of a call that was passed a
// retry CallOption with an invalid value, such as WithMaxAttempts(9).
var ErrInvalidCallOption = errors.New("retry: invalid call option")

// BudgetError is the error of a call that the retry budget stopped: a retry
// was due but the budget of the target had nothing left. It stands for the
// last attempt's error: status.Code and status.FromError see that attempt's
// status, errors.As finds what it wraps (such as an
// *errdetails.ApplicationError), and errors.Is matches ErrBudgetExhausted
// too, so hooks and metrics can tell budget exhaustion apart.
//
// It does not match outcome.ErrLocalReject: the call did reach the server,
// so it is classified by its last error, and outcome.Unprocessed stays false.
type BudgetError struct {
	// Target is the target (cc.Target()) whose budget was empty.
	Target string
	// Attempts is how many attempts the call made.
	Attempts int
	// Err is the last attempt's error.
	Err error
}

// Error returns the last attempt's error text, prefixed with the budget's.
func (e *BudgetError) Error() string {
	return fmt.Sprintf("retry: budget exhausted for %q after %d attempts: %v", e.Target, e.Attempts, e.Err)
}

// Unwrap returns the last attempt's error.
func (e *BudgetError) Unwrap() error { return e.Err }

// Is reports whether target is ErrBudgetExhausted.
func (e *BudgetError) Is(target error) bool { return target == ErrBudgetExhausted }

// GRPCStatus returns the status of the last attempt.
func (e *BudgetError) GRPCStatus() *status.Status { return status.Convert(e.Err) }

// callOptionError fails a call passed an invalid CallOption.
type callOptionError struct {
	err error
}

func (e *callOptionError) Error() string { return e.err.Error() }

func (e *callOptionError) Unwrap() error { return e.err }

func (e *callOptionError) Is(target error) bool { return target == ErrInvalidCallOption }

func (e *callOptionError) GRPCStatus() *status.Status {
	return status.New(codes.Internal, e.err.Error())
}
