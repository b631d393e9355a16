package interceptors_test

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/bulwarkrpc/bulwark/interceptors"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

func serviceConfig(maxAttempts int, timeout string) string {
	return `{"methodConfig": [{"name": [{"service": "bulwark.testing.v1.TestService"}],
		"timeout": "` + timeout + `",
		"retryPolicy": {"maxAttempts": ` + string(rune('0'+maxAttempts)) + `, "initialBackoff": "0.01s", "maxBackoff": "0.1s",
			"backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`
}

// With WithServiceConfig, the client chain applies each call's method
// config through its own layers: the retryPolicy's attempts and the
// timeout, from the service config the resolver pushes; a new config
// applies from the next call, and an invalid one leaves the last valid one
// in force (gRPC keeps it).
func TestServiceConfigAppliesPerCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sleep := make(chan time.Duration, 1)
		svc := &grpctest.Service{UnaryFunc: func(ctx context.Context, _ *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			select {
			case d := <-sleep:
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return nil, status.FromContextError(ctx.Err()).Err()
				}
				return &testpb.UnaryResponse{}, nil
			default:
			}
			return nil, status.Error(codes.Unavailable, "down")
		}}
		lis := bufconn.Listen(1 << 16)
		srv := grpc.NewServer()
		testpb.RegisterTestServiceServer(srv, svc)
		served := make(chan struct{})
		go func() { defer close(served); _ = srv.Serve(lis) }()
		defer func() { srv.Stop(); <-served }()

		r := manual.NewBuilderWithScheme("sc")
		r.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: "backend"}}})
		cc := clientChain(t, []interceptors.ClientOption{interceptors.WithRetry(), interceptors.WithServiceConfig("")})
		conn, err := grpc.NewClient("sc:///backend", append(cc.DialOptions(),
			grpc.WithResolvers(r), grpc.WithDefaultServiceConfig(serviceConfig(2, "10s")),
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))...)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// The method config is the channel's once its resolver has
		// answered: connect before the first call.
		conn.Connect()
		synctest.Wait()
		client := testpb.NewTestServiceClient(conn)
		attempts := func() int64 {
			before := svc.Calls("Unary")
			_, _ = client.Unary(t.Context(), &testpb.UnaryRequest{})
			return svc.Calls("Unary") - before
		}
		if n := attempts(); n != 2 {
			t.Fatalf("%d attempts under the default config's maxAttempts 2", n)
		}
		push := func(config string) {
			r.UpdateState(resolver.State{Addresses: []resolver.Address{{Addr: "backend"}}, ServiceConfig: r.CC().ParseServiceConfig(config)})
			synctest.Wait() // the channel applies the update on its own goroutine
		}
		push(serviceConfig(4, "10s"))
		if n := attempts(); n != 4 {
			t.Fatalf("%d attempts after the resolver pushed maxAttempts 4", n)
		}
		push(`{"methodConfig": [`)
		if n := attempts(); n != 4 {
			t.Fatalf("%d attempts after an invalid config; want the last valid one's 4", n)
		}
		// A pushed timeout of 50 ms caps a call whose handler takes 1 s.
		push(serviceConfig(2, "0.05s"))
		sleep <- time.Second
		start := time.Now()
		_, err = client.Unary(t.Context(), &testpb.UnaryRequest{})
		if status.Code(err) != codes.DeadlineExceeded || time.Since(start) != 50*time.Millisecond {
			t.Fatalf("call with the pushed 50 ms timeout: %v after %v; want DEADLINE_EXCEEDED after 50ms", err, time.Since(start))
		}
	})
}

// secondService answers Unary after a second, or ends with its caller.
func secondService() *grpctest.Service {
	return &grpctest.Service{UnaryFunc: func(ctx context.Context, _ *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
		select {
		case <-time.After(time.Second):
			return &testpb.UnaryResponse{}, nil
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}}
}

// A hedgingPolicy in the service config given to WithServiceConfig hedges
// the calls of its method: gRPC does not implement hedging, Bulwark does.
// Other methods are not hedged.
func TestServiceConfigHedgingPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := secondService()
		const sc = `{"methodConfig": [{"name": [{"service": "bulwark.testing.v1.TestService", "method": "Unary"}],
			"hedgingPolicy": {"maxAttempts": 3, "hedgingDelay": "0.1s", "nonFatalStatusCodes": ["UNAVAILABLE"]}}]}`
		env, _ := client(t, svc, interceptors.WithRetry(retry.WithSafeToRetry(true)), interceptors.WithServiceConfig(sc))
		before := svc.Calls("Unary")
		start := time.Now()
		if _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}); err != nil {
			t.Fatal(err)
		}
		if n := svc.Calls("Unary") - before; n != 3 {
			t.Errorf("%d attempts of a call hedged every 100ms, 3 at most, whose answers take 1s; want 3", n)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("the call took %v; want the first attempt's 1s", d)
		}
		before = svc.Calls("UnaryUnsafe")
		_, _ = env.Client.UnaryUnsafe(t.Context(), &testpb.UnaryUnsafeRequest{})
		if n := svc.Calls("UnaryUnsafe") - before; n != 1 {
			t.Errorf("%d attempts of a method without a hedgingPolicy; want 1", n)
		}
	})
}

