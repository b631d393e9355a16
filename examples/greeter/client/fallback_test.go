package main

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	greeterv1 "github.com/bulwarkrpc/bulwark/examples/greeter/gen/greeter/v1"
	"github.com/bulwarkrpc/bulwark/examples/greeter/greeter"
	"github.com/bulwarkrpc/bulwark/examples/greeter/internal/workload"
)

// TestClientFallback: once the breaker is open, a call for a name the
// server answered before gets that answer from the cache without reaching
// the network; a call for a new name still fails with CIRCUIT_OPEN; the
// failures that opened the breaker are not hidden.
func TestClientFallback(t *testing.T) {
	addr, svc := serveService(t, greeter.Config{})
	var rejections workload.Rejections
	cache := newReplyCache()
	cfg := bulwarkConfig{attempts: 1, breakerFailures: 2, breakerMinCalls: 1000, breakerOpen: 60e9, breakerMaxOpen: 60e9, fallback: cache}
	chain, err := bulwarkChain(cfg, prometheus.NewRegistry(), observers{rejections: &rejections, transitions: newTransitionLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer chain.Close()
	attempts := &workload.AttemptCounter{}
	conn, err := grpc.NewClient(addr, dialOptions(chain, cache, attempts)...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := greeterv1.NewGreeterClient(conn)
	hello := func(name string) (string, error) {
		r, err := client.SayHello(t.Context(), &greeterv1.HelloRequest{Name: name})
		return r.GetMessage(), err
	}

	live, err := hello("ada")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Update(func(c *greeter.Config) { c.FailRate, c.FailCode = 1, "UNAVAILABLE" }); err != nil {
		t.Fatal(err)
	}
	for range 2 { // these open the breaker, and are not answered from the cache
		if _, err := hello("ada"); status.Code(err) != codes.Unavailable {
			t.Fatalf("call to a failing server: %v; want UNAVAILABLE", err)
		}
	}
	if cache.Served() != 0 || attempts.Count() != 3 {
		t.Fatalf("%d served from the cache, %d attempts; want 0 and 3", cache.Served(), attempts.Count())
	}

	got, err := hello("ada")
	if err != nil || got != live {
		t.Errorf("refused call for a cached name: %q, %v; want %q from the cache", got, err, live)
	}
	if _, err := hello("bob"); !hasCode(err, errdetails.CodeCircuitOpen) {
		t.Errorf("refused call for a new name: %v; want CIRCUIT_OPEN", err)
	}
	if cache.Served() != 1 || attempts.Count() != 3 || rejections.Map()["circuit_open"] != 2 {
		t.Errorf("%d served from the cache, %d attempts, rejections %v; want 1, still 3, and 2 circuit_open",
			cache.Served(), attempts.Count(), rejections.Map())
	}
}

// hasCode reports whether err is, wraps or decodes to an
// *errdetails.ApplicationError with the given code.
func hasCode(err error, code string) bool {
	ae, ok := errdetails.FromError(err)
	return ok && ae.Code == code
}
