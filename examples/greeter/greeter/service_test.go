package greeter_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	greeterv1 "github.com/bulwarkrpc/bulwark/examples/greeter/gen/greeter/v1"
	"github.com/bulwarkrpc/bulwark/examples/greeter/greeter"
)

func withFault(ctx context.Context, fault string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, greeter.FaultKey, fault)
}

// leaks reports what of the server's internals a status shows a caller.
func leaks(st *status.Status) []string {
	wire := st.Message() + " " + fmt.Sprint(st.Proto())
	var found []string
	for _, s := range []string{greeter.Secret, "goroutine", ".go:", "runtime/debug", "10.0.0.5"} {
		if strings.Contains(wire, s) {
			found = append(found, s)
		}
	}
	return found
}

func TestSayHelloFaults(t *testing.T) {
	tests := []struct {
		name      string
		fault     string
		wantCode  codes.Code
		wantApp   string // "" when the status must carry no application error
		retryable bool
		check     func(t *testing.T, ae *errdetails.ApplicationError)
		wantLog   string
	}{
		{name: "no fault", wantCode: codes.OK},
		{
			name: "validation error", fault: "error=VALIDATION_ERROR",
			wantCode: codes.InvalidArgument, wantApp: "VALIDATION_ERROR",
			check: func(t *testing.T, ae *errdetails.ApplicationError) {
				if len(ae.Violations) != 1 || ae.Violations[0].Field != "name" {
					t.Errorf("violations = %+v; want one on the field name", ae.Violations)
				}
			},
		},
		{
			name: "database error", fault: "error=DB_ERROR",
			wantCode: codes.Unavailable, wantApp: "DB_ERROR", retryable: true, wantLog: greeter.Secret,
			check: func(t *testing.T, ae *errdetails.ApplicationError) {
				if ae.Message != "greeting store unavailable" {
					t.Errorf("message = %q", ae.Message)
				}
			},
		},
		{
			name: "external service error", fault: "error=EXTERNAL_SERVICE_ERROR",
			wantCode: codes.Unavailable, wantApp: "EXTERNAL_SERVICE_ERROR", retryable: true, wantLog: greeter.Secret,
			check: func(t *testing.T, ae *errdetails.ApplicationError) {
				if ae.Details["service"] != greeter.ExternalService {
					t.Errorf("details = %v; want service %s", ae.Details, greeter.ExternalService)
				}
			},
		},
		{
			name: "retry after", fault: "error=DB_ERROR, retry-after=300ms",
			wantCode: codes.Unavailable, wantApp: "DB_ERROR", retryable: true,
			check: func(t *testing.T, ae *errdetails.ApplicationError) {
				if ae.RetryAfter != 300*time.Millisecond {
					t.Errorf("RetryAfter = %v; want 300ms", ae.RetryAfter)
				}
			},
		},
		{name: "other application code", fault: "error=QUOTA_BLOWN", wantCode: codes.Unknown, wantApp: "QUOTA_BLOWN"},
		{name: "plain gRPC code", fault: "error=UNAVAILABLE", wantCode: codes.Unavailable},
		{
			name: "plain error", fault: "plain-error",
			wantCode: codes.Internal, wantApp: errdetails.CodeInternal, wantLog: greeter.Secret,
		},
		{
			name: "panic", fault: "panic",
			wantCode: codes.Internal, wantApp: errdetails.CodeInternal, wantLog: "goroutine",
		},
		{
			name: "bad fault", fault: "explode",
			wantCode: codes.InvalidArgument, wantApp: "VALIDATION_ERROR",
			check: func(t *testing.T, ae *errdetails.ApplicationError) {
				if len(ae.Violations) != 1 || ae.Violations[0].Field != greeter.FaultKey {
					t.Errorf("violations = %+v; want one on %s", ae.Violations, greeter.FaultKey)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := start(t, greeter.Config{Chaos: true})
				ctx := t.Context()
				if tc.fault != "" {
					ctx = withFault(ctx, tc.fault)
				}
				var trailer metadata.MD
				reply, err := e.client.SayHello(ctx, &greeterv1.HelloRequest{Name: "Ada"}, grpc.Trailer(&trailer))
				st := status.Convert(err)
				if st.Code() != tc.wantCode {
					t.Fatalf("code = %v (%v); want %v", st.Code(), err, tc.wantCode)
				}
				if tc.wantCode == codes.OK {
					if reply.GetMessage() != "Hello, Ada!" {
						t.Errorf("reply = %q; want Hello, Ada!", reply.GetMessage())
					}
					return
				}
				if found := leaks(st); len(found) > 0 {
					t.Errorf("status shows %q to the caller: %v", found, st.Proto())
				}
				var ae *errdetails.ApplicationError
				if !errors.As(err, &ae) {
					if tc.wantApp != "" {
						t.Fatalf("error %T %v is not an ApplicationError; want %s", err, err, tc.wantApp)
					}
				} else {
					if ae.Code != tc.wantApp {
						t.Fatalf("app code = %q; want %q", ae.Code, tc.wantApp)
					}
					if ae.Retryable != tc.retryable {
						t.Errorf("retryable = %t; want %t", ae.Retryable, tc.retryable)
					}
					if ae.Domain != "greeter.v1.Greeter" || ae.RequestID == "" {
						t.Errorf("domain %q, request id %q; want greeter.v1.Greeter and an id", ae.Domain, ae.RequestID)
					}
					if tc.check != nil {
						tc.check(t, ae)
					}
				}
				if tc.wantLog != "" && !strings.Contains(e.logs.String(), tc.wantLog) {
					t.Errorf("server log lacks %q:\n%s", tc.wantLog, e.logs.String())
				}
				if tc.name == "retry after" {
					if got := trailer.Get("grpc-retry-pushback-ms"); len(got) != 1 || got[0] != "300" {
						t.Errorf("pushback trailer = %q; want 300", got)
					}
				}
			})
		})
	}
}

func TestChaosOffIgnoresFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := start(t, greeter.Config{})
		reply, err := e.client.SayHello(withFault(t.Context(), "panic"), &greeterv1.HelloRequest{Name: "Ada"})
		if err != nil || reply.GetMessage() != "Hello, Ada!" {
			t.Fatalf("SayHello = %v, %v; want the greeting: chaos is off", reply, err)
		}
	})
}

func TestNameValidation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := start(t, greeter.Config{})
		reply, err := e.client.SayHello(t.Context(), &greeterv1.HelloRequest{})
		if err != nil || reply.GetMessage() != "Hello, world!" {
			t.Fatalf("SayHello() = %v, %v; want Hello, world!", reply, err)
		}
		_, err = e.client.SayHello(t.Context(), &greeterv1.HelloRequest{Name: strings.Repeat("x", greeter.MaxNameLength+1)})
		if ae, ok := errdetails.FromError(err); !ok || ae.Code != errdetails.CodeValidation || ae.Violations[0].Field != "name" {
			t.Fatalf("long name: %v; want VALIDATION_ERROR on name", err)
		}
	})
}

func TestFailRate(t *testing.T) {
	tests := []struct {
		name       string
		cfg        greeter.Config
		calls      int
		minF, maxF int
		wantCode   codes.Code
		wantApp    string
	}{
		{"none", greeter.Config{}, 200, 0, 0, codes.OK, ""},
		{"all, default code", greeter.Config{FailRate: 1}, 50, 50, 50, codes.Unavailable, "DB_ERROR"},
		{"30% UNAVAILABLE", greeter.Config{FailRate: 0.3, FailCode: "UNAVAILABLE"}, 1000, 240, 360, codes.Unavailable, ""},
		{"half EXTERNAL_SERVICE_ERROR", greeter.Config{FailRate: 0.5, FailCode: "EXTERNAL_SERVICE_ERROR"}, 400, 150, 250, codes.Unavailable, "EXTERNAL_SERVICE_ERROR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := start(t, tc.cfg, greeter.WithSeed(7))
				failed := 0
				for range tc.calls {
					_, err := e.client.SayHello(t.Context(), &greeterv1.HelloRequest{Name: "Ada"})
					if err == nil {
						continue
					}
					failed++
					if status.Code(err) != tc.wantCode {
						t.Fatalf("code = %v; want %v", status.Code(err), tc.wantCode)
					}
					ae, ok := errdetails.FromError(err)
					if tc.wantApp == "" && ok {
						t.Fatalf("a plain %v carries application error %v", tc.wantCode, ae)
					}
					if tc.wantApp != "" && (!ok || ae.Code != tc.wantApp) {
						t.Fatalf("error %v; want %s", err, tc.wantApp)
					}
				}
				if failed < tc.minF || failed > tc.maxF {
					t.Errorf("%d of %d calls failed; want %d to %d", failed, tc.calls, tc.minF, tc.maxF)
				}
				if got := e.svc.Stats().Requests; got != int64(tc.calls) {
					t.Errorf("Stats().Requests = %d; want %d", got, tc.calls)
				}
			})
		})
	}
}

