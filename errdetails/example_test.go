package errdetails_test

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
)

func Example() {
	// On the server: a database error whose cause stays private.
	sent := errdetails.Database("could not load the user", errors.New("dial tcp 10.0.0.5:5432: connection refused"))
	sent.RetryAfter, sent.Domain = 200*time.Millisecond, "users.example.com"

	// On the wire: a google.rpc.Status with standard details.
	st := sent.GRPCStatus()
	fmt.Println(st.Code(), st.Message())
	for _, d := range st.Proto().GetDetails() {
		fmt.Println(" ", d.MessageName())
	}

	// On the client: the typed error again, and the status still works.
	err := st.Err()
	if ae, ok := errdetails.FromError(err); ok {
		fmt.Println(ae.Code, ae.Retryable, ae.RetryAfter, ae.Domain)
	}
	fmt.Println(status.Code(err))
	// Output:
	// Unavailable could not load the user
	//   google.rpc.ErrorInfo
	//   bulwark.v1.ApplicationError
	//   google.rpc.RetryInfo
	// DB_ERROR true 200ms users.example.com
	// Unavailable
}

func ExampleValidation() {
	err := errdetails.Validation("email", "must contain @")
	ae, _ := errdetails.FromError(err.GRPCStatus().Err())
	fmt.Println(status.Code(ae), ae.Code, ae.Retryable)
	for _, v := range ae.Violations {
		fmt.Println(v.Field, "-", v.Description)
	}
	// Output:
	// InvalidArgument VALIDATION_ERROR false
	// email - must contain @
}

func ExampleRegistry_Register() {
	if err := errdetails.Default.Register("PAYMENT_DECLINED", codes.FailedPrecondition, false); err != nil {
		fmt.Println(err)
	}
	fmt.Println(errdetails.Default.Register("payment-declined", codes.FailedPrecondition, false))

	err := errdetails.New("PAYMENT_DECLINED", "card declined", errdetails.WithDetail("card_last4", "4242"))
	fmt.Println(err.GRPCCode, err.Details)
	// Output:
	// errdetails: Register("payment-declined"): errdetails: invalid application code: must start with a letter A to Z
	// FailedPrecondition map[cardLast4:4242]
}
