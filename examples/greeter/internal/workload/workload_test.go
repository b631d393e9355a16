package workload_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/bulwarkrpc/bulwark/errdetails"
	greeterv1 "github.com/bulwarkrpc/bulwark/examples/greeter/gen/greeter/v1"
	"github.com/bulwarkrpc/bulwark/examples/greeter/greeter"
	"github.com/bulwarkrpc/bulwark/examples/greeter/internal/workload"
	"github.com/bulwarkrpc/bulwark/interceptors/boundary"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start serves a greeter with cfg over bufconn and returns a client whose
// innermost interceptor is counter. decode adds the boundary's decoders.
func start(t *testing.T, cfg greeter.Config, counter *workload.AttemptCounter, decode bool, serverOpts ...greeter.ServerOption) greeterv1.GreeterClient {
	t.Helper()
	svc, err := greeter.New(cfg, greeter.WithSeed(1))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := greeter.NewServer(svc, slog.New(slog.NewTextHandler(io.Discard, nil)), serverOpts...)
	if err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.GRPC.Serve(lis)
	}()
	var unary []grpc.UnaryClientInterceptor
	var stream []grpc.StreamClientInterceptor
	if decode {
		decoder, err := boundary.New()
		if err != nil {
			t.Fatal(err)
		}
		unary = append(unary, decoder.UnaryClientInterceptor())
		stream = append(stream, decoder.StreamClientInterceptor())
	}
	unary = append(unary, counter.UnaryClientInterceptor())
	stream = append(stream, counter.StreamClientInterceptor())
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(unary...),
		grpc.WithChainStreamInterceptor(stream...),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.GRPC.Stop()
		<-done
		_ = lis.Close()
	})
	return greeterv1.NewGreeterClient(conn)
}

