package interceptors

import (
	"context"
	"maps"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/rpc"
)

// WithServiceConfig makes the client chain read each call's method config
// from the channel's gRPC service config (grpc.WithDefaultServiceConfig, or
// what the resolver pushes; grpc.ClientConn.GetMethodConfig) and apply it
// through Bulwark's own layers: its timeout caps the call's deadline, and
// its retryPolicy's maxAttempts, initialBackoff, backoffMultiplier and
// maxBackoff replace the Retrier's for that call (with WithRetry, which
// turns gRPC's own retries off). Bulwark's outcome table, not
// retryableStatusCodes, still decides which failures are retried. A new
// service config applies from the next call. A channel knows its service
// config once its resolver has answered: a call made on a new, idle
// channel before that (the ClientConn's Connect starts it) runs without a
// method config. Default: off (the service
// config's timeout and retryPolicy are gRPC's to apply, and WithRetry turns
// gRPC's retries off).
func WithServiceConfig() ClientOption {
	return clientOption(func(c *config) {
		if c.once("WithServiceConfig") {
			c.serviceConfig = true
		}
	})
}

// methodConfig applies the channel's method config to calls.
type methodConfig struct {
	// retryOpts holds the retry CallOptions of each retryPolicy the
	// channels have had, so a call appends them without making them. It
	// is keyed by the policy's values, not its pointer: every service
	// config a resolver pushes brings new pointers, and a long-lived
	// channel would otherwise keep one entry per push. A call only reads
	// it; a policy not seen before replaces it with a copy under mu.
	retryOpts atomic.Pointer[map[retryKey][]grpc.CallOption]
	mu        sync.Mutex
}

// retryKey is the part of a retryPolicy the chain applies.
type retryKey struct {
	maxAttempts                int
	initialBackoff, maxBackoff time.Duration
	multiplier                 uint64 // math.Float64bits: every key equals itself, even NaN
}

// apply returns ctx with the method config's timeout, and opts with its
// retry policy; cancel is nil when ctx is unchanged.
func (m *methodConfig) apply(ctx context.Context, cc *grpc.ClientConn, method string, opts []grpc.CallOption) (context.Context, context.CancelFunc, []grpc.CallOption) {
	mc := cc.GetMethodConfig(method)
	var cancel context.CancelFunc
	if mc.Timeout != nil && *mc.Timeout > 0 {
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > *mc.Timeout {
			ctx, cancel = context.WithTimeout(ctx, *mc.Timeout)
		}
	}
	if rp := mc.RetryPolicy; rp != nil {
		key := retryKey{rp.MaxAttempts, rp.InitialBackoff, rp.MaxBackoff, math.Float64bits(rp.BackoffMultiplier)}
		opts = append(opts[:len(opts):len(opts)], m.retryOptions(key)...)
	}
	return ctx, cancel, opts
}

// retryOptions returns the retry CallOptions of the retryPolicy key.
func (m *methodConfig) retryOptions(key retryKey) []grpc.CallOption {
	if cur := m.retryOpts.Load(); cur != nil {
		if ro, ok := (*cur)[key]; ok {
			return ro
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.retryOpts.Load()
	if cur != nil {
		if ro, ok := (*cur)[key]; ok {
			return ro
		}
	}
	ro := []grpc.CallOption{
		retry.WithMaxAttempts(max(1, key.maxAttempts)),
		retry.WithBackoff(key.initialBackoff, max(1, math.Float64frombits(key.multiplier)), max(key.initialBackoff, key.maxBackoff)),
	}
	next := map[retryKey][]grpc.CallOption{key: ro}
	if cur != nil {
		maps.Copy(next, *cur)
	}
	m.retryOpts.Store(&next)
	return ro
}

func (m *methodConfig) unary() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		ctx, cancel, opts := m.apply(ctx, cc, method, opts)
		if cancel != nil {
			defer cancel()
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

func (m *methodConfig) stream() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		ctx, cancel, opts := m.apply(ctx, cc, method, opts)
		cs, err := streamer(ctx, desc, cc, method, opts...)
		if cancel == nil {
			return cs, err
		}
		if err != nil {
			cancel()
			return nil, err
		}
		// The timeout lasts as long as the stream: its timer is stopped
		// when the stream ends.
		return rpc.WrapClient(cs, desc.ServerStreams, rpc.ClientHooks{Finished: func(error) { cancel() }}), nil
	}
}
