package logging_test

import (
	"context"
	"log/slog"
	"os"

	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/logging"
	"github.com/bulwarkrpc/bulwark/interceptors/requestid"
)

func Example() {
	// A server passes l.ServerOptions() to grpc.NewServer. Here a handler
	// that fails is called straight through the unary interceptor those
	// options install (reached by this package's tests).
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "grpc.time_ms" {
				return slog.Attr{}
			}
			return a
		},
	}))
	l, err := logging.New(logger)
	if err != nil {
		panic(err)
	}
	handler := func(context.Context, any) (any, error) {
		return nil, errdetails.Validation("email", "must contain @")
	}
	ctx := requestid.NewContext(context.Background(), "req-7")
	_, _ = l.UnaryServerInterceptor()(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/shop.v1.Users/Create"}, handler)
	// Output:
	// level=INFO msg="finished call" grpc.component=server grpc.service=shop.v1.Users grpc.method=Create grpc.method_type=unary grpc.code=InvalidArgument request_id=req-7 grpc.error="VALIDATION_ERROR: invalid email: must contain @" app.code=VALIDATION_ERROR app.retryable=false
}
