package attempt_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/internal/attempt"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// localReject is an error of the kind a Bulwark component returns when it
// refuses a call locally.
type localReject struct{}

func (localReject) Error() string        { return "full" }
func (localReject) Is(target error) bool { return target == outcome.ErrLocalReject }

func TestUnprocessed(t *testing.T) {
	overloaded := func() *errdetails.ApplicationError {
		e := errdetails.New(errdetails.CodeServerOverloaded, "busy")
		e.Unprocessed = true
		return e
	}()
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"local reject", localReject{}, true},
		{"overload rejection from the wire", overloaded.GRPCStatus().Err(), true},
		{"unavailable without proof", status.Error(codes.Unavailable, ""), false},
		{"db error", errdetails.Database("", nil), false},
	} {
		if got := attempt.Unprocessed(tc.err); got != tc.want {
			t.Errorf("%s: Unprocessed = %v; want %v", tc.name, got, tc.want)
		}
	}
}

func TestAttemptTimedOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		deadlineErr := status.Error(codes.DeadlineExceeded, "")
		// The local timer fired.
		ctx, cancel := attempt.WithTimeout(t.Context(), time.Second)
		time.Sleep(time.Second)
		synctest.Wait()
		if !attempt.TimedOut(ctx, deadlineErr) || attempt.TimedOut(ctx, nil) {
			t.Error("a fired attempt timeout is not recognised")
		}
		cancel()

		// The server's DEADLINE_EXCEEDED arrives at the attempt's deadline,
		// before the local timer has fired: still the attempt's timeout.
		ctx, cancel = attempt.WithTimeout(t.Context(), time.Second)
		defer cancel()
		time.Sleep(time.Second) // the timer fires at this instant, but has not run yet
		if !attempt.TimedOut(ctx, deadlineErr) {
			t.Error("a server DEADLINE_EXCEEDED at the attempt's deadline is not recognised")
		}
		if attempt.TimedOut(ctx, status.Error(codes.Unavailable, "")) && ctx.Err() == nil {
			t.Error("another code before the timer fired counted as the attempt timeout")
		}

		// The caller's deadline is earlier: its end is the caller's, never
		// the attempt's.
		caller, cancelCaller := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancelCaller()
		ctx, cancel2 := attempt.WithTimeout(caller, time.Second)
		defer cancel2()
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if attempt.TimedOut(ctx, deadlineErr) {
			t.Error("the caller's deadline counted as the attempt's")
		}
		if got := outcome.Default(caller, outcome.Attempt{Err: deadlineErr}); got != outcome.Ignored {
			t.Errorf("the caller's expired deadline classified as %v; want ignored", got)
		}
	})
}