func TestFailRateIsDeterministicWithSeed(t *testing.T) {
	pattern := func() string {
		var b strings.Builder
		synctest.Test(t, func(t *testing.T) {
			e := start(t, greeter.Config{FailRate: 0.5}, greeter.WithSeed(42))
			for range 64 {
				_, err := e.client.SayHello(t.Context(), &greeterv1.HelloRequest{})
				b.WriteString(map[bool]string{true: "x", false: "."}[err != nil])
			}
		})
		return b.String()
	}
	a, b := pattern(), pattern()
	if a != b || !strings.Contains(a, "x") || !strings.Contains(a, ".") {
		t.Errorf("two runs with one seed failed as %s and %s; want the same mix", a, b)
	}
}

func TestConfigChangesAtRuntime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := start(t, greeter.Config{FailRate: 1, FailCode: "UNAVAILABLE"})
		call := func() codes.Code {
			_, err := e.client.SayHello(t.Context(), &greeterv1.HelloRequest{})
			return status.Code(err)
		}
		if got := call(); got != codes.Unavailable {
			t.Fatalf("during the outage: %v; want Unavailable", got)
		}
		if err := e.svc.SetConfig(greeter.Config{}); err != nil {
			t.Fatal(err)
		}
		if got := call(); got != codes.OK {
			t.Fatalf("after recovery: %v; want OK", got)
		}
		if err := e.svc.Update(func(c *greeter.Config) { c.FailRate, c.FailCode = 1, "VALIDATION_ERROR" }); err != nil {
			t.Fatal(err)
		}
		if got := call(); got != codes.InvalidArgument {
			t.Fatalf("after Update: %v; want InvalidArgument", got)
		}
		if err := e.svc.Update(func(c *greeter.Config) { c.FailRate = 2 }); err == nil {
			t.Fatal("Update to fail rate 2 succeeded; want an error")
		}
		if got := e.svc.Config().FailRate; got != 1 {
			t.Errorf("a refused Update changed the fail rate to %v", got)
		}
	})
}

func TestLatencyHonoursCancellation(t *testing.T) {
	tests := []struct {
		name     string
		cfg      greeter.Config
		fault    string
		deadline time.Duration
		wantCode codes.Code
		wantTook time.Duration
	}{
		{"latency completes", greeter.Config{Latency: 2 * time.Second}, "", time.Minute, codes.OK, 2 * time.Second},
		{"latency cut by deadline", greeter.Config{Latency: 30 * time.Second}, "", 100 * time.Millisecond, codes.DeadlineExceeded, 100 * time.Millisecond},
		{"delay fault adds to latency", greeter.Config{Chaos: true, Latency: time.Second}, "delay=1500ms", time.Minute, codes.OK, 2500 * time.Millisecond},
		{"delay fault cut by deadline", greeter.Config{Chaos: true}, "delay=1m", 250 * time.Millisecond, codes.DeadlineExceeded, 250 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := start(t, tc.cfg)
				ctx, cancel := context.WithTimeout(t.Context(), tc.deadline)
				defer cancel()
				if tc.fault != "" {
					ctx = withFault(ctx, tc.fault)
				}
				begin := time.Now()
				_, err := e.client.SayHello(ctx, &greeterv1.HelloRequest{})
				if took := time.Since(begin); status.Code(err) != tc.wantCode || took != tc.wantTook {
					t.Fatalf("SayHello = %v after %v; want %v after %v", err, took, tc.wantCode, tc.wantTook)
				}
				synctest.Wait() // let the server's handler return
				if st := e.svc.Stats(); st.InFlight != 0 || st.Waiting != 0 {
					t.Errorf("after the call: %+v; want nothing in flight", st)
				}
			})
		})
	}
}

func TestCancelledCallerStopsServerWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := start(t, greeter.Config{Latency: 50 * time.Second})
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() {
			_, err := e.client.SayHello(ctx, &greeterv1.HelloRequest{})
			errc <- err
		}()
		synctest.Wait()
		if st := e.svc.Stats(); st.InFlight != 1 {
			t.Fatalf("Stats = %+v; want the call in flight", st)
		}
		cancel()
		if err := <-errc; status.Code(err) != codes.Canceled {
			t.Fatalf("SayHello = %v; want Canceled", err)
		}
		synctest.Wait()
		if st := e.svc.Stats(); st.InFlight != 0 {
			t.Errorf("Stats = %+v; want the server's wait to have ended", st)
		}
	})
}

func TestCapacityQueuesCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := start(t, greeter.Config{Capacity: 2, Latency: time.Second})
		begin := time.Now()
		took := make(chan time.Duration, 6)
		for range 6 {
			go func() {
				if _, err := e.client.SayHello(t.Context(), &greeterv1.HelloRequest{}); err != nil {
					t.Error(err)
				}
				took <- time.Since(begin)
			}()
		}
		synctest.Wait()
		if st := e.svc.Stats(); st.InFlight != 2 || st.Waiting != 4 {
			t.Fatalf("Stats = %+v; want 2 in flight and 4 waiting", st)
		}
		var got []time.Duration
		for range 6 {
			got = append(got, <-took)
		}
		want := []time.Duration{time.Second, time.Second, 2 * time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("calls took %v; want %v: two slots of one second each", got, want)
		}
	})
}

func TestCapacityWaiterGivesUpAndCapacityRaised(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := start(t, greeter.Config{Capacity: 1, Latency: 10 * time.Second})
		first := make(chan error, 1)
		go func() {
			_, err := e.client.SayHello(t.Context(), &greeterv1.HelloRequest{})
			first <- err
		}()
		synctest.Wait()

		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := e.client.SayHello(ctx, &greeterv1.HelloRequest{}); status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("queued call = %v; want DeadlineExceeded while waiting for a slot", err)
		}
		synctest.Wait()
		if st := e.svc.Stats(); st.InFlight != 1 || st.Waiting != 0 {
			t.Fatalf("Stats = %+v; want the queued call gone", st)
		}

		second := make(chan time.Duration, 1)
		begin := time.Now()
		go func() {
			_, err := e.client.SayHello(t.Context(), &greeterv1.HelloRequest{})
			if err != nil {
				t.Error(err)
			}
			second <- time.Since(begin)
		}()
		synctest.Wait()
		if st := e.svc.Stats(); st.Waiting != 1 {
			t.Fatalf("Stats = %+v; want one call waiting", st)
		}
		if err := e.svc.Update(func(c *greeter.Config) { c.Capacity = 0 }); err != nil {
			t.Fatal(err)
		}
		if got := <-second; got != 10*time.Second {
			t.Errorf("after capacity was lifted the call took %v; want just its latency, 10s", got)
		}
		if err := <-first; err != nil {
			t.Fatal(err)
		}
	})
}

