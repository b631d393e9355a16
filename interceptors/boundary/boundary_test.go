package boundary_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/boundary"
	"github.com/bulwarkrpc/bulwark/interceptors/requestid"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/logbuf"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const secret = "password=hunter2 host=10.1.2.3"

// start serves svc behind the server boundary; the client has no decoder
// unless decode is true, so tests see exactly what went on the wire.
func start(t *testing.T, svc *grpctest.Service, decode bool, opts ...boundary.Option) (*grpctest.Env, *logbuf.Buffer) {
	t.Helper()
	logs := &logbuf.Buffer{}
	opts = append([]boundary.Option{boundary.WithLogger(slog.New(slog.NewJSONHandler(logs, nil)))}, opts...)
	b, err := boundary.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	o := grpctest.Options{Server: []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(b.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(b.StreamServerInterceptor()),
	}}
	if decode {
		o.Dial = []grpc.DialOption{
			grpc.WithChainUnaryInterceptor(b.UnaryClientInterceptor()),
			grpc.WithChainStreamInterceptor(b.StreamClientInterceptor()),
		}
	}
	return grpctest.Start(t, svc, o), logs
}

func TestServerUnary(t *testing.T) {
	shared := func() *errdetails.ApplicationError {
		e := errdetails.New("USER_NOT_FOUND", "no such user")
		e.GRPCCode = codes.NotFound
		return e
	}()
	tests := []struct {
		name       string
		handlerErr error
		panicValue any
		wantCode   codes.Code
		wantMsg    string
		wantReason string // "" when the status must carry no ErrorInfo
		wantLog    string // must appear in the server log
	}{
		{
			name:       "database error keeps its code",
			handlerErr: errdetails.Database("", errors.New(secret)),
			wantCode:   codes.Unavailable, wantMsg: "database unavailable", wantReason: "DB_ERROR", wantLog: secret,
		},
		{
			name:       "wrapped validation error",
			handlerErr: fmt.Errorf("handler: %w", errdetails.Validation("email", "must contain @")),
			wantCode:   codes.InvalidArgument, wantMsg: "invalid email: must contain @", wantReason: "VALIDATION_ERROR",
		},
		{
			name:       "shared error value",
			handlerErr: shared,
			wantCode:   codes.NotFound, wantMsg: "no such user", wantReason: "USER_NOT_FOUND",
		},
		{
			name:       "plain error becomes INTERNAL",
			handlerErr: errors.New("query failed: " + secret),
			wantCode:   codes.Internal, wantMsg: "internal error", wantReason: "INTERNAL_ERROR", wantLog: secret,
		},
		{
			name:       "panic becomes INTERNAL",
			panicValue: "boom: " + secret,
			wantCode:   codes.Internal, wantMsg: "internal error", wantReason: "INTERNAL_ERROR", wantLog: "boundary_test.TestServerUnary",
		},
		{
			name:       "wrapped status keeps code, not wrapper text",
			handlerErr: fmt.Errorf("%s: %w", secret, status.Error(codes.NotFound, "gone")),
			wantCode:   codes.NotFound, wantMsg: "gone",
		},
		{
			name:       "context canceled",
			handlerErr: fmt.Errorf("%s: %w", secret, context.Canceled),
			wantCode:   codes.Canceled, wantMsg: "request canceled",
		},
		{
			name:       "context deadline",
			handlerErr: fmt.Errorf("%s: %w", secret, context.DeadlineExceeded),
			wantCode:   codes.DeadlineExceeded, wantMsg: "deadline exceeded",
		},
		{
			name:       "invalid application code becomes INTERNAL",
			handlerErr: errdetails.New("not-upper", "x"),
			wantCode:   codes.Internal, wantMsg: "internal error", wantReason: "INTERNAL_ERROR", wantLog: "not-upper",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				svc := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
					if tc.panicValue != nil {
						panic(tc.panicValue)
					}
					return nil, tc.handlerErr
				}}
				env, logs := start(t, svc, false)
				ctx := metadata.AppendToOutgoingContext(t.Context(), requestid.MetadataKey, "req-42")
				_, err := env.Client.Unary(ctx, &testpb.UnaryRequest{Text: "hi"})
				st := status.Convert(err)
				if st.Code() != tc.wantCode || st.Message() != tc.wantMsg {
					t.Fatalf("status = %v %q; want %v %q", st.Code(), st.Message(), tc.wantCode, tc.wantMsg)
				}
				wire := fmt.Sprint(st.Proto())
				if strings.Contains(wire, "hunter2") || strings.Contains(wire, "goroutine") {
					t.Errorf("status leaks internals: %s", wire)
				}
				ae, ok := errdetails.FromError(st.Err())
				if tc.wantReason == "" {
					if ok {
						t.Errorf("status carries application error %v; want none", ae)
					}
				} else {
					if !ok || ae.Code != tc.wantReason {
						t.Fatalf("FromStatus = %v, %v; want code %s", ae, ok, tc.wantReason)
					}
					if ae.RequestID != "req-42" {
						t.Errorf("RequestID = %q; want the caller's req-42", ae.RequestID)
					}
					if ae.Domain != "bulwark.testing.v1.TestService" {
						t.Errorf("Domain = %q; want the service name", ae.Domain)
					}
				}
				if tc.wantLog != "" && !strings.Contains(logs.String(), tc.wantLog) {
					t.Errorf("server log lacks %q:\n%s", tc.wantLog, logs.String())
				}
			})
		})
	}
}

func TestServerDebugInfoOptIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			panic("kaboom")
		}}
		env, _ := start(t, svc, true, boundary.WithDebugInfo(true))
		_, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
		ae, ok := errdetails.FromError(err)
		if !ok || ae.Debug == nil {
			t.Fatalf("FromError = %v, %v; want DebugInfo", ae, ok)
		}
		if ae.Debug.Detail != "panic: kaboom" || len(ae.Debug.Stack) == 0 {
			t.Errorf("Debug = %+v; want the panic and its stack", ae.Debug)
		}
	})
}

func TestServerPushbackTrailer(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"retryable with delay", func() *errdetails.ApplicationError {
			e := errdetails.Database("", nil)
			e.RetryAfter = 1500 * time.Microsecond
			return e
		}(), []string{"2"}},
		{"asks not to retry", func() *errdetails.ApplicationError {
			e := errdetails.New(errdetails.CodeServerOverloaded, "overloaded")
			e.RetryAfter = -1
			return e
		}(), []string{"-1"}},
		{"no hint", errdetails.Database("", nil), nil},
		{"not retryable", func() *errdetails.ApplicationError {
			e := errdetails.Validation("f", "bad")
			e.RetryAfter = time.Second
			return e
		}(), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				svc := &grpctest.Service{
					UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) { return nil, tc.err },
					ServerStreamFunc: func(*testpb.ServerStreamRequest, grpc.ServerStreamingServer[testpb.ServerStreamResponse]) error {
						return tc.err
					},
				}
				env, _ := start(t, svc, false)
				var trailer metadata.MD
				_, _ = env.Client.Unary(t.Context(), &testpb.UnaryRequest{}, grpc.Trailer(&trailer))
				if got := trailer.Get("grpc-retry-pushback-ms"); !equal(got, tc.want) {
					t.Errorf("unary pushback = %q; want %q", got, tc.want)
				}
				stream, err := env.Client.ServerStream(t.Context(), &testpb.ServerStreamRequest{})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := stream.Recv(); err == nil {
					t.Fatal("Recv succeeded; want the handler's error")
				}
				if got := stream.Trailer().Get("grpc-retry-pushback-ms"); !equal(got, tc.want) {
					t.Errorf("stream pushback = %q; want %q", got, tc.want)
				}
			})
		})
	}
}

func equal(a, b []string) bool {
	return strings.Join(a, ",") == strings.Join(b, ",")
}

func TestStreamBoundaryAndDecode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := &grpctest.Service{
			ServerStreamFunc: func(req *testpb.ServerStreamRequest, s grpc.ServerStreamingServer[testpb.ServerStreamResponse]) error {
				if err := s.Send(&testpb.ServerStreamResponse{Text: "first"}); err != nil {
					return err
				}
				return errdetails.ExternalService("payments", "", errors.New(secret))
			},
			BidiStreamFunc: func(grpc.BidiStreamingServer[testpb.BidiStreamRequest, testpb.BidiStreamResponse]) error {
				panic(secret)
			},
		}
		env, logs := start(t, svc, true)

		stream, err := env.Client.ServerStream(t.Context(), &testpb.ServerStreamRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if m, err := stream.Recv(); err != nil || m.GetText() != "first" {
			t.Fatalf("first Recv = %v, %v", m, err)
		}
		_, err = stream.Recv()
		var ae *errdetails.ApplicationError
		if !errors.As(err, &ae) {
			t.Fatalf("Recv error %T %v is not an ApplicationError", err, err)
		}
		if ae.Code != errdetails.CodeExternalService || ae.Details["service"] != "payments" || !ae.Retryable {
			t.Errorf("decoded %+v; want retryable EXTERNAL_SERVICE_ERROR naming payments", ae)
		}
		if status.Code(err) != codes.Unavailable {
			t.Errorf("status.Code = %v; want Unavailable", status.Code(err))
		}

		bidi, err := env.Client.BidiStream(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		_, err = bidi.Recv()
		if status.Code(err) != codes.Internal || strings.Contains(err.Error(), secret) {
			t.Errorf("bidi panic reached the client as %v; want a generic INTERNAL", err)
		}
		if !hasCode(err, errdetails.CodeInternal) {
			t.Errorf("bidi error %v lacks INTERNAL_ERROR", err)
		}
		if !strings.Contains(logs.String(), secret) {
			t.Error("the panic value is not in the server log")
		}
	})
}

func TestClientDecodePassesOtherErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			return nil, status.Error(codes.NotFound, "plain status")
		}}
		env, _ := start(t, svc, true)
		_, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
		if _, ok := errdetails.FromError(err); ok {
			t.Errorf("a status without details decoded to an ApplicationError: %v", err)
		}
		if st := status.Convert(err); st.Code() != codes.NotFound || st.Message() != "plain status" {
			t.Errorf("status = %v; want NotFound plain status", st)
		}
		// io.EOF passes through untouched.
		bidi, err := env.Client.BidiStream(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := bidi.CloseSend(); err != nil {
			t.Fatal(err)
		}
		if _, err := bidi.Recv(); err != io.EOF {
			t.Errorf("Recv after close = %v; want io.EOF", err)
		}
	})
}

func TestNewRejectsNilLogger(t *testing.T) {
	_, err := boundary.New(boundary.WithLogger(nil))
	if err == nil || !strings.Contains(err.Error(), "WithLogger(nil)") {
		t.Fatalf("New(WithLogger(nil)) = %v; want an error naming the option", err)
	}
}

func TestNewRejectsNilOption(t *testing.T) {
	_, err := boundary.New(nil)
	if err == nil || err.Error() != "boundary: nil Option" {
		t.Fatalf("New(nil) = %v; want boundary: nil Option", err)
	}
}

// A status the handler built itself goes out byte for byte, even when its
// message reads like a network error; the same message from an outgoing
// call (marked by the client decoder) is sent as UNAVAILABLE without it.
func TestHandlerStatusIsNotMistakenForATransportError(t *testing.T) {
	b, err := boundary.New(boundary.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []*status.Status{
		status.New(codes.Internal, "schema 1.2.3.4 rejected the row"),
		status.New(codes.Unknown, "connection closed by the payment provider"),
		status.New(codes.Canceled, "transport: the courier cancelled"),
		status.New(codes.Unavailable, "try [::1]:80 later"),
	} {
		got := status.Convert(b.Convert(context.Background(), "/s.S/M", st.Err(), nil))
		if got.Code() != st.Code() || got.Message() != st.Message() {
			t.Errorf("handler's %v %q sent as %v %q; want it unchanged", st.Code(), st.Message(), got.Code(), got.Message())
		}
		received := boundary.Decode(st.Err())
		if status.Code(received) != st.Code() {
			t.Fatalf("Decode changed the code: %v", received)
		}
		got = status.Convert(b.Convert(context.Background(), "/s.S/M", fmt.Errorf("call: %w", received), nil))
		if got.Code() != codes.Unavailable || got.Message() == st.Message() {
			t.Errorf("received %v %q sent as %v %q; want UNAVAILABLE without the address or transport state", st.Code(), st.Message(), got.Code(), got.Message())
		}
	}
	// grpc-go's own words for a failed connection are never a handler's.
	dial := status.New(codes.Unavailable, `connection error: desc = "transport: Error while dialing: dial tcp 10.0.0.9:5432: i/o timeout"`)
	if got := status.Convert(b.Convert(context.Background(), "/s.S/M", dial.Err(), nil)); strings.Contains(got.Message(), "10.0.0.9") {
		t.Errorf("dial error sent as %q", got.Message())
	}
}

// hasCode reports whether err is, wraps or decodes to an
// *errdetails.ApplicationError with the given code.
func hasCode(err error, code string) bool {
	ae, ok := errdetails.FromError(err)
	return ok && ae.Code == code
}
