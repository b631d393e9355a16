package stacks

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/interceptors"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/metrics"
)

// The proposed stacks measure, without changing Bulwark, what two changes
// to its chains would save on a whole call:
//
//   - bulwark-onechain: each side's interceptors run as one interceptor
//     (Chain*), whose per-call frames, with the next-layer functions bound
//     to them once, come from a sync.Pool: no closure per layer per call,
//     where grpc-go's chaining makes one per layer but the last.
//   - bulwark-localdeadline: the client's default timeout is enforced by a
//     local timer but not sent as grpc-timeout (LocalDeadline), so the
//     server arms no timer of its own; the caller's own deadlines are sent
//     as before.
//   - bulwark-proposed: both.
//
// They are sketches for measurement: the frames assume that no layer
// keeps a next function after its call returns (true of Bulwark's unary
// success path; hedged attempts would need the frame to outlive them).

// ChainUnaryClient runs ics, outermost first, as one interceptor.
func ChainUnaryClient(ics []grpc.UnaryClientInterceptor) grpc.UnaryClientInterceptor {
	if len(ics) == 0 {
		return nil
	}
	pool := sync.Pool{New: func() any { return newClientFrame(ics) }}
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		f := pool.Get().(*clientFrame)
		f.final = invoker
		err := ics[0](ctx, method, req, reply, cc, f.next[0], opts...)
		f.final = nil
		pool.Put(f)
		return err
	}
}

type clientFrame struct {
	final grpc.UnaryInvoker
	next  []grpc.UnaryInvoker // next[i] is what layer i calls
}

func newClientFrame(ics []grpc.UnaryClientInterceptor) *clientFrame {
	f := &clientFrame{next: make([]grpc.UnaryInvoker, len(ics))}
	for i := range ics {
		if i == len(ics)-1 {
			f.next[i] = func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
				return f.final(ctx, method, req, reply, cc, opts...)
			}
			continue
		}
		ic := ics[i+1]
		f.next[i] = func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
			return ic(ctx, method, req, reply, cc, f.next[i+1], opts...)
		}
	}
	return f
}

// ChainUnaryServer runs ics, outermost first, as one interceptor.
func ChainUnaryServer(ics []grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	if len(ics) == 0 {
		return nil
	}
	pool := sync.Pool{New: func() any { return newServerFrame(ics) }}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		f := pool.Get().(*serverFrame)
		f.final, f.info = handler, info
		resp, err := ics[0](ctx, req, info, f.next[0])
		f.final, f.info = nil, nil
		pool.Put(f)
		return resp, err
	}
}

type serverFrame struct {
	final grpc.UnaryHandler
	info  *grpc.UnaryServerInfo
	next  []grpc.UnaryHandler
}

func newServerFrame(ics []grpc.UnaryServerInterceptor) *serverFrame {
	f := &serverFrame{next: make([]grpc.UnaryHandler, len(ics))}
	for i := range ics {
		if i == len(ics)-1 {
			f.next[i] = func(ctx context.Context, req any) (any, error) { return f.final(ctx, req) }
			continue
		}
		ic := ics[i+1]
		f.next[i] = func(ctx context.Context, req any) (any, error) { return ic(ctx, req, f.info, f.next[i+1]) }
	}
	return f
}

// LocalDeadline gives a call without a deadline one of timeout, enforced
// here by a timer, but hidden from gRPC, so that it is not sent to the
// server as grpc-timeout: when it expires, the call is cancelled (and the
// server's context with it, by RST_STREAM).
func LocalDeadline(timeout time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if _, ok := ctx.Deadline(); ok {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		tctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return invoker(hiddenDeadline{tctx}, method, req, reply, cc, opts...)
	}
}

// hiddenDeadline is a context whose deadline gRPC does not see: Done,
// Err and Value (through which the context package finds the cancelCtx
// beneath, so children need no goroutine) are the embedded context's.
type hiddenDeadline struct{ context.Context }

func (hiddenDeadline) Deadline() (time.Time, bool) { return time.Time{}, false }

// proposed builds Bulwark's stack with the changes above: oneChain runs
// each side as one interceptor, localDeadline replaces the client's
// deadline layer by LocalDeadline.
func proposed(log, oneChain, localDeadline bool) (Stack, error) {
	mc, err := metrics.New()
	if err != nil {
		return Stack{}, err
	}
	ms, err := metrics.New()
	if err != nil {
		return Stack{}, err
	}
	copts := []interceptors.ClientOption{
		interceptors.WithMetrics(mc), interceptors.WithRetry(),
		interceptors.WithConcurrency(concurrency.WithLimit(Limit)), interceptors.WithCircuitBreaker(),
	}
	if !localDeadline {
		copts = append(copts, interceptors.WithDeadline())
	}
	sopts := []interceptors.ServerOption{
		interceptors.WithMetrics(ms), interceptors.WithDeadline(),
		interceptors.WithConcurrency(concurrency.WithLimit(Limit)), interceptors.WithCircuitBreaker(),
	}
	if log {
		copts = append(copts, interceptors.WithLogger(Logger()))
		sopts = append(sopts, interceptors.WithLogger(Logger()))
	}
	cc, err := interceptors.NewClientChain(copts...)
	if err != nil {
		return Stack{}, err
	}
	sc, err := interceptors.NewServerChain(sopts...)
	if err != nil {
		cc.Close()
		return Stack{}, err
	}
	client, server := ClientUnary(cc), ServerUnary(sc)
	if localDeadline {
		// Where the deadline layer would be: after request id, logging
		// and metrics (the first three), before retry.
		at := min(3, len(client))
		if !log {
			at = min(2, len(client))
		}
		client = append(client[:at:at], append([]grpc.UnaryClientInterceptor{LocalDeadline(10 * time.Second)}, client[at:]...)...)
	}
	if oneChain {
		client = []grpc.UnaryClientInterceptor{ChainUnaryClient(client)}
		server = []grpc.UnaryServerInterceptor{ChainUnaryServer(server)}
	}
	return Stack{ // unary only: the changes above are not made for streams
		Client: client, Server: server,
		Dial:  []grpc.DialOption{grpc.WithDisableRetry()},
		Close: func() { cc.Close(); sc.Close() },
	}, nil
}
