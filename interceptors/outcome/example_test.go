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
	for _, err := range []error{
		nil,
		status.Error(codes.NotFound, "no such user"),
		status.Error(codes.Unavailable, "connection refused"),
		errdetails.Database("", nil, errdetails.WithRetryable(false)),
		status.Error(codes.Internal, "bug"),
	} {
		fmt.Println(outcome.Of(ctx, err))
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
func ExampleClassifierFunc() {
	strict := outcome.ClassifierFunc(func(ctx context.Context, r outcome.Result) outcome.Outcome {
		if status.Code(r.Err) == codes.NotFound {
			return outcome.FatalFailure
		}
		return outcome.Default.Classify(ctx, r)
	})
	fmt.Println(strict.Classify(context.Background(), outcome.Result{Err: status.Error(codes.NotFound, "")}))
	// Output: fatal_failure
}
