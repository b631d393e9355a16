package metrics_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/metrics"
)

func Example() {
	m, err := metrics.New(metrics.WithHandlingTimeBuckets()) // no histograms, to keep the output short
	if err != nil {
		panic(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)

	// A server passes m.ServerOptions() to grpc.NewServer. Here a handler
	// that fails with a database error is called straight through the unary
	// interceptor those options install (reached by this package's tests).
	handler := func(context.Context, any) (any, error) { return nil, errdetails.Database("", nil) }
	_, _ = m.UnaryServerInterceptor()(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/shop.v1.Orders/Get"}, handler)

	families, _ := reg.Gather()
	for _, f := range families {
		for _, s := range f.GetMetric() {
			var labels []string
			for _, l := range s.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			fmt.Println(f.GetName(), strings.Join(labels, " "), s.GetCounter().GetValue())
		}
	}
	fmt.Println(testutil.CollectAndCount(m, "bulwark_server_application_errors_total"))
	// Output:
	// bulwark_server_application_errors_total app_code=DB_ERROR grpc_code=Unavailable grpc_method=Get grpc_service=shop.v1.Orders 1
	// grpc_server_handled_total grpc_code=Unavailable grpc_method=Get grpc_service=shop.v1.Orders grpc_type=unary 1
	// grpc_server_msg_received_total grpc_method=Get grpc_service=shop.v1.Orders grpc_type=unary 1
	// grpc_server_msg_sent_total grpc_method=Get grpc_service=shop.v1.Orders grpc_type=unary 0
	// grpc_server_started_total grpc_method=Get grpc_service=shop.v1.Orders grpc_type=unary 1
	// 1
}