func TestRun(t *testing.T) {
	tests := []struct {
		name      string
		server    greeter.Config
		cfg       workload.Config
		decode    bool
		wantOK    int
		wantCodes map[string]int
		wantApp   map[string]int
		wantP50   float64
		wantFirst *workload.ErrorReport // compared on code, app code, go type, retryable
		wantReply string
	}{
		{
			name: "unary success", server: greeter.Config{Latency: 10 * time.Millisecond},
			cfg:    workload.Config{Calls: 6, Concurrency: 2, Name: "Ada"},
			wantOK: 6, wantCodes: map[string]int{"OK": 6}, wantApp: map[string]int{}, wantP50: 10, wantReply: "Hello, Ada!",
		},
		{
			name: "decoded DB errors", server: greeter.Config{Chaos: true},
			cfg:    workload.Config{Calls: 4, Concurrency: 4, Fault: "error=DB_ERROR"},
			decode: true, wantCodes: map[string]int{"UNAVAILABLE": 4}, wantApp: map[string]int{"DB_ERROR": 4},
			wantFirst: &workload.ErrorReport{GRPCCode: "UNAVAILABLE", AppCode: "DB_ERROR", GoType: "*errdetails.ApplicationError", Retryable: true},
		},
		{
			name: "bare client still reads app codes", server: greeter.Config{Chaos: true},
			cfg:       workload.Config{Calls: 2, Concurrency: 1, Fault: "error=VALIDATION_ERROR"},
			wantCodes: map[string]int{"INVALID_ARGUMENT": 2}, wantApp: map[string]int{"VALIDATION_ERROR": 2},
			wantFirst: &workload.ErrorReport{GRPCCode: "INVALID_ARGUMENT", AppCode: "VALIDATION_ERROR", GoType: "*status.Error"},
		},
		{
			name: "deadline", server: greeter.Config{Latency: time.Second},
			cfg:       workload.Config{Calls: 3, Concurrency: 3, Deadline: 100 * time.Millisecond},
			wantCodes: map[string]int{"DEADLINE_EXCEEDED": 3}, wantApp: map[string]int{}, wantP50: 100,
			wantFirst: &workload.ErrorReport{GRPCCode: "DEADLINE_EXCEEDED", GoType: "*status.Error"},
		},
		{
			name: "server stream", server: greeter.Config{},
			cfg:    workload.Config{Calls: 2, Concurrency: 1, Method: workload.Stream, Name: "Ada", Count: 2},
			wantOK: 2, wantCodes: map[string]int{"OK": 2}, wantApp: map[string]int{}, wantReply: "Hello, Ada! (1/2)",
		},
		{
			name: "stream fails after one", server: greeter.Config{Chaos: true},
			cfg:    workload.Config{Calls: 1, Concurrency: 1, Method: workload.Stream, Fault: "error=EXTERNAL_SERVICE_ERROR,after=1"},
			decode: true, wantCodes: map[string]int{"UNAVAILABLE": 1}, wantApp: map[string]int{"EXTERNAL_SERVICE_ERROR": 1},
			wantFirst: &workload.ErrorReport{GRPCCode: "UNAVAILABLE", AppCode: "EXTERNAL_SERVICE_ERROR", GoType: "*errdetails.ApplicationError", Retryable: true},
		},
		{
			name: "bidi", server: greeter.Config{},
			cfg:    workload.Config{Calls: 3, Concurrency: 2, Method: workload.Bidi, Count: 2},
			wantOK: 3, wantCodes: map[string]int{"OK": 3}, wantApp: map[string]int{}, wantReply: "Hello, world #1!",
		},
		{
			name: "bidi panic", server: greeter.Config{Chaos: true},
			cfg:    workload.Config{Calls: 1, Concurrency: 1, Method: workload.Bidi, Fault: "panic,after=1"},
			decode: true, wantCodes: map[string]int{"INTERNAL": 1}, wantApp: map[string]int{"INTERNAL_ERROR": 1},
			wantFirst: &workload.ErrorReport{GRPCCode: "INTERNAL", AppCode: "INTERNAL_ERROR", GoType: "*errdetails.ApplicationError"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var counter workload.AttemptCounter
				client := start(t, tc.server, &counter, tc.decode)
				begin := time.Now()
				results, err := workload.Run(t.Context(), client, tc.cfg)
				if err != nil {
					t.Fatal(err)
				}
				s := workload.Summarize(tc.cfg, "bufnet", "test", results, counter.Count(), time.Since(begin), nil)
				if s.Calls != tc.cfg.Calls || s.OK != tc.wantOK || s.Attempts != int64(tc.cfg.Calls) || s.AttemptsPerCall != 1 {
					t.Errorf("calls %d ok %d attempts %d (%v per call); want %d, %d, %d", s.Calls, s.OK, s.Attempts, s.AttemptsPerCall, tc.cfg.Calls, tc.wantOK, tc.cfg.Calls)
				}
				if !equalCounts(s.Codes, tc.wantCodes) || !equalCounts(s.AppCodes, tc.wantApp) {
					t.Errorf("codes %v, app codes %v; want %v, %v", s.Codes, s.AppCodes, tc.wantCodes, tc.wantApp)
				}
				if s.P50Millis != tc.wantP50 {
					t.Errorf("p50 = %vms; want %vms", s.P50Millis, tc.wantP50)
				}
				if tc.wantReply != "" && (len(results[0].Replies) == 0 || results[0].Replies[0] != tc.wantReply) {
					t.Errorf("replies = %q; want first %q", results[0].Replies, tc.wantReply)
				}
				f := s.FirstError
				switch {
				case tc.wantFirst == nil && f != nil:
					t.Errorf("FirstError = %+v; want none", f)
				case tc.wantFirst != nil && f == nil:
					t.Errorf("FirstError = nil; want %+v", tc.wantFirst)
				case f != nil:
					if f.GRPCCode != tc.wantFirst.GRPCCode || f.AppCode != tc.wantFirst.AppCode || f.GoType != tc.wantFirst.GoType || f.Retryable != tc.wantFirst.Retryable {
						t.Errorf("FirstError = %+v; want %+v", f, tc.wantFirst)
					}
					if f.AppCode != "" && (f.RequestID == "" || f.Domain != "greeter.v1.Greeter" || !f.Decoded) {
						t.Errorf("FirstError = %+v; want a request id and the domain", f)
					}
				}
				b, err := json.Marshal(s)
				if err != nil || !strings.Contains(string(b), `"breaker_transitions":[]`) {
					t.Errorf("JSON %s, %v; want breaker_transitions as an empty list", b, err)
				}
			})
		})
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestRunStopsWhenContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var counter workload.AttemptCounter
		client := start(t, greeter.Config{Latency: time.Second}, &counter, false)
		ctx, cancel := context.WithTimeout(t.Context(), 2500*time.Millisecond)
		defer cancel()
		results, err := workload.Run(ctx, client, workload.Config{Calls: 100, Concurrency: 1})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Run = %v; want the context's error", err)
		}
		if len(results) != 3 || counter.Count() != 3 {
			t.Errorf("%d results, %d attempts; want 3: two done and one cut short", len(results), counter.Count())
		}
	})
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg     workload.Config
		wantErr string
	}{
		{workload.Config{Calls: 1, Concurrency: 1}, ""},
		{workload.Config{Calls: 0, Concurrency: 1}, "calls"},
		{workload.Config{Calls: workload.MaxCalls + 1, Concurrency: 1}, "calls"},
		{workload.Config{Calls: 1, Concurrency: 0}, "concurrency"},
		{workload.Config{Calls: 1, Concurrency: 1, Deadline: -1}, "deadline"},
		{workload.Config{Calls: 1, Concurrency: 1, Count: -1}, "count"},
		{workload.Config{Calls: 1, Concurrency: 1, Method: "client"}, "method"},
		{workload.Config{Calls: 1, Concurrency: 1, Rate: -1}, "rate"},
		{workload.Config{Calls: 1, Concurrency: 1, Rate: workload.MaxRate + 1}, "rate"},
	}
	for _, tc := range tests {
		t.Run(tc.wantErr, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Validate(%+v) = %v; want %q", tc.cfg, err, tc.wantErr)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var d []time.Duration
		for _, n := range ns {
			d = append(d, time.Duration(n)*time.Millisecond)
		}
		return d
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", ms(7), 0.99, 7 * time.Millisecond},
		{"median of four", ms(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{"p50 of 100", ms(hundred...), 0.5, 50 * time.Millisecond},
		{"p99 of 100", ms(hundred...), 0.99, 99 * time.Millisecond},
		{"max", ms(1, 2, 3), 1, 3 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := workload.Percentile(tc.sorted, tc.q); got != tc.want {
				t.Errorf("Percentile = %v; want %v", got, tc.want)
			}
		})
	}
}

// recorder is a GreeterClient whose SayHello takes latency and records
// when each call started.
type recorder struct {
	greeterv1.GreeterClient // only SayHello is called
	begin                   time.Time
	latency                 time.Duration
	mu                      sync.Mutex
	starts                  []time.Duration
}

func (r *recorder) SayHello(ctx context.Context, _ *greeterv1.HelloRequest, _ ...grpc.CallOption) (*greeterv1.HelloReply, error) {
	r.mu.Lock()
	r.starts = append(r.starts, time.Since(r.begin))
	r.mu.Unlock()
	select {
	case <-time.After(r.latency):
		return &greeterv1.HelloReply{Message: "Hello!"}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func TestOpenLoop(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	tests := []struct {
		name        string
		cfg         workload.Config
		wantElapsed time.Duration
		wantStarts  []time.Duration
	}{
		{
			// Calls start every 100ms, although each takes a second.
			name:        "on schedule whatever the latency",
			cfg:         workload.Config{Calls: 5, Concurrency: 10, Rate: 10},
			wantElapsed: 1400 * time.Millisecond,
			wantStarts:  ms(0, 100, 200, 300, 400),
		},
		{
			// The third call waits for the first to end, the fourth for
			// the second.
			name:        "late when the cap is reached",
			cfg:         workload.Config{Calls: 4, Concurrency: 2, Rate: 10},
			wantElapsed: 2100 * time.Millisecond,
			wantStarts:  ms(0, 100, 1000, 1100),
		},
		{
			name:        "closed loop for comparison",
			cfg:         workload.Config{Calls: 4, Concurrency: 2},
			wantElapsed: 2000 * time.Millisecond,
			wantStarts:  ms(0, 0, 1000, 1000),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{begin: time.Now(), latency: time.Second}
				results, err := workload.Run(t.Context(), rec, tc.cfg)
				if err != nil {
					t.Fatal(err)
				}
				if took := time.Since(rec.begin); took != tc.wantElapsed {
					t.Errorf("the workload took %v; want %v", took, tc.wantElapsed)
				}
				if len(results) != tc.cfg.Calls {
					t.Fatalf("%d results; want %d", len(results), tc.cfg.Calls)
				}
				for i, r := range results {
					if r.Err != nil || r.Latency != time.Second {
						t.Errorf("call %d: %v after %v", i, r.Err, r.Latency)
					}
				}
				if fmt.Sprint(rec.starts) != fmt.Sprint(tc.wantStarts) {
					t.Errorf("calls started at %v; want %v", rec.starts, tc.wantStarts)
				}
			})
		})
	}
}

func TestOpenLoopStopsWhenContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{begin: time.Now(), latency: 10 * time.Millisecond}
		ctx, cancel := context.WithTimeout(t.Context(), 250*time.Millisecond)
		defer cancel()
		results, err := workload.Run(ctx, rec, workload.Config{Calls: 100, Concurrency: 10, Rate: 10})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Run = %v; want the context's error", err)
		}
		if len(results) != 3 {
			t.Errorf("%d calls started; want 3 (at 0, 100 and 200ms)", len(results))
		}
	})
}

func TestAttemptCounterRejections(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want map[string]int64
	}{
		{"success", nil, map[string]int64{}},
		{"plain status", status.Error(codes.Unavailable, "down"), map[string]int64{}},
		{"overloaded", errdetails.New(errdetails.CodeServerOverloaded, "busy").GRPCStatus().Err(), map[string]int64{"server_overloaded": 1}},
		{"too short", errdetails.New(errdetails.CodeDeadlineTooShort, "late").GRPCStatus().Err(), map[string]int64{"deadline_too_short": 1}},
		{"other app code", errdetails.Database("down", nil).GRPCStatus().Err(), map[string]int64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rej workload.Rejections
			c := &workload.AttemptCounter{Rejections: &rej}
			invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return tc.err }
			if err := c.UnaryClientInterceptor()(t.Context(), "/m/M", nil, nil, nil, invoker); err != tc.err {
				t.Fatalf("the interceptor returned %v; want %v", err, tc.err)
			}
			if c.Count() != 1 || fmt.Sprint(rej.Map()) != fmt.Sprint(tc.want) {
				t.Errorf("count %d, rejections %v; want 1, %v", c.Count(), rej.Map(), tc.want)
			}
		})
	}
}

