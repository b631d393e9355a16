package retry_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	rpcerrdetails "google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/refusal"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
	"github.com/bulwarkrpc/bulwark/internal/wire"
)

// pushbackBlind classifies as if no trailer had come, so that only the
// Retrier's own rule can honour a stop.
var pushbackBlind = outcome.Classifier(func(ctx context.Context, r outcome.Attempt) outcome.Outcome {
	r.Pushback, r.HasPushback = 0, false
	return outcome.Default(ctx, r)
})

// TestStopPushbackOnUnprocessed pins the stop rule: a server's unprocessed,
// retryable UNAVAILABLE (it never ran the handler, so any method is safe to
// send again) that arrives with grpc-retry-pushback-ms: -1 is not retried,
// whatever the classifier makes of it, on unary calls, hedged calls and
// streams alike.
func TestStopPushbackOnUnprocessed(t *testing.T) {
	// The server's own refusal: only those may say unprocessed.
	shed := refusal.Mark(func() *errdetails.ApplicationError {
		e := errdetails.New(errdetails.CodeServerOverloaded, "busy")
		e.Unprocessed = true
		e.Retryable = true
		return e
	}())
	for _, tc := range []struct {
		name       string
		classifier outcome.Classifier
		hedge      bool
		stream     bool
	}{
		{name: "unary", classifier: outcome.Default},
		{name: "unary, classifier blind to pushback", classifier: pushbackBlind},
		{name: "hedged, classifier blind to pushback", classifier: pushbackBlind, hedge: true},
		{name: "stream", classifier: outcome.Default, stream: true},
		{name: "stream, classifier blind to pushback", classifier: pushbackBlind, stream: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newAttempts()
				svc := &grpctest.Service{
					UnaryUnsafeFunc: func(ctx context.Context, req *testpb.UnaryUnsafeRequest) (*testpb.UnaryUnsafeResponse, error) {
						rec.add(ctx)
						if err := grpc.SetTrailer(ctx, metadata.Pairs(wire.PushbackTrailer, "-1")); err != nil {
							return nil, err
						}
						return nil, shed
					},
					ServerStreamFunc: func(req *testpb.ServerStreamRequest, s grpc.ServerStreamingServer[testpb.ServerStreamResponse]) error {
						rec.add(s.Context())
						s.SetTrailer(metadata.Pairs(wire.PushbackTrailer, "-1"))
						return shed
					},
				}
				obs := &events{}
				opts := []retry.Option{retry.WithClassifier(tc.classifier), retry.WithFirstAttemptTrailer(retry.TrailerAlways), retry.WithObserver(obs.observer())}
				if tc.hedge {
					// Hedging needs a method safe to retry: the unprocessed
					// error alone does not make it one before the first answer.
					opts = append(opts, retry.WithHedging(time.Second, 3), retry.WithMethodPolicy(testpb.TestService_UnaryUnsafe_FullMethodName, retry.WithSafeToRetry(true)))
				}
				env, _ := start(t, svc, setup{retry: opts})
				var err error
				if tc.stream {
					var s grpc.ServerStreamingClient[testpb.ServerStreamResponse]
					if s, err = env.Client.ServerStream(t.Context(), &testpb.ServerStreamRequest{Count: 1}); err == nil {
						_, err = recvAll(s)
					}
				} else {
					_, err = env.Client.UnaryUnsafe(t.Context(), &testpb.UnaryUnsafeRequest{})
				}
				if status.Code(err) != status.Code(shed) {
					t.Errorf("err = %v; want the server's %v", err, status.Code(shed))
				}
				if rec.count() != 1 {
					t.Errorf("attempts = %d; want 1: the server asked not to retry", rec.count())
				}
				_, _, ends := obs.snapshot()
				if len(ends) != 1 || ends[0].Attempts != 1 || ends[0].Reason != "pushback" {
					t.Errorf("OnFinish = %+v; want one, after 1 attempt, for the pushback", ends)
				}
			})
		})
	}
}

// TestStopNegativeRetryInfo: a google.rpc.RetryInfo with a negative delay
// means "do not retry", as a negative grpc-retry-pushback-ms does, even from
// a server that sends no trailer and to a classifier that still calls the
// failure retryable.
func TestStopNegativeRetryInfo(t *testing.T) {
	st, err := status.New(codes.Unavailable, "busy").WithDetails(&rpcerrdetails.RetryInfo{RetryDelay: durationpb.New(-time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	stop := st.Err()
	unavailableRetryable := outcome.Classifier(func(ctx context.Context, r outcome.Attempt) outcome.Outcome {
		if status.Code(r.Err) == codes.Unavailable {
			return outcome.RetryableFailure
		}
		return outcome.Default(ctx, r)
	})
	for _, tc := range []struct {
		name       string
		classifier outcome.Classifier
		hedge      bool
		stream     bool
	}{
		{name: "unary", classifier: outcome.Default},
		{name: "unary, classifier calls it retryable", classifier: unavailableRetryable},
		{name: "hedged, classifier calls it retryable", classifier: unavailableRetryable, hedge: true},
		{name: "stream, classifier calls it retryable", classifier: unavailableRetryable, stream: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newAttempts()
				svc := &grpctest.Service{
					UnaryFunc: func(ctx context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
						rec.add(ctx)
						return nil, stop
					},
					ServerStreamFunc: func(req *testpb.ServerStreamRequest, s grpc.ServerStreamingServer[testpb.ServerStreamResponse]) error {
						rec.add(s.Context())
						return stop
					},
				}
				obs := &events{}
				opts := []retry.Option{retry.WithClassifier(tc.classifier), retry.WithObserver(obs.observer())}
				if tc.hedge {
					opts = append(opts, retry.WithHedging(time.Second, 3))
				}
				env, _ := start(t, svc, setup{retry: opts})
				var err error
				if tc.stream {
					var s grpc.ServerStreamingClient[testpb.ServerStreamResponse]
					if s, err = env.Client.ServerStream(t.Context(), &testpb.ServerStreamRequest{Count: 1}); err == nil {
						_, err = recvAll(s)
					}
				} else {
					_, err = env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
				}
				if status.Code(err) != codes.Unavailable {
					t.Errorf("err = %v; want the server's UNAVAILABLE", err)
				}
				if rec.count() != 1 {
					t.Errorf("attempts = %d; want 1: the server asked not to retry", rec.count())
				}
				_, _, ends := obs.snapshot()
				if len(ends) != 1 || ends[0].Attempts != 1 || ends[0].Reason != "pushback" {
					t.Errorf("OnFinish = %+v; want one, after 1 attempt, for the server's stop", ends)
				}
			})
		})
	}
}
