package outlier_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// The retry interceptor, on a channel with this policy, sends the retry of
// a failed attempt to another endpoint than the one that failed it, even
// when round_robin's turn has come back to the failed one.
func TestRetryGoesToAnotherEndpoint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// No ejection rule: only the avoidance keeps the retry off "bad".
		c := startCluster(t, 2, 0, `{"consecutiveFailures": 0}`)
		bad, good := c.backends[0], c.backends[1]
		bad.set(unavailable)
		r, err := retry.New(retry.WithMaxAttempts(3))
		if err != nil {
			t.Fatal(err)
		}
		retrying := testpb.NewTestServiceClient(c.conn)
		call := r.UnaryClientInterceptor()
		// Plain calls until the last one went to good: round_robin's next
		// pick is bad.
		for i := 0; ; i++ {
			resp, err := c.client.Unary(t.Context(), &testpb.UnaryRequest{})
			if err == nil && resp.GetText() == good.addr {
				break
			}
			if i > 10 {
				t.Fatal("round_robin never picked good")
			}
		}
		badBefore := bad.calls.Load()
		errc := make(chan error, 1)
		go func() {
			errc <- call(t.Context(), "/bulwark.testing.v1.TestService/Unary", &testpb.UnaryRequest{}, &testpb.UnaryResponse{}, c.conn,
				func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
					_, err := retrying.Unary(ctx, req.(*testpb.UnaryRequest), opts...)
					return err
				})
		}()
		synctest.Wait() // the first attempt failed on bad; the retry waits its backoff
		// Another caller moves round_robin on: its next pick is bad again.
		if resp, err := c.client.Unary(t.Context(), &testpb.UnaryRequest{}); err != nil || resp.GetText() != good.addr {
			t.Fatalf("the plain call: %v, %v; want good", resp, err)
		}
		time.Sleep(time.Second)
		if err := <-errc; err != nil {
			t.Fatalf("the retried call failed: %v", err)
		}
		if n := bad.calls.Load() - badBefore; n != 1 {
			t.Fatalf("bad served %d attempts of the retried call; want 1 (the retry avoids it)", n)
		}
	})
}
