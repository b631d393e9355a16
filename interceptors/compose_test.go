package interceptors

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/bulwarkrpc/bulwark/interceptors/requestid"
	"github.com/bulwarkrpc/bulwark/internal/callclock"
)

type key string

// recorder collects what the layers of a chain saw, in order.
type recorder struct {
	mu  sync.Mutex
	log []string
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, fmt.Sprintf(format, args...))
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.log, " ")
}

func unaryClientLayer(r *recorder, name string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		r.add("%s>%s", name, method)
		err := invoker(context.WithValue(ctx, key(name), name), method, req, reply, cc, append(opts, grpc.WaitForReady(true))...)
		r.add("<%s", name)
		return err
	}
}

// The composed chain runs its layers in gRPC's order, and the call's own
// invoker receives what the last layer passed on: the same context values,
// method, messages and every option the layers added.
func TestComposeUnaryClientOrder(t *testing.T) {
	r := &recorder{}
	chain := composeUnaryClient([]grpc.UnaryClientInterceptor{unaryClientLayer(r, "a"), unaryClientLayer(r, "b"), unaryClientLayer(r, "c")})
	var seen []string
	final := func(ctx context.Context, method string, req, reply any, _ *grpc.ClientConn, opts ...grpc.CallOption) error {
		r.add("call:%v:%v:%v", method, req, reply)
		for _, k := range []key{"a", "b", "c"} {
			seen = append(seen, fmt.Sprint(ctx.Value(k)))
		}
		waits := 0
		for _, o := range opts {
			if _, ok := o.(grpc.FailFastCallOption); ok {
				waits++
			}
		}
		seen = append(seen, fmt.Sprint(waits, " options"))
		return nil
	}
	if err := chain(context.Background(), "/s.S/M", "req", "reply", nil, final); err != nil {
		t.Fatal(err)
	}
	if got, want := r.String(), "a>/s.S/M b>/s.S/M c>/s.S/M call:/s.S/M:req:reply <c <b <a"; got != want {
		t.Errorf("order = %q; want %q", got, want)
	}
	if got, want := strings.Join(seen, ","), "a,b,c,3 options"; got != want {
		t.Errorf("the invoker saw %q; want %q", got, want)
	}
}

// A layer may call its next step several times at once (hedging): each call
// reaches the call's own invoker, with no data race on the options.
func TestComposeUnaryClientConcurrentAttempts(t *testing.T) {
	hedge := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				_ = invoker(ctx, method, req, reply, cc, append(opts, grpc.MaxCallRecvMsgSize(i+1))...)
			})
		}
		wg.Wait()
		return nil
	}
	r := &recorder{}
	chain := composeUnaryClient([]grpc.UnaryClientInterceptor{hedge, unaryClientLayer(r, "inner")})
	var calls sync.Map
	final := func(_ context.Context, _ string, _, _ any, _ *grpc.ClientConn, opts ...grpc.CallOption) error {
		for _, o := range opts {
			if m, ok := o.(grpc.MaxRecvMsgSizeCallOption); ok {
				calls.Store(m.MaxRecvMsgSize, true)
			}
		}
		return nil
	}
	if err := chain(context.Background(), "/s.S/M", nil, nil, nil, final, grpc.WaitForReady(true)); err != nil {
		t.Fatal(err)
	}
	n := 0
	calls.Range(func(any, any) bool { n++; return true })
	if n != 8 {
		t.Errorf("%d distinct attempts reached the invoker; want 8", n)
	}
}

// Two composed chains on one connection, one after the other: each chain's
// last layer reaches the invoker it was given.
func TestComposeUnaryClientNested(t *testing.T) {
	r := &recorder{}
	inner := composeUnaryClient([]grpc.UnaryClientInterceptor{unaryClientLayer(r, "c"), unaryClientLayer(r, "d")})
	outer := composeUnaryClient([]grpc.UnaryClientInterceptor{unaryClientLayer(r, "a"), unaryClientLayer(r, "b")})
	final := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
		r.add("call")
		return nil
	}
	// What grpc.WithChainUnaryInterceptor(outer, inner) does.
	err := outer(context.Background(), "/s.S/M", nil, nil, nil, func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
		return inner(ctx, method, req, reply, cc, final, opts...)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.String(), "a>/s.S/M b>/s.S/M c>/s.S/M d>/s.S/M call <d <c <b <a"; got != want {
		t.Errorf("order = %q; want %q", got, want)
	}
}

func TestComposeStreamClientOrder(t *testing.T) {
	r := &recorder{}
	layer := func(name string) grpc.StreamClientInterceptor {
		return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			r.add("%s>", name)
			cs, err := streamer(ctx, desc, cc, method, opts...)
			r.add("<%s", name)
			return cs, err
		}
	}
	chain := composeStreamClient([]grpc.StreamClientInterceptor{layer("a"), layer("b")})
	final := func(context.Context, *grpc.StreamDesc, *grpc.ClientConn, string, ...grpc.CallOption) (grpc.ClientStream, error) {
		r.add("open")
		return nil, nil
	}
	if _, err := chain(context.Background(), &grpc.StreamDesc{}, nil, "/s.S/M", final); err != nil {
		t.Fatal(err)
	}
	if got, want := r.String(), "a> b> open <b <a"; got != want {
		t.Errorf("order = %q; want %q", got, want)
	}
}

