package bench

import (
	"context"
	"errors"
	"io"
	"testing"
	"testing/synctest"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/interceptors/metrics"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
	"github.com/bulwarkrpc/bulwark/internal/track"
)

// TestMetricsMatchGoGRPCMiddleware runs the same calls through Bulwark's
// metrics and go-grpc-middleware's Prometheus provider and checks that every
// grpc_* family has the same name, help, type, label sets and counts, so
// dashboards built on the provider keep working.
func TestMetricsMatchGoGRPCMiddleware(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bw, err := metrics.New()
		if err != nil {
			t.Fatal(err)
		}
		ps := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
		pc := grpcprom.NewClientMetrics(grpcprom.WithClientHandlingTimeHistogram())
		calls := 0
		svc := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			calls++
			if calls%3 == 0 {
				return nil, status.Error(codes.Unavailable, "down")
			}
			return &testpb.UnaryResponse{}, nil
		}}
		env := grpctest.Start(t, svc, grpctest.Options{
			Server: append(bw.ServerOptions(),
				grpc.ChainUnaryInterceptor(ps.UnaryServerInterceptor()),
				grpc.ChainStreamInterceptor(ps.StreamServerInterceptor()),
			),
			Dial: append(bw.DialOptions(),
				grpc.WithChainUnaryInterceptor(pc.UnaryClientInterceptor()),
				grpc.WithChainStreamInterceptor(pc.StreamClientInterceptor()),
			),
		})
		for range 7 {
			_, _ = env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
		}
		ss, err := env.Client.ServerStream(t.Context(), &testpb.ServerStreamRequest{Count: 4})
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := ss.Recv(); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
		bidi, err := env.Client.BidiStream(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			_ = bidi.Send(&testpb.BidiStreamRequest{Text: "x"})
			_, _ = bidi.Recv()
		}
		_ = bidi.CloseSend()
		_, _ = bidi.Recv()

		got, want := gather(t, bw), gather(t, ps, pc)
		if len(want) < 10 {
			t.Fatalf("the provider reported only %d families", len(want))
		}
		for name, w := range want {
			g, ok := got[name]
			if !ok {
				t.Errorf("Bulwark lacks %s", name)
				continue
			}
			if g.GetHelp() != w.GetHelp() || g.GetType() != w.GetType() {
				t.Errorf("%s: help/type %q %v; provider %q %v", name, g.GetHelp(), g.GetType(), w.GetHelp(), w.GetType())
			}
			if gs, ws := series(g), series(w); !equalSeries(gs, ws) {
				t.Errorf("%s:\n Bulwark  %v\n provider %v", name, gs, ws)
			}
		}
	})
}

func gather(t *testing.T, cs ...prometheus.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(cs...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		if len(mf.GetName()) > 5 && mf.GetName()[:5] == "grpc_" {
			out[mf.GetName()] = mf
		}
	}
	return out
}

// series maps each label set of a family to its count: the counter value,
// or the number of observations of a histogram.
func series(mf *dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for _, m := range mf.GetMetric() {
		key := ""
		for _, l := range m.GetLabel() {
			key += l.GetName() + "=" + l.GetValue() + ","
		}
		if h := m.GetHistogram(); h != nil {
			out[key] = float64(h.GetSampleCount())
		} else {
			out[key] = m.GetCounter().GetValue()
		}
	}
	return out
}

func equalSeries(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

var benchInfo = &grpc.UnaryServerInfo{FullMethod: "/greeter.v1.Greeter/SayHello"}

func okHandler(ctx context.Context, req any) (any, error) { return req, nil }

func okInvoker(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
	return nil
}

// BenchmarkMetricsServerUnary compares the server-side cost per unary call.
func BenchmarkMetricsServerUnary(b *testing.B) {
	bw, err := metrics.New()
	if err != nil {
		b.Fatal(err)
	}
	ps := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	for _, bc := range []struct {
		name string
		ic   grpc.UnaryServerInterceptor
	}{
		{"impl=bulwark", bulwarkServerInterceptor(bw)},
		{"impl=grpcmiddleware", ps.UnaryServerInterceptor()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_, _ = bc.ic(ctx, 1, benchInfo, okHandler)
			}
		})
	}
}

// BenchmarkMetricsClientUnary compares the client-side cost per unary call.
func BenchmarkMetricsClientUnary(b *testing.B) {
	bw, err := metrics.New()
	if err != nil {
		b.Fatal(err)
	}
	pc := grpcprom.NewClientMetrics(grpcprom.WithClientHandlingTimeHistogram())
	for _, bc := range []struct {
		name string
		ic   grpc.UnaryClientInterceptor
	}{
		{"impl=bulwark", bulwarkClientInterceptor(bw)},
		{"impl=grpcmiddleware", pc.UnaryClientInterceptor()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_ = bc.ic(ctx, benchInfo.FullMethod, 1, 2, nil, okInvoker)
			}
		})
	}
}

// bulwarkServerInterceptor and bulwarkClientInterceptor return the unary
// interceptors that m's ServerOptions and DialOptions install, the ones
// the chains place.
func bulwarkServerInterceptor(m *metrics.Metrics) grpc.UnaryServerInterceptor {
	u, _ := track.Of(m).ServerInterceptors()
	return u
}

func bulwarkClientInterceptor(m *metrics.Metrics) grpc.UnaryClientInterceptor {
	u, _ := track.Of(m).ClientInterceptors()
	return u
}