func TestRejections(t *testing.T) {
	var r workload.Rejections
	r.Add(workload.CircuitOpen)
	r.Add(workload.CircuitOpen)
	r.Add(workload.RetryBudget)
	r.Add(workload.Reason(99)) // ignored
	s := workload.Summarize(workload.Config{Calls: 2, Concurrency: 1}, "t", "bulwark", []workload.Result{
		{Err: fmt.Errorf("%w: %w", retry.ErrBudgetExhausted, status.Error(codes.Unavailable, "down"))},
		{},
	}, 2, time.Second, nil)
	s.AddRejections(&r)
	want := map[string]int64{"circuit_open": 2, "retry_budget": 2}
	if fmt.Sprint(s.Rejections) != fmt.Sprint(want) {
		t.Errorf("Rejections = %v; want %v: one budget stop seen in the results, one counted", s.Rejections, want)
	}
	if got := workload.Reason(99).String(); got != "unknown" {
		t.Errorf("Reason(99) = %q", got)
	}
}

func TestAttemptCounterStreamRejections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rej workload.Rejections
		counter := &workload.AttemptCounter{Rejections: &rej}
		client := start(t, greeter.Config{Latency: time.Second}, counter, false, greeter.WithLimit(1))
		cfg := workload.Config{Calls: 2, Concurrency: 2, Method: workload.Stream, Count: 1}
		results, err := workload.Run(t.Context(), client, cfg)
		if err != nil {
			t.Fatal(err)
		}
		s := workload.Summarize(cfg, "bufnet", "bare", results, counter.Count(), time.Second, nil)
		s.AddRejections(&rej)
		if s.OK != 1 || s.AppCodes["SERVER_OVERLOADED"] != 1 || s.Rejections["server_overloaded"] != 1 || s.Attempts != 2 {
			t.Errorf("summary %+v; want one stream served and one refused by the server's limit of 1", s)
		}
	})
}
