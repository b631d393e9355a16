package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"go.uber.org/goleak"
	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/boundary"
	"github.com/bulwarkrpc/bulwark/interceptors/logging"
	"github.com/bulwarkrpc/bulwark/interceptors/requestid"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// records is a JSON log sink safe for concurrent use.
type records struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (r *records) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.b.Write(p)
}

func (r *records) all(t *testing.T) []map[string]any {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(r.b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad record %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func setup(t *testing.T, level slog.Level, svc *grpctest.Service) (*grpctest.Env, *records) {
	t.Helper()
	rec := &records{}
	l, err := logging.New(slog.New(slog.NewJSONHandler(rec, &slog.HandlerOptions{Level: level})))
	if err != nil {
		t.Fatal(err)
	}
	b, err := boundary.New(boundary.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	env := grpctest.Start(t, svc, grpctest.Options{
		Server: []grpc.ServerOption{
			grpc.ChainUnaryInterceptor(requestid.UnaryServerInterceptor(), l.UnaryServerInterceptor(), b.UnaryServerInterceptor()),
			grpc.ChainStreamInterceptor(requestid.StreamServerInterceptor(), l.StreamServerInterceptor(), b.StreamServerInterceptor()),
		},
		Dial: []grpc.DialOption{
			grpc.WithChainUnaryInterceptor(l.UnaryClientInterceptor(), b.UnaryClientInterceptor()),
			grpc.WithChainStreamInterceptor(l.StreamClientInterceptor(), b.StreamClientInterceptor()),
		},
	})
	return env, rec
}

func TestFailedCallRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			return nil, errdetails.Database("", errors.New("secret cause"))
		}}
		env, rec := setup(t, slog.LevelInfo, svc)
		_, err := env.Client.Unary(requestid.NewContext(t.Context(), "caller-id"), &testpb.UnaryRequest{})
		if err == nil {
			t.Fatal("want an error")
		}
		got := rec.all(t)
		if len(got) != 2 {
			t.Fatalf("records = %v; want one per side", got)
		}
		server, client := got[0], got[1]
		want := map[string]any{
			"level": "WARN", "msg": "finished call", "grpc.component": "server", "grpc.service": "bulwark.testing.v1.TestService",
			"grpc.method": "Unary", "grpc.method_type": "unary", "grpc.code": "Unavailable", "app.code": "DB_ERROR", "app.retryable": true,
		}
		for k, v := range want {
			if server[k] != v {
				t.Errorf("server record %s = %v; want %v (record %v)", k, server[k], v, server)
			}
		}
		if server["request_id"] == "" || server["request_id"] == nil {
			t.Errorf("server record has no request_id: %v", server)
		}
		if !strings.Contains(server["grpc.error"].(string), "secret cause") {
			t.Errorf("server record lacks the cause: %v", server["grpc.error"])
		}
		if client["grpc.component"] != "client" || client["level"] != "INFO" || client["app.code"] != "DB_ERROR" ||
			client["request_id"] != "caller-id" || client["app.request_id"] != server["request_id"] {
			t.Errorf("client record = %v", client)
		}
		if strings.Contains(client["grpc.error"].(string), "secret") {
			t.Errorf("the client saw the cause: %v", client["grpc.error"])
		}
	})
}

func TestSuccessOnlyAtDebug(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env, rec := setup(t, slog.LevelInfo, &grpctest.Service{})
		if _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}); err != nil {
			t.Fatal(err)
		}
		if got := rec.all(t); len(got) != 0 {
			t.Errorf("success logged at Info: %v", got)
		}

		env, rec = setup(t, slog.LevelDebug, &grpctest.Service{})
		ss, err := env.Client.ServerStream(t.Context(), &testpb.ServerStreamRequest{Count: 2})
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := ss.Recv(); err != nil {
				break
			}
		}
		got := rec.all(t)
		if len(got) != 2 || got[0]["grpc.method_type"] != "server_stream" || got[1]["grpc.code"] != "OK" || got[1]["level"] != "DEBUG" {
			t.Errorf("records = %v; want a DEBUG OK record per side", got)
		}
	})
}

func TestLevels(t *testing.T) {
	if _, err := logging.New(nil); err == nil || !strings.Contains(err.Error(), "New(nil)") {
		t.Errorf("New(nil) = %v; want an error", err)
	}
	if _, err := logging.New(slog.New(slog.DiscardHandler), nil); err == nil || !strings.Contains(err.Error(), "logging: nil Option") {
		t.Errorf("New(logger, nil) = %v; want an error naming the nil Option", err)
	}
}

func BenchmarkUnaryServerSuccessNotLogged(b *testing.B) {
	l, err := logging.New(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	ic := l.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/greeter.v1.Greeter/SayHello"}
	handler := func(ctx context.Context, req any) (any, error) { return req, nil }
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ic(ctx, 1, info, handler)
	}
}
