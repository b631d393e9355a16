package outcome_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
	rpcdetails "google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/internal/attempt"
	bulwarkv1 "github.com/bulwarkrpc/bulwark/proto/bulwark/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// localReject is an error of the kind a Bulwark component returns when it
// refuses a call locally.
type localReject struct{}

func (localReject) Error() string        { return "full" }
func (localReject) Is(target error) bool { return target == outcome.ErrLocalReject }

func withRetryInfo(t *testing.T, c codes.Code, d time.Duration) error {
	t.Helper()
	st, err := status.New(c, "m").WithDetails(&rpcdetails.RetryInfo{RetryDelay: durationpb.New(d)})
	if err != nil {
		t.Fatal(err)
	}
	return st.Err()
}

// withAppAndRetryInfo is a server's unprocessed, retryable SERVER_OVERLOADED
// whose RetryInfo holds d.
func withAppAndRetryInfo(t *testing.T, d time.Duration) error {
	t.Helper()
	st, err := status.New(codes.Unavailable, "busy").WithDetails(
		&rpcdetails.ErrorInfo{Reason: errdetails.CodeServerOverloaded},
		&bulwarkv1.ApplicationError{Code: errdetails.CodeServerOverloaded, Retryable: true, Unprocessed: true},
		&rpcdetails.RetryInfo{RetryDelay: durationpb.New(d)})
	if err != nil {
		t.Fatal(err)
	}
	return st.Err()
}

func TestDefaultTable(t *testing.T) {
	live := context.Background()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		r    outcome.Attempt
		want outcome.Outcome
	}{
		{"ok", live, outcome.Attempt{}, outcome.Success},
		{"invalid argument proves health", live, outcome.Attempt{Err: status.Error(codes.InvalidArgument, "")}, outcome.Success},
		{"not found", live, outcome.Attempt{Err: status.Error(codes.NotFound, "")}, outcome.Success},
		{"already exists", live, outcome.Attempt{Err: status.Error(codes.AlreadyExists, "")}, outcome.Success},
		{"permission denied", live, outcome.Attempt{Err: status.Error(codes.PermissionDenied, "")}, outcome.Success},
		{"unauthenticated", live, outcome.Attempt{Err: status.Error(codes.Unauthenticated, "")}, outcome.Success},
		{"failed precondition", live, outcome.Attempt{Err: status.Error(codes.FailedPrecondition, "")}, outcome.Success},
		{"out of range", live, outcome.Attempt{Err: status.Error(codes.OutOfRange, "")}, outcome.Success},
		{"unimplemented", live, outcome.Attempt{Err: status.Error(codes.Unimplemented, "")}, outcome.Success},
		{"canceled", canceled, outcome.Attempt{Err: status.Error(codes.Canceled, "")}, outcome.Ignored},
		{"aborted", live, outcome.Attempt{Err: status.Error(codes.Aborted, "")}, outcome.Ignored},
		{"caller's deadline", canceled, outcome.Attempt{Err: status.Error(codes.DeadlineExceeded, "")}, outcome.Ignored},
		{"attempt timeout with time left", live, outcome.Attempt{Err: status.Error(codes.DeadlineExceeded, ""), AttemptTimedOut: true}, outcome.RetryableFailure},
		{"server deadline", live, outcome.Attempt{Err: status.Error(codes.DeadlineExceeded, "")}, outcome.FatalFailure},
		{"deadline too short for the server", live, outcome.Attempt{Err: errdetails.New(errdetails.CodeDeadlineTooShort, "too short").GRPCStatus().Err()}, outcome.Ignored},
		{"unavailable", live, outcome.Attempt{Err: status.Error(codes.Unavailable, "")}, outcome.RetryableFailure},
		{"unavailable with stop pushback", live, outcome.Attempt{Err: status.Error(codes.Unavailable, ""), Pushback: -1, HasPushback: true}, outcome.FatalFailure},
		{"unavailable with pushback", live, outcome.Attempt{Err: status.Error(codes.Unavailable, ""), Pushback: time.Second, HasPushback: true}, outcome.RetryableFailure},
		{"resource exhausted bare", live, outcome.Attempt{Err: status.Error(codes.ResourceExhausted, "")}, outcome.FatalFailure},
		{"resource exhausted with pushback", live, outcome.Attempt{Err: status.Error(codes.ResourceExhausted, ""), Pushback: 0, HasPushback: true}, outcome.RetryableFailure},
		{"resource exhausted with RetryInfo", live, outcome.Attempt{Err: withRetryInfo(t, codes.ResourceExhausted, time.Second)}, outcome.RetryableFailure},
		{"unknown", live, outcome.Attempt{Err: status.Error(codes.Unknown, "")}, outcome.FatalFailure},
		{"internal", live, outcome.Attempt{Err: status.Error(codes.Internal, "")}, outcome.FatalFailure},
		{"data loss", live, outcome.Attempt{Err: status.Error(codes.DataLoss, "")}, outcome.FatalFailure},
		{"plain error", live, outcome.Attempt{Err: fmt.Errorf("boom")}, outcome.FatalFailure},
		{"local reject", live, outcome.Attempt{Err: fmt.Errorf("wrapped: %w", localReject{})}, outcome.LocalReject},
		{"app error not retryable on UNAVAILABLE", live, outcome.Attempt{Err: func() *errdetails.ApplicationError { e := errdetails.Database("", nil); e.Retryable = false; return e }().GRPCStatus().Err()}, outcome.FatalFailure},
		{"app error retryable on INTERNAL", live, outcome.Attempt{Err: func() *errdetails.ApplicationError {
			e := errdetails.New("FLAKY", "")
			e.GRPCCode = codes.Internal
			e.Retryable = true
			return e
		}()}, outcome.RetryableFailure},
		{"validation error is success", live, outcome.Attempt{Err: errdetails.Validation("f", "bad")}, outcome.Success},
		{"caller gone, handler returned UNAVAILABLE", canceled, outcome.Attempt{Err: errdetails.Database("", context.Canceled)}, outcome.Ignored},
		{"caller gone, server INTERNAL", canceled, outcome.Attempt{Err: status.Error(codes.Internal, "")}, outcome.Ignored},
		{"caller gone, attempt timeout still a failure", canceled, outcome.Attempt{Err: status.Error(codes.DeadlineExceeded, ""), AttemptTimedOut: true}, outcome.RetryableFailure},
		{"resource exhausted with negative RetryInfo", live, outcome.Attempt{Err: withRetryInfo(t, codes.ResourceExhausted, -time.Second)}, outcome.FatalFailure},
		{"unprocessed UNAVAILABLE with negative RetryInfo", live, outcome.Attempt{Err: withAppAndRetryInfo(t, -time.Second)}, outcome.Ignored},
		{"DB_ERROR decoded", live, outcome.Attempt{Err: errdetails.Database("", nil).GRPCStatus().Err()}, outcome.RetryableFailure},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := outcome.Default(tc.ctx, tc.r); got != tc.want {
				t.Errorf("Classify = %v; want %v", got, tc.want)
			}
		})
	}
}