// The server's composed chain passes every layer the call's info, and the
// handler the context the last layer made.
func TestComposeUnaryServer(t *testing.T) {
	r := &recorder{}
	layer := func(name string) grpc.UnaryServerInterceptor {
		return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			r.add("%s>%s", name, info.FullMethod)
			resp, err := handler(context.WithValue(ctx, key(name), name), req)
			r.add("<%s", name)
			return resp, err
		}
	}
	chain := composeUnaryServer([]grpc.UnaryServerInterceptor{layer("a"), layer("b"), layer("c")})
	info := &grpc.UnaryServerInfo{FullMethod: "/s.S/M"}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("k", "v"))
	resp, err := chain(ctx, "req", info, func(ctx context.Context, req any) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		r.add("handle:%v:%v:%v:%v", req, ctx.Value(key("a")), ctx.Value(key("c")), md.Get("k"))
		return "resp", nil
	})
	if err != nil || resp != "resp" {
		t.Fatalf("chain = %v, %v", resp, err)
	}
	if got, want := r.String(), "a>/s.S/M b>/s.S/M c>/s.S/M handle:req:a:c:[v] <c <b <a"; got != want {
		t.Errorf("order = %q; want %q", got, want)
	}
}

type fakeServerStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *fakeServerStream) Context() context.Context { return s.ctx }

func TestComposeStreamServer(t *testing.T) {
	r := &recorder{}
	layer := func(name string) grpc.StreamServerInterceptor {
		return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			r.add("%s>%s", name, info.FullMethod)
			err := handler(srv, &fakeServerStream{ServerStream: ss, ctx: context.WithValue(ss.Context(), key(name), name)})
			r.add("<%s", name)
			return err
		}
	}
	chain := composeStreamServer([]grpc.StreamServerInterceptor{layer("a"), layer("b")})
	info := &grpc.StreamServerInfo{FullMethod: "/s.S/Stream"}
	ss := &fakeServerStream{ctx: context.WithValue(context.Background(), key("outer"), "outer")}
	err := chain("impl", ss, info, func(srv any, ss grpc.ServerStream) error {
		ctx := ss.Context()
		r.add("handle:%v:%v:%v:%v", srv, ctx.Value(key("outer")), ctx.Value(key("a")), ctx.Value(key("b")))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.String(), "a>/s.S/Stream b>/s.S/Stream handle:impl:outer:a:b <b <a"; got != want {
		t.Errorf("order = %q; want %q", got, want)
	}
}

// A request id an interceptor before the composed server chain put on the
// context is the call's id inside it, as it was with gRPC's chaining.
func TestComposeUnaryServerKeepsAnUpstreamRequestID(t *testing.T) {
	ch, err := NewServerChain()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	info := &grpc.UnaryServerInfo{FullMethod: "/s.S/M"}
	ctx := requestid.NewContext(context.Background(), "from-gateway")
	var got string
	_, err = ch.composedUnary(ctx, nil, info, func(ctx context.Context, _ any) (any, error) {
		got, _ = requestid.FromContext(ctx)
		return nil, nil
	})
	if err != nil || got != "from-gateway" {
		t.Fatalf("handler saw request id %q (%v); want the upstream one, from-gateway", got, err)
	}
}

// The composed chains read the clock once: a layer that runs a second
// after the call entered the chain still gets the entry time.
func TestComposedChainsShareOneClockRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		slow := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
			time.Sleep(time.Second)
			return next(ctx, req)
		}
		var got time.Time
		read := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
			got = callclock.Start(ctx)
			return next(ctx, req)
		}
		srv := composeUnaryServer([]grpc.UnaryServerInterceptor{slow, read})
		if _, err := srv(t.Context(), 1, &grpc.UnaryServerInfo{FullMethod: "/a.S/M"}, func(context.Context, any) (any, error) { return nil, nil }); err != nil {
			t.Fatal(err)
		}
		if !got.Equal(t0) {
			t.Errorf("server layer's start %v; want the chain's entry %v", got, t0)
		}

		t1 := time.Now()
		slowC := func(ctx context.Context, m string, req, reply any, cc *grpc.ClientConn, next grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			time.Sleep(time.Second)
			return next(ctx, m, req, reply, cc, opts...)
		}
		readC := func(ctx context.Context, m string, req, reply any, cc *grpc.ClientConn, next grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			got = callclock.StartOf(opts)
			return next(ctx, m, req, reply, cc, opts...)
		}
		cli := composeUnaryClient([]grpc.UnaryClientInterceptor{slowC, readC})
		if err := cli(t.Context(), "/a.S/M", 1, 2, nil, func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if !got.Equal(t1) {
			t.Errorf("client layer's start %v; want the chain's entry %v", got, t1)
		}
	})
}
