package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	greeterv1 "github.com/bulwarkrpc/bulwark/examples/greeter/gen/greeter/v1"
	"github.com/bulwarkrpc/bulwark/examples/greeter/greeter"
	"github.com/bulwarkrpc/bulwark/examples/greeter/internal/logbuf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// started is a server run by run in the test process.
type started struct {
	grpcAddr, httpURL string
	stderr            *logbuf.Buffer
	lines             chan string // the rest of standard output
	stop              func() error
}

// startRun runs the server with args on 127.0.0.1 ports chosen by the
// system and waits for it to print its addresses.
func startRun(t *testing.T, args ...string) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &started{stderr: &logbuf.Buffer{}, lines: make(chan string, 16)}
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"-addr", "127.0.0.1:0", "-metrics-addr", "127.0.0.1:0"}, args...), pw, s.stderr)
		_ = pw.Close()
		done <- err
	}()
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	var once sync.Once
	var runErr error
	s.stop = func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
			for range s.lines { // drain until run's output is closed
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = s.stop() })

	deadline := time.After(10 * time.Second)
	for s.grpcAddr == "" || s.httpURL == "" {
		select {
		case line, ok := <-s.lines:
			if !ok {
				t.Fatalf("server ended before it listened: %v\n%s", s.stop(), s.stderr.String())
			}
			if a, ok := strings.CutPrefix(line, "greeter: listening on "); ok {
				s.grpcAddr = a
			}
			if a, ok := strings.CutPrefix(line, "greeter: http on "); ok {
				s.httpURL, _, _ = strings.Cut(a, " ")
			}
		case <-deadline:
			t.Fatal("server did not print its addresses within 10s")
		}
	}
	return s
}

func TestServerBinary(t *testing.T) {
	s := startRun(t, "-chaos", "-latency", "1ms")
	if !strings.HasPrefix(s.grpcAddr, "127.0.0.1:") || strings.HasSuffix(s.grpcAddr, ":0") {
		t.Fatalf("listening on %q; want 127.0.0.1 and the bound port", s.grpcAddr)
	}
	conn, err := grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	client := greeterv1.NewGreeterClient(conn)
	reply, err := client.SayHello(ctx, &greeterv1.HelloRequest{Name: "Ada"})
	if err != nil || reply.GetMessage() != "Hello, Ada!" {
		t.Fatalf("SayHello = %v, %v", reply, err)
	}
	hc, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "greeter.v1.Greeter"})
	if err != nil || hc.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health = %v, %v; want SERVING", hc, err)
	}

	_, err = client.SayHello(metadata.AppendToOutgoingContext(ctx, greeter.FaultKey, "plain-error"), &greeterv1.HelloRequest{})
	st := status.Convert(err)
	if st.Code() != codes.Internal || strings.Contains(st.String(), greeter.Secret) {
		t.Errorf("plain-error = %v; want INTERNAL without the secret", st)
	}
	ae, ok := errdetails.FromError(st.Err())
	if !ok || ae.RequestID == "" {
		t.Fatalf("plain-error status carries no request id: %v", st.Proto())
	}
	if log := s.stderr.String(); !strings.Contains(log, greeter.Secret) || !strings.Contains(log, ae.RequestID) {
		t.Errorf("the JSON log on stderr lacks the secret cause or request id %s:\n%s", ae.RequestID, log)
	}

	for path, want := range map[string]string{
		"/metrics": `grpc_server_handled_total{grpc_code="Internal",grpc_method="SayHello",grpc_service="greeter.v1.Greeter",grpc_type="unary"} 1`,
		"/faults":  `"chaos":true`,
		"/stats":   `"requests":2`,
	} {
		resp, err := http.Get(s.httpURL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s = %d %.300s; want %s", path, resp.StatusCode, body, want)
		}
	}
	resp, err := http.Post(s.httpURL+"/faults?fail_rate=1&fail_code=UNAVAILABLE", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := client.SayHello(ctx, &greeterv1.HelloRequest{}); status.Code(err) != codes.Unavailable {
		t.Errorf("after POST /faults: %v; want UNAVAILABLE", err)
	}
	http.DefaultClient.CloseIdleConnections()

	if err := s.stop(); err != nil {
		t.Fatalf("run = %v; want a clean shutdown", err)
	}
}

// TestServerBareBinary: -bare serves plain gRPC, without the error boundary
// or the metrics interceptors, and ignores -limit.
func TestServerBareBinary(t *testing.T) {
	s := startRun(t, "-bare", "-chaos", "-limit", "1", "-latency", "1ms")
	conn, err := grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	client := greeterv1.NewGreeterClient(conn)
	_, err = client.SayHello(metadata.AppendToOutgoingContext(ctx, greeter.FaultKey, "plain-error"), &greeterv1.HelloRequest{})
	if st := status.Convert(err); st.Code() != codes.Unknown || !strings.Contains(st.Message(), greeter.Secret) {
		t.Errorf("plain-error from a bare server = %v; want UNKNOWN with the handler's own text", err)
	}
	errs := make(chan error, 4)
	for range 4 { // beyond -limit 1: a bare server sheds nothing
		go func() {
			_, err := client.SayHello(ctx, &greeterv1.HelloRequest{})
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("a call to the bare server failed: %v", err)
		}
	}
	resp, err := http.Get(s.httpURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if strings.Contains(string(body), "grpc_server_") || !strings.Contains(string(body), "go_goroutines") {
		t.Errorf("the bare server's /metrics: %.300s; want the Go runtime's metrics only", body)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("run = %v; want a clean shutdown", err)
	}
}

func TestServerNoHTTP(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-metrics-addr", ""}, pw, io.Discard)
		_ = pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "greeter: listening on 127.0.0.1:") {
		t.Fatalf("first line %q", sc.Text())
	}
	cancel()
	var rest []string
	for sc.Scan() {
		rest = append(rest, sc.Text())
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(rest, "\n"), "http on") {
		t.Errorf("printed an HTTP address with -metrics-addr \"\": %q", rest)
	}
}

func TestServerFlagErrors(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"-fail-rate", "2"}, "fail rate"},
		{[]string{"-fail-code", "oops"}, "fail code"},
		{[]string{"-capacity", "-1"}, "capacity"},
		{[]string{"-latency", "soon"}, "invalid value"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"-addr", "127.0.0.1:-5"}, "invalid port"},
		{[]string{"-limit", "-1"}, "WithLimit(-1)"},
		{[]string{"-slow-rate", "1.5"}, "slow rate"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stderr logbuf.Buffer
			err := run(t.Context(), append(tc.args, "-metrics-addr", ""), io.Discard, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("run = %v; want an error with %q", err, tc.wantErr)
			}
		})
	}
}
