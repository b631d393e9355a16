package interceptors

import (
	"context"
	"fmt"
	"maps"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/retrystate"
	"github.com/bulwarkrpc/bulwark/internal/rpc"
)

// WithServiceConfig makes the client chain apply gRPC's service config
// through Bulwark's own layers, per call. js is a service config in JSON
// (grpc/service_config.proto), used as the channel's default
// (DialOptions includes grpc.WithDefaultServiceConfig(js)), or "" to use
// only what the channel has. From the channel's service config (js, or
// what the resolver pushes, which replaces it; grpc.ClientConn's
// GetMethodConfig) each call's timeout caps its deadline, and its
// retryPolicy's maxAttempts, initialBackoff, backoffMultiplier and
// maxBackoff replace the Retrier's for that call; a new config pushed by
// the resolver applies from the next call, and one gRPC refuses leaves the
// last valid one in force. From js, which Bulwark parses itself because
// gRPC implements neither, each method's hedgingPolicy (maxAttempts,
// hedgingDelay) makes its calls hedged (retry.WithHedging), and
// retryThrottling (maxTokens, tokenRatio) becomes the Retrier's budget
// (retry.WithTokenBucket, in place of a retry.WithBudget given to
// WithRetry); a resolver's pushed hedgingPolicy and retryThrottling are not
// seen, since gRPC gives them to no one. maxAttempts above 5 are treated as
// 5 (gRFC A6): a retryPolicy's as gRPC caps it, at the channel's cap
// (grpc.WithMaxCallAttempts raises it, up to 10 here), a hedgingPolicy's at
// the Retrier's (retry.WithAttemptsCap raises it). Bulwark's outcome table, not retryableStatusCodes or
// nonFatalStatusCodes, decides which failures are retried. Retries and
// hedges need WithRetry, which turns gRPC's own retries off. js is checked
// when the chain is built: a config gRPC refuses, a malformed timeout,
// hedgingDelay or retryThrottling, retryPolicy beside hedgingPolicy, or a
// hedgingPolicy without WithRetry is an error naming the field. A call
// made on a new, idle channel before its resolver has answered (the
// ClientConn's Connect starts it) runs without the channel's method
// config. Default: off (the service config is gRPC's to apply, and
// WithRetry turns gRPC's retries off).
func WithServiceConfig(js string) ClientOption {
	return clientOption(func(c *config) {
		if !c.once("WithServiceConfig") {
			return
		}
		c.serviceConfig = true
		if js == "" {
			return
		}
		x, err := parseServiceConfig(js)
		if err == nil {
			err = grpcAccepts(js)
		}
		if err != nil {
			c.errs = append(c.errs, err)
			return
		}
		c.sc = x
	})
}

// grpcAccepts reports gRPC's verdict on a default service config: a
// channel that is never connected parses it.
func grpcAccepts(js string) error {
	cc, err := grpc.NewClient("passthrough:///service-config-check", grpc.WithDefaultServiceConfig(js),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("interceptors: WithServiceConfig: %w", err)
	}
	return cc.Close()
}

// methodConfig applies the channel's method config to calls.
type methodConfig struct {
	extras *scExtras // nil without a JSON config
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
	if h := m.extras.hedgingFor(method); h != nil {
		opts = append(opts[:len(opts):len(opts)], h...)
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
		// gRPC has lowered maxAttempts to the channel's cap
		// (grpc.WithMaxCallAttempts, 5 by default), as its own retries
		// would have it.
		retrystate.ChannelCapped(retry.WithMaxAttempts(min(max(1, key.maxAttempts), retrystate.AttemptsCeiling))).(retry.CallOption),
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