// A service config's maxAttempts above 5 are treated as 5 (gRFC A6): a
// hedgingPolicy's up to the Retrier's cap (retry.WithAttemptsCap), a
// retryPolicy's up to the channel's, as gRPC caps it
// (grpc.WithMaxCallAttempts), whatever the Retrier's cap.
func TestServiceConfigAttemptsCap(t *testing.T) {
	const hedging = `{"methodConfig": [{"name": [{"service": "bulwark.testing.v1.TestService", "method": "Unary"}],
		"hedgingPolicy": {"maxAttempts": 9, "hedgingDelay": "0.1s"}}]}`
	const retrying = `{"methodConfig": [{"name": [{"service": "bulwark.testing.v1.TestService", "method": "Unary"}],
		"retryPolicy": {"maxAttempts": 9, "initialBackoff": "0.01s", "maxBackoff": "0.1s", "backoffMultiplier": 2,
			"retryableStatusCodes": ["UNAVAILABLE"]}}]}`
	for _, tc := range []struct {
		name         string
		sc           string
		cap          int // 0: the default
		channelLimit int // grpc.WithMaxCallAttempts; 0: the default
		want         int64
	}{
		{"hedging, default cap", hedging, 0, 0, 5},
		{"hedging, cap 7", hedging, 7, 0, 7},
		{"hedging, cap 10", hedging, 10, 0, 9},
		{"retry, default caps", retrying, 0, 0, 5},
		{"retry, cap 7, gRPC's 5", retrying, 7, 0, 5},
		{"retry, cap 5, gRPC's 8", retrying, 0, 8, 8},
		{"retry, cap 7, gRPC's 8", retrying, 7, 8, 8},
		{"retry, cap 5, gRPC's 20", retrying, 0, 20, 9},
		{"retry of 12, gRPC's 20", strings.Replace(retrying, `"maxAttempts": 9`, `"maxAttempts": 12`, 1), 0, 20, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				svc := secondService()
				if strings.Contains(tc.sc, "retryPolicy") {
					svc = &grpctest.Service{UnaryFunc: unavailable}
				}
				ropts := []retry.Option{retry.WithSafeToRetry(true)}
				if tc.cap != 0 {
					ropts = append(ropts, retry.WithAttemptsCap(tc.cap))
				}
				chain := clientChain(t, []interceptors.ClientOption{interceptors.WithRetry(ropts...), interceptors.WithServiceConfig(tc.sc)})
				dial := chain.DialOptions()
				if tc.channelLimit != 0 {
					dial = append(dial, grpc.WithMaxCallAttempts(tc.channelLimit))
				}
				env := grpctest.Start(t, svc, grpctest.Options{Dial: dial})
				env.Conn.Connect()
				synctest.Wait()
				_, _ = env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
				if n := svc.Calls("Unary"); n != tc.want {
					t.Errorf("%d attempts; want %d", n, tc.want)
				}
				// The caller's own option above the cap is refused, though
				// the service config's options come after it.
				limit := tc.cap
				if limit == 0 {
					limit = 5
				}
				before := svc.Calls("Unary")
				_, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}, retry.WithMaxAttempts(limit+1))
				if status.Code(err) != codes.Internal || svc.Calls("Unary") != before {
					t.Errorf("a call with WithMaxAttempts(%d) under a cap of %d: %v, after %d attempts; want INTERNAL before any",
						limit+1, limit, err, svc.Calls("Unary")-before)
				}
			})
		})
	}
}

// A methodConfig applies whole, as gRPC chooses it: a method's own config
// without hedging is not hedged by its service's or the default config's
// hedgingPolicy, and a methodConfig that names nothing applies to nothing.
func TestServiceConfigHedgingFollowsTheChosenMethodConfig(t *testing.T) {
	for _, tc := range []struct {
		name, sc string
		want     int64
	}{
		{"own config without hedging", `{"methodConfig": [
			{"name": [{"service": "bulwark.testing.v1.TestService", "method": "Unary"}], "timeout": "5s"},
			{"name": [{}], "hedgingPolicy": {"maxAttempts": 3, "hedgingDelay": "0.1s"}}]}`, 1},
		{"service config without hedging", `{"methodConfig": [
			{"name": [{"service": "bulwark.testing.v1.TestService"}], "timeout": "5s"},
			{"name": [{}], "hedgingPolicy": {"maxAttempts": 3, "hedgingDelay": "0.1s"}}]}`, 1},
		{"the default's hedging", `{"methodConfig": [
			{"name": [{"service": "other.Svc"}], "timeout": "5s"},
			{"name": [{}], "hedgingPolicy": {"maxAttempts": 3, "hedgingDelay": "0.1s"}}]}`, 3},
		{"a config without names", `{"methodConfig": [{"hedgingPolicy": {"maxAttempts": 3, "hedgingDelay": "0.1s"}}]}`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				svc := secondService()
				env, _ := client(t, svc, interceptors.WithRetry(retry.WithSafeToRetry(true)), interceptors.WithServiceConfig(tc.sc))
				env.Conn.Connect()
				synctest.Wait()
				if _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}); err != nil {
					t.Fatal(err)
				}
				if n := svc.Calls("Unary"); n != tc.want {
					t.Errorf("%d attempts; want %d", n, tc.want)
				}
			})
		})
	}
}

