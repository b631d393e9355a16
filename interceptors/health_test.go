package interceptors_test

import (
	"context"
	"maps"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/bulwarkrpc/bulwark/interceptors"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// Under a 10× overload (20 callers against a limit of 2) the server sheds
// most calls; Health/Check is answered throughout, and reports NOT_SERVING
// from the end of the first window of sustained shedding until the end of
// the first calm window, when it reports SERVING again.
func TestHealthReportsSustainedShedding(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const window = time.Second
		svc := &grpctest.Service{UnaryFunc: func(ctx context.Context, _ *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			time.Sleep(100 * time.Millisecond)
			return &testpb.UnaryResponse{}, nil
		}}
		hs := health.NewServer()
		start := time.Now()
		sc := serverChain(t, []interceptors.ServerOption{interceptors.WithConcurrency(concurrency.WithLimit(2)), interceptors.WithHealth(hs, window)})
		defer sc.Close()
		lis := bufconn.Listen(1 << 16)
		srv := grpc.NewServer(sc.ServerOptions()...)
		testpb.RegisterTestServiceServer(srv, svc)
		healthpb.RegisterHealthServer(srv, hs)
		served := make(chan struct{})
		go func() { defer close(served); _ = srv.Serve(lis) }()
		conn, err := grpc.NewClient("passthrough:///bufnet",
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
			grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close(); srv.Stop(); <-served }()
		client, hc := testpb.NewTestServiceClient(conn), healthpb.NewHealthClient(conn)
		check := func(when string) healthpb.HealthCheckResponse_ServingStatus {
			t.Helper()
			r, err := hc.Check(t.Context(), &healthpb.HealthCheckRequest{})
			if err != nil {
				t.Fatalf("%s: Health/Check failed: %v", when, err)
			}
			return r.Status
		}

		// Overload: 20 callers in a closed loop, each call 100 ms, a
		// refused caller back 100 ms later, for just under two windows.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		counts := map[codes.Code]int{}
		for range 20 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					_, err := client.Unary(t.Context(), &testpb.UnaryRequest{})
					mu.Lock()
					counts[status.Code(err)]++
					mu.Unlock()
					if err != nil {
						time.Sleep(100 * time.Millisecond)
					}
				}
			})
		}
		time.Sleep(window - time.Millisecond)
		if st := check("overloaded, before the first window ends"); st != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("status %v before a window of shedding ended; want SERVING", st)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if st := check("after a window of shedding"); st != healthpb.HealthCheckResponse_NOT_SERVING {
			mu.Lock()
			c := maps.Clone(counts)
			mu.Unlock()
			close(stop)
			wg.Wait()
			t.Fatalf("status %v after a window of shedding (%v); want NOT_SERVING", st, c)
		}
		// No call starts after the second window's last millisecond.
		time.Sleep(window - time.Millisecond)
		close(stop)
		wg.Wait()
		mu.Lock()
		if counts[codes.Unavailable] < 2*counts[codes.OK] || counts[codes.OK] == 0 || len(counts) != 2 {
			t.Errorf("calls by code %v; want most shed (UNAVAILABLE), the rest OK", counts)
		}
		mu.Unlock()
		// The second window was overloaded too; the third, calm, ends at
		// 3 windows from the start.
		time.Sleep(time.Until(start.Add(3*window)) - 1)
		synctest.Wait()
		if st := check("1ns before the calm window ends"); st != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Fatalf("status %v 1ns before the calm window ends; want NOT_SERVING", st)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if st := check("after a calm window"); st != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("status %v after a calm window; want SERVING", st)
		}
	})
}

// WithHealth needs a health server, a positive window and the limiter
// whose refusals it watches.
func TestWithHealthRefusesInvalidUse(t *testing.T) {
	for _, tc := range []struct {
		opts []interceptors.ServerOption
		want string
	}{
		{[]interceptors.ServerOption{interceptors.WithHealth(nil, time.Second), interceptors.WithConcurrency(concurrency.WithLimit(1))}, "WithHealth(0x0, 1s)"},
		{[]interceptors.ServerOption{interceptors.WithHealth(health.NewServer(), 0), interceptors.WithConcurrency(concurrency.WithLimit(1))}, "positive window"},
		{[]interceptors.ServerOption{interceptors.WithHealth(health.NewServer(), time.Second)}, "WithHealth: needs WithConcurrency"},
	} {
		if _, err := interceptors.NewServerChain(tc.opts...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewServerChain = %v; want an error with %q", err, tc.want)
		}
	}
}
