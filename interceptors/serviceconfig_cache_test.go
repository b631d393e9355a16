package interceptors

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// TestRetryOptionsKeyedByValue: a channel whose resolver pushes the same
// retryPolicy again and again (each push parses a new one) keeps one set
// of options, not one per push; a new policy adds one; and a call that
// finds its policy's options allocates only its own option slice.
func TestRetryOptionsKeyedByValue(t *testing.T) {
	r := manual.NewBuilderWithScheme("sccache")
	cc, err := grpc.NewClient(r.Scheme()+":///backend", grpc.WithResolvers(r),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	cc.Connect()
	const method = "/pkg.Service/Method"
	push := func(maxAttempts string) {
		sc := r.CC().ParseServiceConfig(`{"methodConfig": [{"name": [{"service": "pkg.Service"}],
			"retryPolicy": {"maxAttempts": ` + maxAttempts + `, "initialBackoff": "0.01s", "maxBackoff": "1s",
			"backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`)
		if sc.Err != nil {
			t.Fatal(sc.Err)
		}
		r.UpdateState(resolver.State{Addresses: []resolver.Address{{Addr: "127.0.0.1:1"}}, ServiceConfig: sc})
	}
	var m methodConfig
	entries := func() int {
		if p := m.retryOpts.Load(); p != nil {
			return len(*p)
		}
		return 0
	}
	ctx := context.Background()
	var prev any // the last push's *RetryPolicy
	for range 100 {
		push("3")
		rp := cc.GetMethodConfig(method).RetryPolicy
		if rp == nil || any(rp) == prev {
			t.Fatalf("push did not bring a new retryPolicy: %+v", rp)
		}
		prev = rp
		if _, _, opts := m.apply(ctx, cc, method, nil); len(opts) != 2 {
			t.Fatalf("apply added %d options; want the policy's 2", len(opts))
		}
	}
	if n := entries(); n != 1 {
		t.Fatalf("after 100 pushes of one policy the cache holds %d entries; want 1", n)
	}
	push("4")
	m.apply(ctx, cc, method, nil)
	if n := entries(); n != 2 {
		t.Fatalf("after a second policy the cache holds %d entries; want 2", n)
	}
	// The call's own option slice is copied, never appended to in place;
	// that copy is the one allocation: finding the options makes none.
	if allocs := testing.AllocsPerRun(100, func() { m.apply(ctx, cc, method, nil) }); allocs != 1 {
		t.Errorf("a known policy costs %v allocations; want 1, the call's option slice", allocs)
	}
}
