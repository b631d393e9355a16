package opentelemetry_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/stats"
	grpcotel "google.golang.org/grpc/stats/opentelemetry"

	"github.com/bulwarkrpc/bulwark/interceptors/opentelemetry"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
	"github.com/bulwarkrpc/bulwark/internal/track"
)

// BenchmarkLayer is what Telemetry adds to one unary call on each side:
// the client's call and attempt interceptors and its stats handler's
// events (TagRPC, Begin, OutPayload, InPayload, End), and the server's
// stats handler events and interceptor, around invokers that do nothing.
// "baseline" runs the same harness with interceptors that only pass the
// call on and stats handlers that do nothing: subtract it to get
// Telemetry's own cost.
func BenchmarkLayer(b *testing.B) {
	sdk := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer func() { _ = sdk.Shutdown(context.Background()) }()
	for _, c := range []struct {
		name string
		opt  opentelemetry.Option
	}{
		{"baseline", nil},
		{"noop", opentelemetry.WithMeterProvider(noop.NewMeterProvider())},
		{"sdk", opentelemetry.WithMeterProvider(sdk)},
	} {
		b.Run(c.name, func(b *testing.B) {
			var opts []opentelemetry.Option
			if c.opt != nil {
				opts = append(opts, c.opt)
			}
			tel, err := opentelemetry.New(opts...)
			if err != nil {
				b.Fatal(err)
			}
			cc, err := grpc.NewClient("passthrough:///bench", grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				b.Fatal(err)
			}
			defer cc.Close()
			attempt, _ := track.Of(tel).AttemptInterceptors()
			call := tel.UnaryClientInterceptor()
			ch, sh := track.Of(tel).StatsHandlers()
			srv := tel.UnaryServerInterceptor()
			if c.opt == nil {
				call, attempt = passClient, passClient
				ch, sh = nopHandler{}, nopHandler{}
				srv = func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
					return h(ctx, req)
				}
			}
			const method = "/bulwark.testing.v1.TestService/Unary"
			tag := &stats.RPCTagInfo{FullMethodName: method}
			begin, end := &stats.Begin{Client: true}, &stats.End{Client: true}
			out, in := &stats.OutPayload{Client: true, CompressedLength: 10}, &stats.InPayload{Client: true, CompressedLength: 12}
			sin, sout, send := &stats.InPayload{CompressedLength: 10}, &stats.OutPayload{CompressedLength: 12}, &stats.End{}
			info := &grpc.UnaryServerInfo{FullMethod: method}
			handler := func(ctx context.Context, req any) (any, error) { return req, nil }
			transport := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
				ctx = ch.TagRPC(ctx, tag)
				ch.HandleRPC(ctx, begin)
				ch.HandleRPC(ctx, out)
				sctx := sh.TagRPC(context.Background(), tag)
				sh.HandleRPC(sctx, sin)
				_, err := srv(sctx, req, info, handler)
				sh.HandleRPC(sctx, sout)
				sh.HandleRPC(sctx, send)
				ch.HandleRPC(ctx, in)
				ch.HandleRPC(ctx, end)
				return err
			}
			inner := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
				return attempt(ctx, method, req, reply, cc, transport, opts...)
			}
			ctx := context.Background()
			callOpts := []grpc.CallOption{grpc.StaticMethod()}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := call(ctx, method, nil, nil, cc, inner, callOpts...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCall makes unary calls over bufconn with a server and a client
// that record nothing (bare), that use grpc-go's stats/opentelemetry, and
// that use Telemetry, both with an SDK MeterProvider and a ManualReader;
// bulwark-noop is Telemetry with noop.NewMeterProvider(), whose extra
// allocations are gRPC's stats events, made for any stats.Handler.
func BenchmarkCall(b *testing.B) {
	for _, c := range []struct {
		name  string
		setup func(mp *sdkmetric.MeterProvider) ([]grpc.ServerOption, []grpc.DialOption)
	}{
		{"bare", func(*sdkmetric.MeterProvider) ([]grpc.ServerOption, []grpc.DialOption) { return nil, nil }},
		{"grpc-go", func(mp *sdkmetric.MeterProvider) ([]grpc.ServerOption, []grpc.DialOption) {
			o := grpcotel.Options{MetricsOptions: grpcotel.MetricsOptions{MeterProvider: mp}}
			return []grpc.ServerOption{grpcotel.ServerOption(o)}, []grpc.DialOption{grpcotel.DialOption(o)}
		}},
		{"bulwark-noop", func(*sdkmetric.MeterProvider) ([]grpc.ServerOption, []grpc.DialOption) {
			tel, err := opentelemetry.New(opentelemetry.WithMeterProvider(noop.NewMeterProvider()))
			if err != nil {
				b.Fatal(err)
			}
			return tel.ServerOptions(), tel.DialOptions()
		}},
		{"bulwark", func(mp *sdkmetric.MeterProvider) ([]grpc.ServerOption, []grpc.DialOption) {
			tel, err := opentelemetry.New(opentelemetry.WithMeterProvider(mp))
			if err != nil {
				b.Fatal(err)
			}
			return tel.ServerOptions(), tel.DialOptions()
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			defer func() { _ = mp.Shutdown(context.Background()) }()
			so, do := c.setup(mp)
			env := grpctest.Start(b, &grpctest.Service{}, grpctest.Options{Server: so, Dial: do})
			ctx := context.Background()
			req := &testpb.UnaryRequest{Text: "hello"}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := env.Client.Unary(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func passClient(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return invoker(ctx, method, req, reply, cc, opts...)
}

type nopHandler struct{}

func (nopHandler) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (nopHandler) HandleRPC(context.Context, stats.RPCStats)                         {}
func (nopHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (nopHandler) HandleConn(context.Context, stats.ConnStats)                       {}