func TestOutcomeMethods(t *testing.T) {
	for _, tc := range []struct {
		o               outcome.Outcome
		name            string
		failure, counts bool
	}{
		{outcome.Success, "success", false, true},
		{outcome.Ignored, "ignored", false, false},
		{outcome.RetryableFailure, "retryable_failure", true, true},
		{outcome.FatalFailure, "fatal_failure", true, true},
		{outcome.LocalReject, "local_reject", false, false},
		{outcome.Shed, "shed", false, false},
		{outcome.Outcome(99), "unknown", false, false},
	} {
		counts := tc.o == outcome.Success || attempt.Failure(tc.o) // what a breaker records
		if tc.o.String() != tc.name || attempt.Failure(tc.o) != tc.failure || counts != tc.counts {
			t.Errorf("%d: %q %v %v; want %q %v %v", tc.o, tc.o.String(), attempt.Failure(tc.o), counts, tc.name, tc.failure, tc.counts)
		}
	}
}

func BenchmarkClassifySuccess(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		if outcome.Default(ctx, outcome.Attempt{}) != outcome.Success {
			b.Fatal("not success")
		}
	}
}

func TestCallerDeadlinePassedBeforeTimerIsIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		time.Sleep(time.Second) // deadline reached; the timer has not run yet
		if got := outcome.Default(ctx, outcome.Attempt{Err: status.Error(codes.DeadlineExceeded, "")}); got != outcome.Ignored {
			t.Errorf("Classify = %v; want ignored: the caller's own deadline passed", got)
		}
	})
}

func TestShed(t *testing.T) {
	ctx := context.Background()
	overload := func() *errdetails.ApplicationError {
		e := errdetails.New(errdetails.CodeServerOverloaded, "busy")
		e.Unprocessed = true
		e.RetryAfter = 100 * time.Millisecond
		return e
	}()
	stop := func() *errdetails.ApplicationError {
		e := errdetails.New(errdetails.CodeServerOverloaded, "busy")
		e.Unprocessed = true
		e.RetryAfter = -1
		return e
	}()
	for _, tc := range []struct {
		name string
		r    outcome.Attempt
		want outcome.Outcome
	}{
		{"overload rejection", outcome.Attempt{Err: overload.GRPCStatus().Err(), Pushback: 100 * time.Millisecond, HasPushback: true}, outcome.Shed},
		{"overload rejection without the trailer", outcome.Attempt{Err: overload.GRPCStatus().Err()}, outcome.Shed},
		{"overload asking to stop", outcome.Attempt{Err: stop.GRPCStatus().Err(), Pushback: -1, HasPushback: true}, outcome.Ignored},
		{"overload asking to stop, status only", outcome.Attempt{Err: stop.GRPCStatus().Err()}, outcome.Ignored},
		{"server's open breaker", outcome.Attempt{Err: func() *errdetails.ApplicationError {
			e := errdetails.New(errdetails.CodeCircuitOpen, "open")
			e.Unprocessed = true
			return e
		}().GRPCStatus().Err()}, outcome.Shed},
		{"unavailable, not marked unprocessed", outcome.Attempt{Err: errdetails.Database("", nil).GRPCStatus().Err()}, outcome.RetryableFailure},
	} {
		got := outcome.Default(ctx, tc.r)
		if got != tc.want {
			t.Errorf("%s: Classify = %v; want %v", tc.name, got, tc.want)
		}
		if counts := got == outcome.Success || attempt.Failure(got); counts != (tc.want == outcome.RetryableFailure) {
			t.Errorf("%s: a breaker counts %v: %v", tc.name, got, counts)
		}
	}
	if !attempt.Retryable(outcome.Shed) || !attempt.Retryable(outcome.RetryableFailure) || attempt.Retryable(outcome.FatalFailure) || attempt.Retryable(outcome.Ignored) {
		t.Error("attempt.Retryable is wrong")
	}
}
