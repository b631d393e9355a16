package outcome_test

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
)

func Example() {
	ctx := context.Background()
	notRetryable := errdetails.Database("", nil)
	notRetryable.Retryable = false
	for _, err := range []error{
		nil,
		status.Error(codes.NotFound, "no such user"),
		status.Error(codes.Unavailable, "connection refused"),
		notRetryable,
		status.Error(codes.Internal, "bug"),
	} {
		fmt.Println(outcome.Default(ctx, outcome.Attempt{Err: err}))
	}
	// Output:
	// success
	// success
	// retryable_failure
	// fatal_failure
	// fatal_failure
}

// A classifier that also treats NOT_FOUND as a failure, for a service where
// it means a replica lost its data.
func ExampleClassifier() {
	strict := outcome.Classifier(func(ctx context.Context, a outcome.Attempt) outcome.Outcome {
		if status.Code(a.Err) == codes.NotFound {
			return outcome.FatalFailure
		}
		return outcome.Default(ctx, a)
	})
	fmt.Println(strict(context.Background(), outcome.Attempt{Err: status.Error(codes.NotFound, "")}))
	// Output: fatal_failure
}
