package retry

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrBudgetExhausted is matched, with errors.Is, by the error of a call
// whose retry the budget (WithBudget or WithTokenBucket) refused. That
// error stands for the last attempt's error: status.Code and
// status.FromError see that attempt's status, errors.As finds what it
// wraps (such as an *errdetails.ApplicationError), and its text names the
// target and the attempts made. It does not match outcome.ErrLocalReject:
// the call did reach the server, so it is classified by its last error,
// and it does not prove the request was not processed.
var ErrBudgetExhausted = errors.New("retry: budget exhausted")

// errInvalidCallOption is matched by the error of a call that was passed a
// retry CallOption with an invalid value, such as WithMaxAttempts(9).
var errInvalidCallOption = errors.New("retry: invalid call option")

// budgetError is the error of a call that the retry budget stopped: a
// retry was due but the budget of the target had nothing left. See
// ErrBudgetExhausted.
type budgetError struct {
	target   string // cc.Target(), whose budget was empty
	attempts int    // how many attempts the call made
	err      error  // the last attempt's error
}

func (e *budgetError) Error() string {
	return fmt.Sprintf("retry: budget exhausted for %q after %d attempts: %v", e.target, e.attempts, e.err)
}

func (e *budgetError) Unwrap() error { return e.err }

func (e *budgetError) Is(target error) bool { return target == ErrBudgetExhausted }

func (e *budgetError) GRPCStatus() *status.Status { return status.Convert(e.err) }

// callOptionError fails a call passed an invalid CallOption.
type callOptionError struct {
	err error
}

func (e *callOptionError) Error() string { return e.err.Error() }

func (e *callOptionError) Unwrap() error { return e.err }

func (e *callOptionError) Is(target error) bool { return target == errInvalidCallOption }

func (e *callOptionError) GRPCStatus() *status.Status {
	return status.New(codes.Internal, e.err.Error())
}
