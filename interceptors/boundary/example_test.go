package boundary_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/boundary"
	"github.com/bulwarkrpc/bulwark/interceptors/requestid"
	"github.com/bulwarkrpc/bulwark/internal/wire"
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

	ae, _ := errdetails.FromError(st.Err())
	fmt.Println(ae.Code, ae.Domain, ae.RequestID)
	// Output:
	// level=ERROR msg="unknown error sent as INTERNAL" grpc.method=/shop.v1.Orders/Get request_id=req-1 error="pq: password authentication failed"
	// Internal internal error
	// INTERNAL_ERROR shop.v1.Orders req-1
}

// A frontend's handler passes on what its call to a backend returned: an
// internal backend's SERVER_OVERLOADED, unprocessed, with its DebugInfo
// (that backend runs with WithDebugInfo). The frontend's boundary sends it
// as its own answer: the code, safe message and retry hint stay; the
// request was processed (the handler ran), and the DebugInfo does not
// leave.
func Example_downstream() {
	backendSays := errdetails.New(errdetails.CodeServerOverloaded, "server overloaded", errdetails.WithCause(errors.New("queue full at 10.0.3.7:9000")))
	backendSays.Unprocessed, backendSays.RetryAfter = true, 200*time.Millisecond
	// What the frontend's client decoded from the backend's status.
	received, _ := errdetails.FromError(wire.DebugStatus(backendSays).Err())

	frontend, err := boundary.New(boundary.WithLogger(slog.New(slog.DiscardHandler)), boundary.WithDomain("frontend.example.com"))
	if err != nil {
		panic(err)
	}
	ctx := requestid.NewContext(context.Background(), "req-7")
	handlerErr := fmt.Errorf("load cart: %w", received)
	st := status.Convert(frontend.Convert(ctx, "/shop.v1.Cart/Get", handlerErr, nil))

	ae, _ := errdetails.FromError(st.Err())
	fmt.Println(st.Code(), ae.Code, st.Message())
	fmt.Println("unprocessed:", ae.Unprocessed, "retry after:", ae.RetryAfter)
	fmt.Println("domain:", ae.Domain, "request id:", ae.RequestID)
	fmt.Println("debug info:", ae.Debug != nil)
	// Output:
	// Unavailable SERVER_OVERLOADED server overloaded
	// unprocessed: false retry after: 200ms
	// domain: frontend.example.com request id: req-7
	// debug info: false
}
