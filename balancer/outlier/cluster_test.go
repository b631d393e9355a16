package outlier_test

import (
	"context"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/test/bufconn"

	"github.com/bulwarkrpc/bulwark/balancer/outlier"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// behaviour decides the answer of a backend's n-th call (from 0).
type behaviour func(ctx context.Context, n int64) error

// backend is one in-process server on bufconn.
type backend struct {
	testpb.UnimplementedTestServiceServer
	addr   string
	lis    *bufconn.Listener
	srv    *grpc.Server
	calls  atomic.Int64
	behave atomic.Pointer[behaviour]
}

func (b *backend) Unary(ctx context.Context, _ *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
	n := b.calls.Add(1) - 1
	if f := b.behave.Load(); f != nil {
		if err := (*f)(ctx, n); err != nil {
			return nil, err
		}
	}
	return &testpb.UnaryResponse{Text: b.addr}, nil
}

func (b *backend) set(f behaviour) { b.behave.Store(&f) }

// cluster is n backends behind one client channel with a manual resolver.
type cluster struct {
	backends []*backend
	res      *manual.Resolver
	conn     *grpc.ClientConn
	client   testpb.TestServiceClient
	metrics  *outlier.Metrics
	target   string
}

// testPolicy is the name the tests register their Builder under.
const testPolicy = "bulwark_outlier_detection_test"

// startCluster starts n backends and a client that resolves the first
// `initial` of them (all when initial is 0), with the policy configured by
// config. It must run inside a synctest bubble; t.Cleanup closes all.
func startCluster(t *testing.T, n, initial int, config string, opts ...outlier.Option) *cluster {
	t.Helper()
	m := outlier.NewMetrics(false)
	bld, err := outlier.New(append([]outlier.Option{outlier.WithName(testPolicy), outlier.WithMetrics(m)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	balancer.Register(bld)
	return startClusterWith(t, n, bld, m, config, initial)
}

// startClusterWith is startCluster with a registered Builder of the
// caller's and its Metrics.
func startClusterWith(t *testing.T, n int, bld *outlier.Builder, m *outlier.Metrics, config string, initialOpt ...int) *cluster {
	t.Helper()
	initial := 0
	if len(initialOpt) > 0 {
		initial = initialOpt[0]
	}
	c := &cluster{metrics: m}
	lis := map[string]*bufconn.Listener{}
	for i := range n {
		b := &backend{addr: "backend-" + strconv.Itoa(i), lis: bufconn.Listen(1 << 16), srv: grpc.NewServer()}
		testpb.RegisterTestServiceServer(b.srv, b)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = b.srv.Serve(b.lis)
		}()
		t.Cleanup(func() {
			b.srv.Stop()
			<-done
		})
		lis[b.addr] = b.lis
		c.backends = append(c.backends, b)
	}
	if initial == 0 {
		initial = n
	}
	c.res = manual.NewBuilderWithScheme("outliertest")
	c.res.InitialState(c.state(c.backends[:initial]...))
	dialOpt, err := bld.DialOption(config)
	if err != nil {
		t.Fatal(err)
	}
	c.target = c.res.Scheme() + ":///svc"
	conn, err := grpc.NewClient(c.target,
		grpc.WithResolvers(c.res),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) { return lis[addr].DialContext(ctx) }),
		dialOpt,
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	c.conn, c.client = conn, testpb.NewTestServiceClient(conn)
	// Warm up until every resolved backend is connected and serving, then
	// start the counts from zero, so that round_robin shares evenly.
	for _, b := range c.backends[:initial] {
		c.runUntil(t, b, 1)
	}
	synctest.Wait() // every connection settled before the counts start
	for _, b := range c.backends {
		b.calls.Store(0)
	}
	return c
}

func (c *cluster) state(bs ...*backend) resolver.State {
	var s resolver.State
	for _, b := range bs {
		s.Endpoints = append(s.Endpoints, resolver.Endpoint{Addresses: []resolver.Address{{Addr: b.addr}}})
	}
	return s
}

// run makes n sequential calls and returns how many failed.
func (c *cluster) run(t *testing.T, n int) (failed int) {
	t.Helper()
	for range n {
		if _, err := c.client.Unary(t.Context(), &testpb.UnaryRequest{}); err != nil {
			failed++
		}
	}
	return failed
}

// runUntil makes sequential calls until backend b has served n calls.
func (c *cluster) runUntil(t *testing.T, b *backend, n int64) {
	t.Helper()
	for i := 0; b.calls.Load() < n; i++ {
		if i > 100*int(n)+100 {
			t.Fatalf("%s served %d calls, want %d", b.addr, b.calls.Load(), n)
		}
		if i%8 == 7 {
			// Let connections that are still being made become ready: on a
			// loaded machine, a call can be faster than a handshake.
			synctest.Wait()
		}
		_, _ = c.client.Unary(t.Context(), &testpb.UnaryRequest{})
	}
}

// calls returns each backend's call count.
func (c *cluster) calls() []int64 {
	out := make([]int64, len(c.backends))
	for i, b := range c.backends {
		out[i] = b.calls.Load()
	}
	return out
}

// ejected returns the gauge of ejected endpoints.
func (c *cluster) ejected(t *testing.T) float64 {
	t.Helper()
	return metricValue(t, c.metrics, "bulwark_outlier_ejected_endpoints", nil)
}

// ejections returns the ejection counter of one reason.
func (c *cluster) ejections(t *testing.T, reason string) float64 {
	t.Helper()
	return metricValue(t, c.metrics, "bulwark_outlier_ejections_total", map[string]string{"reason": reason})
}

// metricValue sums the samples of family name whose labels include want.
func metricValue(t *testing.T, c prometheus.Collector, name string, want map[string]string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for k, v := range want {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == k && lp.GetValue() == v {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}
