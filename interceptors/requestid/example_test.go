package requestid_test

import (
	"context"
	"fmt"

	"google.golang.org/grpc/metadata"

	"github.com/bulwarkrpc/bulwark/interceptors/requestid"
)

func Example() {
	// A server receives a call that carries x-request-id.
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(requestid.MetadataKey, "checkout-7f3a"))
	id, ok := requestid.Incoming(ctx)
	if !ok {
		id = requestid.New()
	}
	ctx = requestid.NewContext(ctx, id)

	got, _ := requestid.FromContext(ctx)
	fmt.Println(got)
	// Output: checkout-7f3a
}