func TestServerStreamFaults(t *testing.T) {
	tests := []struct {
		name     string
		fault    string
		count    int32
		wantMsgs int
		wantCode codes.Code
		wantApp  string
	}{
		{"no fault", "", 3, 3, codes.OK, ""},
		{"count zero sends one", "", 0, 1, codes.OK, ""},
		{"error before the first message", "error=DB_ERROR", 3, 0, codes.Unavailable, "DB_ERROR"},
		{"error after two messages", "error=DB_ERROR,after=2", 3, 2, codes.Unavailable, "DB_ERROR"},
		{"after beyond count fails at the end", "plain-error,after=9", 3, 3, codes.Internal, errdetails.CodeInternal},
		{"panic after one", "panic,after=1", 3, 1, codes.Internal, errdetails.CodeInternal},
		{"too many", "", greeter.MaxCount + 1, 0, codes.InvalidArgument, errdetails.CodeValidation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := start(t, greeter.Config{Chaos: true})
				ctx := t.Context()
				if tc.fault != "" {
					ctx = withFault(ctx, tc.fault)
				}
				stream, err := e.client.SayHelloStream(ctx, &greeterv1.HelloStreamRequest{Name: "Ada", Count: tc.count})
				if err != nil {
					t.Fatal(err)
				}
				msgs := 0
				for {
					m, err := stream.Recv()
					if err == io.EOF {
						err = nil
					}
					if m != nil {
						msgs++
						if want := fmt.Sprintf("Hello, Ada! (%d/", msgs); !strings.HasPrefix(m.GetMessage(), want) {
							t.Errorf("message %d = %q; want prefix %q", msgs, m.GetMessage(), want)
						}
						continue
					}
					if status.Code(err) != tc.wantCode {
						t.Fatalf("stream ended with %v; want %v", err, tc.wantCode)
					}
					if err != nil {
						if found := leaks(status.Convert(err)); len(found) > 0 {
							t.Errorf("status shows %q", found)
						}
						if !hasCode(err, tc.wantApp) {
							t.Errorf("stream error %v; want %s", err, tc.wantApp)
						}
					}
					break
				}
				if msgs != tc.wantMsgs {
					t.Errorf("got %d messages; want %d", msgs, tc.wantMsgs)
				}
			})
		})
	}
}

func TestChatFaults(t *testing.T) {
	tests := []struct {
		name     string
		fault    string
		send     int
		wantMsgs int
		wantCode codes.Code
	}{
		{"echoes each", "", 3, 3, codes.OK},
		{"error at once", "error=EXTERNAL_SERVICE_ERROR", 3, 0, codes.Unavailable},
		{"error after two", "error=EXTERNAL_SERVICE_ERROR,after=2", 3, 2, codes.Unavailable},
		{"fault pending at close", "panic,after=5", 2, 2, codes.Internal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := start(t, greeter.Config{Chaos: true})
				ctx := t.Context()
				if tc.fault != "" {
					ctx = withFault(ctx, tc.fault)
				}
				stream, err := e.client.Chat(ctx)
				if err != nil {
					t.Fatal(err)
				}
				msgs := 0
				var end error
				for i := range tc.send {
					if err := stream.Send(&greeterv1.HelloRequest{Name: fmt.Sprint("n", i)}); err != nil {
						break // the server ended the stream; Recv says why
					}
					m, err := stream.Recv()
					if err != nil {
						end = err
						break
					}
					if want := fmt.Sprintf("Hello, n%d!", i); m.GetMessage() != want {
						t.Errorf("reply %d = %q; want %q", i, m.GetMessage(), want)
					}
					msgs++
				}
				if end == nil {
					if err := stream.CloseSend(); err != nil {
						t.Fatal(err)
					}
					_, end = stream.Recv()
					if end == io.EOF {
						end = nil
					}
				}
				if status.Code(end) != tc.wantCode || msgs != tc.wantMsgs {
					t.Fatalf("got %d replies then %v; want %d then %v", msgs, end, tc.wantMsgs, tc.wantCode)
				}
				if end != nil {
					if found := leaks(status.Convert(end)); len(found) > 0 {
						t.Errorf("status shows %q", found)
					}
				}
			})
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	if _, err := greeter.New(greeter.Config{FailRate: -1}); err == nil || !strings.Contains(err.Error(), "fail rate") {
		t.Fatalf("New(FailRate -1) = %v; want an error naming the fail rate", err)
	}
}
