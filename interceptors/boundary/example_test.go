package boundary_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/boundary"
	"github.com/bulwarkrpc/bulwark/interceptors/requestid"
)

func Example() {
	// Logs go to stdout here so the example can show them; a server passes
	// its own logger.
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	b, err := boundary.New(boundary.WithLogger(logger))
	if err != nil {
		panic(err)
	}
	ctx := requestid.NewContext(context.Background(), "req-1")

	// What a handler returned, and what the caller receives.
	sent := b.Convert(ctx, "/shop.v1.Orders/Get", errors.New("pq: password authentication failed"), nil)
	st := status.Convert(sent)
	fmt.Println(st.Code(), st.Message())

	ae, _ := errdetails.FromStatus(st)
	fmt.Println(ae.Code, ae.Domain, ae.RequestID)
	// Output:
	// level=ERROR msg="unknown error sent as INTERNAL" grpc.method=/shop.v1.Orders/Get request_id=req-1 error="pq: password authentication failed"
	// Internal internal error
	// INTERNAL_ERROR shop.v1.Orders req-1
}
