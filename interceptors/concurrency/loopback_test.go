package concurrency_test

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency/limit"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// BenchmarkOverloadLoopback is TestAdaptiveLimitUnderOverload in real time
// over TCP on 127.0.0.1: a server with 8 modelled cores, each call 50 ms of
// work alone, offered 4 times its capacity (640 calls/s) for 6 s, each call
// with a 500 ms deadline; the last 3 s are measured. Each iteration runs the
// whole scenario, so run it with -benchtime=1x. It reports the p50 and p99
// latency of the calls that succeeded and the goodput as a share of
// capacity.
func BenchmarkOverloadLoopback(b *testing.B) {
	const (
		slots    = 8
		work     = 50 * time.Millisecond
		capacity = slots * float64(time.Second/work)
		deadline = 500 * time.Millisecond
	)
	for _, tc := range []struct {
		name    string
		limited bool
		load    float64
	}{
		{"load=0.5x/limiter=gradient", true, 0.5},
		{"load=4x/limiter=none", false, 4},
		{"load=4x/limiter=gradient", true, 4},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				r := loopbackRun(b, tc.limited, slots, work, tc.load*capacity, deadline)
				b.ReportMetric(float64(r.p50)/float64(time.Millisecond), "p50-ms")
				b.ReportMetric(float64(r.p99)/float64(time.Millisecond), "p99-ms")
				b.ReportMetric(100*r.goodput/capacity, "goodput-%")
				b.ReportMetric(float64(r.rejected)/float64(max(1, r.sent))*100, "rejected-%")
			}
		})
	}
}

func loopbackRun(b *testing.B, limited bool, slots int, work time.Duration, perSecond float64, deadline time.Duration) loadResult {
	c := newCPU(slots)
	defer c.abort()
	svc := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
		c.run(work)
		return &testpb.UnaryResponse{}, nil
	}}
	var opts []grpc.ServerOption
	if limited {
		g, err := limit.NewGradient(limit.GradientConfig{})
		if err != nil {
			b.Fatal(err)
		}
		opts = append(opts, grpc.ChainUnaryInterceptor(newLimiter(b, concurrency.WithAdaptive(g)).UnaryServerInterceptor()))
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer(opts...)
	testpb.RegisterTestServiceServer(srv, svc)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	return offer(b, testpb.NewTestServiceClient(conn), perSecond, 6*time.Second, 3*time.Second, deadline)
}
