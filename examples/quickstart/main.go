package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	greeterv1 "github.com/bulwarkrpc/bulwark/examples/greeter/gen/greeter/v1"
	"github.com/bulwarkrpc/bulwark/interceptors"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/metrics"
)

// service answers SayHello and refuses an empty name.
type service struct {
	greeterv1.UnimplementedGreeterServer
}

func (service) SayHello(_ context.Context, req *greeterv1.HelloRequest) (*greeterv1.HelloReply, error) {
	if req.GetName() == "" {
		// An application error: the server's boundary sends it as
		// INVALID_ARGUMENT with its code, message and field.
		return nil, errdetails.Validation("name", "must not be empty")
	}
	return &greeterv1.HelloReply{Message: "Hello, " + req.GetName()}, nil
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(context.Background(), os.Stdout, log); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, log *slog.Logger) error {
	// One Metrics for both sides, on the program's own registry.
	m, err := metrics.New()
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(m); err != nil {
		return err
	}

	// The server: request id, log, metrics, error boundary, deadline check,
	// load shedding past 256 calls in flight.
	server, err := interceptors.NewServerChain(
		interceptors.WithLogger(log), interceptors.WithMetrics(m), interceptors.WithDeadline(),
		interceptors.WithConcurrency(concurrency.WithLimit(256)))
	if err != nil {
		return err
	}
	defer server.Close()
	srv := grpc.NewServer(server.ServerOptions()...)
	defer srv.Stop()
	greeterv1.RegisterGreeterServer(srv, service{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = srv.Serve(lis) }() // returns when srv stops

	// The client: the same, plus retries and a circuit breaker.
	client, err := interceptors.NewClientChain(
		interceptors.WithLogger(log), interceptors.WithMetrics(m), interceptors.WithDeadline(),
		interceptors.WithRetry(), interceptors.WithCircuitBreaker())
	if err != nil {
		return err
	}
	defer client.Close()
	conn, err := grpc.NewClient(lis.Addr().String(),
		append(client.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		return err
	}
	defer conn.Close()
	greeter := greeterv1.NewGreeterClient(conn)

	reply, err := greeter.SayHello(ctx, &greeterv1.HelloRequest{Name: "Ada"})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "reply:", reply.GetMessage())

	// The client chain decodes a failed call's status: errors.As finds the
	// server's ApplicationError, and status.Code still works.
	_, err = greeter.SayHello(ctx, &greeterv1.HelloRequest{})
	var appErr *errdetails.ApplicationError
	if !errors.As(err, &appErr) {
		return fmt.Errorf("want an application error, got %v", err)
	}
	fmt.Fprintf(out, "error: %s %s %q retryable=%t\n", status.Code(err), appErr.Code, appErr.Message, appErr.Retryable)
	for _, v := range appErr.Violations {
		fmt.Fprintf(out, "  field %s: %s\n", v.Field, v.Description)
	}

	// What the server counted, read from the registry.
	families, err := reg.Gather()
	if err != nil {
		return err
	}
	for _, f := range families {
		if f.GetName() != "grpc_server_handled_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "grpc_code" {
					fmt.Fprintf(out, "server handled: %s %.0f\n", l.GetValue(), s.GetCounter().GetValue())
				}
			}
		}
	}
	return nil
}
