package interceptors_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/interceptors"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// Under a 10× overload of a shedding server, and with its breakers open,
// Health/Check is still answered: the health service is exempt from
// shedding and breaking by default. A method named with WithExempt is too.
func TestExemptMethodsAreNotShedOrBroken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		svc := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			<-release
			return &testpb.UnaryResponse{}, nil
		}}
		sc := serverChain(t, []interceptors.ServerOption{interceptors.WithConcurrency(concurrency.WithLimit(2)),
			interceptors.WithCircuitBreaker(), interceptors.WithExempt("/bulwark.testing.v1.TestService/UnaryUnsafe")})
		cc := clientChain(t, []interceptors.ClientOption{interceptors.WithCircuitBreaker(),
			interceptors.WithExempt("/bulwark.testing.v1.TestService/UnaryUnsafe")})
		lis := bufconn.Listen(1 << 16)
		srv := grpc.NewServer(sc.ServerOptions()...)
		testpb.RegisterTestServiceServer(srv, svc)
		healthpb.RegisterHealthServer(srv, health.NewServer())
		served := make(chan struct{})
		go func() { defer close(served); _ = srv.Serve(lis) }()
		conn, err := grpc.NewClient("passthrough:///bufnet", append(cc.DialOptions(),
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
			grpc.WithTransportCredentials(insecure.NewCredentials()))...)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close(); srv.Stop(); <-served }()
		env := struct{ Client testpb.TestServiceClient }{testpb.NewTestServiceClient(conn)}
		hc := healthpb.NewHealthClient(conn)

		// 20 calls against a limit of 2: 2 run, 18 are shed.
		var wg sync.WaitGroup
		var shed, ok sync.Map
		for i := range 20 {
			wg.Go(func() {
				_, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
				if status.Code(err) == codes.Unavailable {
					shed.Store(i, true)
				} else if err == nil {
					ok.Store(i, true)
				}
			})
		}
		synctest.Wait()
		n := 0
		shed.Range(func(any, any) bool { n++; return true })
		if n != 18 {
			t.Fatalf("%d of 20 calls shed; want 18", n)
		}
		for range 10 {
			if resp, err := hc.Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("Health/Check under overload: %v, %v; want SERVING", resp, err)
			}
		}
		// Breakers forced open on both sides: the exempt calls still pass.
		sc.Circuit().ServerBreaker("/grpc.health.v1.Health/Check").SetMode(breaker.ModeForcedOpen)
		sc.Circuit().ServerBreaker("/bulwark.testing.v1.TestService/UnaryUnsafe").SetMode(breaker.ModeForcedOpen)
		cc.Circuit().ClientBreaker(target, "").SetMode(breaker.ModeForcedOpen)
		if _, err := hc.Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
			t.Errorf("Health/Check with the breakers open: %v", err)
		}
		if _, err := env.Client.UnaryUnsafe(t.Context(), &testpb.UnaryUnsafeRequest{}); err != nil {
			t.Errorf("an exempt method with the breakers open: %v", err)
		}
		if _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}); !errorIsOpen(err) {
			t.Errorf("a method that is not exempt, with the breakers open: %v; want the breaker's refusal", err)
		}
		close(release)
		wg.Wait()
	})
}

func errorIsOpen(err error) bool {
	return status.Code(err) == codes.Unavailable && strings.Contains(status.Convert(err).Message(), "circuit")
}

func TestExemptRefusesInvalidNames(t *testing.T) {
	for _, name := range []string{"", "/x", "a b", "/pkg.S/M/extra/"} {
		_, err := interceptors.NewServerChain(interceptors.WithExempt(name))
		if err == nil || !strings.Contains(err.Error(), "WithExempt") {
			t.Errorf("WithExempt(%q): %v; want an error naming WithExempt", name, err)
		}
	}
	if _, err := interceptors.NewClientChain(interceptors.WithExemptFunc(nil)); err == nil || !strings.Contains(err.Error(), "WithExemptFunc(nil)") {
		t.Errorf("WithExemptFunc(nil): %v", err)
	}
	if _, err := interceptors.NewServerChain(interceptors.WithExempt("pkg.Service", "/pkg.Service/Method"),
		interceptors.WithExemptFunc(func(string) bool { return false })); err != nil {
		t.Errorf("valid names refused: %v", err)
	}
}
