package requestid_test

import (
	"context"
	"fmt"

	"github.com/bulwarkrpc/bulwark/interceptors/requestid"
)

func Example() {
	// A client gives its call the request id of the job it runs for; the
	// client interceptor sends it as x-request-id, and the server's
	// interceptor puts it on the handler's context.
	ctx := requestid.NewContext(context.Background(), "checkout-7f3a")

	got, _ := requestid.FromContext(ctx)
	fmt.Println(got)
	// Output: checkout-7f3a
}