// retryThrottling in the service config becomes the Retrier's budget,
// gRFC A6's token bucket: 10 tokens, one less per failed attempt, retries
// only while more than half (5) remain.
func TestServiceConfigRetryThrottling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := &grpctest.Service{UnaryFunc: unavailable}
		const sc = `{"retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1},
			"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.01s", "maxBackoff": "0.01s",
				"backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`
		env, _ := client(t, svc, interceptors.WithRetry(), interceptors.WithServiceConfig(sc))
		env.Conn.Connect()
		synctest.Wait()
		var got []int64
		for range 4 {
			before := svc.Calls("Unary")
			_, _ = env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
			got = append(got, svc.Calls("Unary")-before)
		}
		// Tokens: 10 → 9, 8, 7 (3 attempts); 6 → 5 (2: 5 is not more
		// than half); then 4, then 3: one attempt each.
		if want := []int64{3, 2, 1, 1}; !slices.Equal(got, want) {
			t.Errorf("attempts per call %v; want %v", got, want)
		}
	})
}

// WithServiceConfig refuses a config it cannot apply, naming the field.
func TestServiceConfigRefusesInvalidJSON(t *testing.T) {
	for _, tc := range []struct{ js, want string }{
		{`{"methodConfig": [`, "not a service config"},
		{`{} {}`, "data after the JSON object"},
		{`{"methodConfig": [{"name": [{}], "timeout": "1m"}]}`, "methodConfig[0].timeout"},
		{`{"methodConfig": [{"name": [{}], "hedgingPolicy": {"maxAttempts": 1}}]}`, "hedgingPolicy.maxAttempts: must be at least 2"},
		{`{"methodConfig": [{"name": [{}], "hedgingPolicy": {"maxAttempts": 2, "hedgingDelay": "-1s"}}]}`, "hedgingPolicy.hedgingDelay"},
		{`{"methodConfig": [{"name": [{}], "hedgingPolicy": {"maxAttempts": 2, "nonFatalStatusCodes": ["NOPE"]}}]}`, "nonFatalStatusCodes: unknown code NOPE"},
		{`{"methodConfig": [{"name": [{}], "hedgingPolicy": {"maxAttempts": 2}, "retryPolicy": {"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`, "mutually exclusive"},
		{`{"methodConfig": [{"name": [{"method": "M"}]}]}`, "needs its service"},
		{`{"methodConfig": [{"name": [{"service": "a.S"}, {"service": "a.S"}]}]}`, `"a.S" is named twice`},
		{`{"retryThrottling": {"maxTokens": 1000.5, "tokenRatio": 0.1}}`, "retryThrottling.maxTokens"},
		{`{"retryThrottling": {"maxTokens": 10, "tokenRatio": 0}}`, "retryThrottling.tokenRatio"},
		{`{"retryThrottling": {"maxTokens": 10, "tokenRatio": 1000.001}}`, "retryThrottling.tokenRatio"},
		{`{"methodConfig": [{"name": [{}], "hedgingPolicy": {"maxAttempts": 2, "hedgingDelay": "NaNs"}}]}`, "hedgingPolicy.hedgingDelay"},
		{`{"methodConfig": [{"name": [{}], "hedgingPolicy": {"maxAttempts": 2, "hedgingDelay": "9300000000s"}}]}`, "at most 9223372036 seconds"},
		{`{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 1}}]}`, "WithServiceConfig"}, // gRPC's own check
	} {
		_, err := interceptors.NewClientChain(interceptors.WithRetry(), interceptors.WithServiceConfig(tc.js))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("WithServiceConfig(%s) = %v; want an error with %q", tc.js, err, tc.want)
		}
	}
	// At the bounds: 1000 tokens and 2 hedged attempts are accepted.
	if _, err := interceptors.NewClientChain(interceptors.WithRetry(), interceptors.WithServiceConfig(
		`{"retryThrottling": {"maxTokens": 1000, "tokenRatio": 1000}, "methodConfig": [{"name": [{}], "hedgingPolicy": {"maxAttempts": 2, "hedgingDelay": "9223372036s"}}]}`)); err != nil {
		t.Errorf("a config at the bounds: %v", err)
	}
	_, err := interceptors.NewClientChain(interceptors.WithServiceConfig(`{"methodConfig": [{"name": [{}], "hedgingPolicy": {"maxAttempts": 2}}]}`))
	if err == nil || !strings.Contains(err.Error(), "hedgingPolicy needs WithRetry") {
		t.Errorf("hedgingPolicy without WithRetry: %v", err)
	}
}
