package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
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
		{[]string{"-config", "/nonexistent/bulwark.json"}, "-config: open /nonexistent/bulwark.json: no such file"},
		{[]string{"-config", writeConfig(t, `{"limit": "8"}`)}, "live config: limit: got a JSON string, want an integer"},
		{[]string{"-config", writeConfig(t, `{"limit": 8, "breaker": true}`)}, `unknown field "breaker"`},
		{[]string{"-config", writeConfig(t, `{"limit": -8}`)}, "limit -8: must not be negative"},
		{[]string{"-limit", "4", "-config", writeConfig(t, `{"limit": 8}`)}, "-limit 4 and the limit 8 in"},
		{[]string{"-breaker=false", "-config", writeConfig(t, `{"breaker_failures": 3}`)}, "-breaker=false and the breaker settings"},
		{[]string{"-bare", "-config", writeConfig(t, `{}`)}, "-config with -bare"},
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

// writeConfig writes a -config file holding text and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bulwark.json")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// getBody GETs url and returns the status code and the body.
func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body))
}

// hup sends SIGHUP to the test process, where run listens for it, and
// returns the line the server prints about the reload.
func (s *started) hup(t *testing.T) string {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-s.lines:
			if !ok {
				t.Fatalf("the server ended: %v\n%s", s.stop(), s.stderr.String())
			}
			if strings.HasPrefix(line, "greeter: config reload") {
				return line
			}
		case <-timeout:
			t.Fatalf("no reload line within 10s after SIGHUP\n%s", s.stderr.String())
		}
	}
}

// TestServerConfigFile: -config seeds the chain, SIGHUP applies the file
// again, a bad file keeps the settings in force, and POST /config changes
// them too.
func TestServerConfigFile(t *testing.T) {
	path := writeConfig(t, `{"limit": 4, "breaker_failures": 5}`)
	s := startRun(t, "-limit", "4", "-config", path)
	defer http.DefaultClient.CloseIdleConnections()
	const at4 = `{"limit":4,"min_remaining":"1ms","max_deadline":"0s","breaker_failures":5,"breaker_open":"5s"}`
	if code, body := getBody(t, s.httpURL+"/config"); code != http.StatusOK || body != at4 {
		t.Fatalf("GET /config = %d %s; want 200 %s (the file's, with the breaker on)", code, body, at4)
	}

	if err := os.WriteFile(path, []byte(`{"limit": 2, "breaker_failures": 5, "breaker_open": "1s"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	const at2 = `{"limit":2,"min_remaining":"1ms","max_deadline":"0s","breaker_failures":5,"breaker_open":"1s"}`
	if line := s.hup(t); line != "greeter: config reloaded from "+path+": "+at2 {
		t.Errorf("after SIGHUP the server printed %q; want the new settings %s", line, at2)
	}
	if _, body := getBody(t, s.httpURL+"/config"); body != at2 {
		t.Errorf("GET /config after SIGHUP = %s; want %s", body, at2)
	}

	for _, bad := range []string{`{"limit": 2,`, `{"limit": -1}`} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if line := s.hup(t); !strings.HasPrefix(line, "greeter: config reload from "+path+" failed; kept the settings in force: ") {
			t.Errorf("after SIGHUP with %s the server printed %q; want a failure", bad, line)
		}
		if _, body := getBody(t, s.httpURL+"/config"); body != at2 {
			t.Errorf("GET /config after a bad file %s = %s; want the settings kept: %s", bad, body, at2)
		}
	}
	if log := s.stderr.String(); !strings.Contains(log, `"msg":"greeter: config reload failed; the settings in force are kept"`) ||
		!strings.Contains(log, "limit -1: must not be negative") || !strings.Contains(log, `"msg":"bulwark: configuration reloaded"`) {
		t.Errorf("the log lacks the reloads and the failures:\n%s", log)
	}

	resp, err := http.Post(s.httpURL+"/config", "application/json", strings.NewReader(`{"limit": 6}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"limit":6`) {
		t.Errorf("POST /config = %d %s; want 200 and limit 6", resp.StatusCode, body)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("run = %v; want a clean shutdown", err)
	}
}
