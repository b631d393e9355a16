package loadreport_test

import (
	"context"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/test/bufconn"

	"github.com/bulwarkrpc/bulwark/balancer/loadreport"
	_ "github.com/bulwarkrpc/bulwark/balancer/outlier"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type server struct {
	testpb.UnimplementedTestServiceServer
	calls atomic.Int64
}

func (s *server) Unary(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
	s.calls.Add(1)
	return &testpb.UnaryResponse{}, nil
}

// Three replicas whose limiters hold different numbers of permits report
// different utilizations; weighted_round_robin, under the outlier policy,
// moves calls away from the busiest.
func TestWeightedRoundRobinSteersAwayFromBusyReplica(t *testing.T) {
	perCall := `{"blackoutPeriod":"1s","weightUpdatePeriod":"0.1s"}`
	for _, tc := range []struct {
		name   string
		held   []int // permits held of 10, per replica
		wrr    string
		warmup time.Duration
		check  func(share []float64) bool
	}{
		{"per call", []int{8, 4, 1}, perCall, 5 * time.Second, busiestLoses},
		{"out of band", []int{8, 4, 1}, `{"enableOobLoadReport":true,"oobReportingPeriod":"1s","blackoutPeriod":"1s","weightUpdatePeriod":"0.1s"}`, 70 * time.Second, busiestLoses},
		{"equal load: even shares", []int{3, 3, 3}, perCall, 5 * time.Second, func(share []float64) bool {
			for _, s := range share {
				if s < 0.25 || s > 0.42 {
					return false
				}
			}
			return true
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				held := tc.held
				servers := make([]*server, len(held))
				lis := map[string]*bufconn.Listener{}
				var state resolver.State
				for i, h := range held {
					l, err := concurrency.New(concurrency.WithLimit(10))
					if err != nil {
						t.Fatal(err)
					}
					holdCalls(t, l, h)
					r, err := loadreport.New(l)
					if err != nil {
						t.Fatal(err)
					}
					srv := grpc.NewServer(append([]grpc.ServerOption{grpc.ChainUnaryInterceptor(l.UnaryServerInterceptor())}, r.ServerOptions()...)...)
					if err := r.Register(srv); err != nil {
						t.Fatal(err)
					}
					servers[i] = &server{}
					testpb.RegisterTestServiceServer(srv, servers[i])
					addr := "replica-" + strconv.Itoa(i)
					bl := bufconn.Listen(1 << 16)
					lis[addr] = bl
					done := make(chan struct{})
					go func() {
						defer close(done)
						_ = srv.Serve(bl)
					}()
					t.Cleanup(func() {
						srv.Stop()
						<-done
					})
					state.Endpoints = append(state.Endpoints, resolver.Endpoint{Addresses: []resolver.Address{{Addr: addr}}})
				}
				res := manual.NewBuilderWithScheme("wrrtest")
				res.InitialState(state)
				conn, err := grpc.NewClient("wrrtest:///svc",
					grpc.WithResolvers(res),
					grpc.WithTransportCredentials(insecure.NewCredentials()),
					grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) { return lis[addr].DialContext(ctx) }),
					grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"bulwark_outlier_detection":{"childPolicy":[{"weighted_round_robin":`+tc.wrr+`}]}}]}`),
				)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = conn.Close() })
				client := testpb.NewTestServiceClient(conn)

				// Steady traffic, 30 calls per 100ms of the bubble's clock.
				drive := func(d time.Duration) {
					for range d / (100 * time.Millisecond) {
						for range 30 {
							if _, err := client.Unary(t.Context(), &testpb.UnaryRequest{}); err != nil {
								t.Fatal(err)
							}
						}
						time.Sleep(100 * time.Millisecond)
					}
				}
				drive(tc.warmup)
				before := make([]int64, len(servers))
				for i, s := range servers {
					before[i] = s.calls.Load()
				}
				drive(3 * time.Second)
				share := make([]float64, len(servers))
				var total float64
				for i, s := range servers {
					share[i] = float64(s.calls.Load() - before[i])
					total += share[i]
				}
				for i := range share {
					share[i] /= total
				}
				t.Logf("shares: %.3f", share)
				if !tc.check(share) {
					t.Errorf("shares %.3f for permits held %v", share, held)
				}
			})
		})
	}
}

// busiestLoses: the first (busiest) replica gets under a fifth of the calls,
// and at least 0.2 less than the idlest.
func busiestLoses(share []float64) bool { return share[0] < 0.2 && share[0] < share[2]-0.2 }

// holdCalls keeps n calls in l's server interceptor until the test ends,
// so that l reports them in flight.
func holdCalls(t *testing.T, l *concurrency.Limiter, n int) {
	t.Helper()
	release := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() { close(release); wg.Wait() })
	intercept := l.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/bulwark.testing.v1.TestService/Unary"}
	for range n {
		started := make(chan struct{})
		wg.Go(func() {
			_, err := intercept(context.Background(), nil, info, func(context.Context, any) (any, error) {
				close(started)
				<-release
				return nil, nil
			})
			if err != nil {
				t.Error(err)
			}
		})
		<-started
	}
}
