package greeter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/bulwarkrpc/bulwark/errdetails"
	greeterv1 "github.com/bulwarkrpc/bulwark/examples/greeter/gen/greeter/v1"
	"github.com/bulwarkrpc/bulwark/examples/greeter/greeter"
)

func TestReadLive(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    greeter.Live
		wantErr string
	}{
		{name: "empty object takes the defaults", in: `{}`, want: greeter.DefaultLive()},
		{name: "whole", in: `{"limit": 8, "min_remaining": "5ms", "max_deadline": "2s", "breaker_failures": 5, "breaker_open": "250ms"}`,
			want: greeter.Live{Limit: 8, MinRemaining: 5 * time.Millisecond, MaxDeadline: 2 * time.Second, BreakerFailures: 5, BreakerOpen: 250 * time.Millisecond}},
		{name: "left out is default", in: `{"limit": 2}`, want: greeter.Live{Limit: 2, MinRemaining: time.Millisecond}},
		{name: "zero min remaining", in: `{"min_remaining": "0s"}`, want: greeter.Live{}},
		{name: "unknown field", in: `{"limt": 2}`, wantErr: `unknown field "limt"`},
		{name: "bad duration", in: `{"max_deadline": "soon"}`, wantErr: `max_deadline: time: invalid duration "soon"`},
		{name: "duration as a number", in: `{"breaker_open": 5}`, wantErr: `breaker_open: got a JSON number, want a Go duration string such as "250ms"`},
		{name: "limit as a string", in: `{"limit": "8"}`, wantErr: "limit: got a JSON string, want an integer"},
		{name: "fractional limit", in: `{"limit": 1.5}`, wantErr: "limit: got a JSON number 1.5, want an integer"},
		{name: "negative limit", in: `{"limit": -1}`, wantErr: "limit -1: must not be negative"},
		{name: "negative duration", in: `{"min_remaining": "-1ms"}`, wantErr: "min_remaining -1ms: must not be negative"},
		{name: "negative failures", in: `{"breaker_failures": -3}`, wantErr: "breaker_failures -3: must not be negative"},
		{name: "not an object", in: `[8]`, wantErr: "want a JSON object"},
		{name: "null", in: ` null `, wantErr: "want a JSON object"},
		{name: "trailing data", in: `{"limit": 2} {"limit": 3}`, wantErr: "trailing data"},
		{name: "empty", in: ``, wantErr: "want a JSON object"},
		{name: "too large", in: `{"limit": 2}` + strings.Repeat(" ", greeter.MaxLiveBytes), wantErr: "larger than 65536 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := greeter.ReadLive(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "greeter: live config: ") {
					t.Fatalf("ReadLive = %+v, %v; want an error with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ReadLive = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// FuzzReadLive checks that ReadLive never panics, and that what it accepts
// encodes to JSON that it reads back the same.
func FuzzReadLive(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"limit": 8}`, `{"limit": 8, "min_remaining": "1ms", "max_deadline": "0s", "breaker_failures": 5, "breaker_open": "5s"}`,
		`{"limt": 2}`, `{"max_deadline": "soon"}`, `{"limit": -1}`, `{"breaker_open": "1e3h"}`, `null`, `{"limit": 1e30}`, ``, `{}{}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		l, err := greeter.ReadLive(strings.NewReader(in))
		if err != nil {
			if l != (greeter.Live{}) {
				t.Fatalf("ReadLive returned %+v with error %v", l, err)
			}
			return
		}
		if err := l.Validate(); err != nil {
			t.Fatalf("ReadLive accepted %+v, which Validate refuses: %v", l, err)
		}
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := greeter.ReadLive(bytes.NewReader(b)); err != nil || back != l {
			t.Fatalf("ReadLive(%s) = %+v, %v; want %+v", b, back, err, l)
		}
	})
}

// serveHTTP sends one request to the server's HTTP handler and returns the
// status and the body.
func serveHTTP(t *testing.T, srv *greeter.Server, method, path, body string) (int, string) {
	t.Helper()
	return serveHTTPAs(t, srv, method, path, "application/json", body)
}

// serveHTTPAs is serveHTTP with a Content-Type.
func serveHTTPAs(t *testing.T, srv *greeter.Server, method, path, contentType, body string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	srv.HTTPHandler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func TestConfigEndpoint(t *testing.T) {
	e := startServer(t, greeter.Config{}, []greeter.ServerOption{greeter.WithLimit(8)})
	limit := func() int { return e.srv.Chain.Limiter().Stats().Limit }
	const at8 = `{"limit":8,"min_remaining":"1ms","max_deadline":"0s","breaker_failures":0,"breaker_open":"0s"}`
	if code, body := serveHTTP(t, e.srv, http.MethodGet, "/config", ""); code != http.StatusOK || strings.TrimSpace(body) != at8 {
		t.Fatalf("GET /config = %d %s; want 200 %s", code, body, at8)
	}

	code, body := serveHTTP(t, e.srv, http.MethodPost, "/config", `{"limit": 2, "max_deadline": "3s"}`)
	const at2 = `{"limit":2,"min_remaining":"1ms","max_deadline":"3s","breaker_failures":0,"breaker_open":"0s"}`
	if code != http.StatusOK || strings.TrimSpace(body) != at2 || limit() != 2 {
		t.Fatalf("POST /config limit 2 = %d %s, limit %d; want 200 %s and limit 2", code, body, limit(), at2)
	}

	refused := []struct {
		name, body string
		code       int
		wantErr    string
	}{
		{"a breaker's open time without a breaker", `{"limit": 3, "breaker_open": "1s"}`, http.StatusBadRequest, "WithCircuitBreaker: the chain was built without it"},
		{"a breaker the server lacks", `{"limit": 3, "breaker_failures": 5}`, http.StatusBadRequest, "WithCircuitBreaker: the chain was built without it"},
		{"unknown field", `{"limit": 3, "limt": 3}`, http.StatusBadRequest, `unknown field "limt"`},
		{"bad duration", `{"limit": 3, "min_remaining": "1 ms"}`, http.StatusBadRequest, "min_remaining: time: unknown unit"},
		{"negative limit", `{"limit": -3}`, http.StatusBadRequest, "limit -3: must not be negative"},
		{"oversized", `{"limit": 3}` + strings.Repeat(" ", greeter.MaxLiveBytes), http.StatusRequestEntityTooLarge, "request body too large"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			code, body := serveHTTP(t, e.srv, http.MethodPost, "/config", tc.body)
			var got struct{ Error string }
			if err := json.Unmarshal([]byte(body), &got); err != nil || code != tc.code || !strings.Contains(got.Error, tc.wantErr) {
				t.Errorf("POST /config %.40s = %d %s; want %d with %q", tc.body, code, body, tc.code, tc.wantErr)
			}
			if code, body := serveHTTP(t, e.srv, http.MethodGet, "/config", ""); limit() != 2 || strings.TrimSpace(body) != at2 {
				t.Errorf("after a refused POST: limit %d, GET /config = %d %s; want nothing changed: %s", limit(), code, body, at2)
			}
		})
	}

	if code, _ := serveHTTP(t, e.srv, http.MethodPut, "/config", `{"limit": 3}`); code != http.StatusMethodNotAllowed {
		t.Errorf("PUT /config = %d; want 405", code)
	}
	// A form or text/plain POST, which any web page may send cross-site
	// without asking, is refused.
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", ""} {
		if code, _ := serveHTTPAs(t, e.srv, http.MethodPost, "/config", ct, `{"limit": 1}`); code != http.StatusUnsupportedMediaType || limit() != 2 {
			t.Errorf("POST /config as %q = %d, limit %d; want 415 and limit 2 kept", ct, code, limit())
		}
	}
	// Limit 0 is the limit the server started with.
	if code, body := serveHTTP(t, e.srv, http.MethodPost, "/config", `{"limit": 0}`); code != http.StatusOK || limit() != 8 {
		t.Errorf("POST /config limit 0 = %d %s, limit %d; want 200 and the starting limit 8", code, body, limit())
	}
	// Two reloads applied; two refused by the chain (the others never
	// reached it).
	const want = `
# HELP bulwark_config_reloads_total Reconfigure calls on a chain, by result: ok (applied) or error (refused; nothing changed).
# TYPE bulwark_config_reloads_total counter
bulwark_config_reloads_total{result="error"} 2
bulwark_config_reloads_total{result="ok"} 2
`
	if err := testutil.GatherAndCompare(e.srv.Registry, strings.NewReader(want), "bulwark_config_reloads_total"); err != nil {
		t.Error(err)
	}
}

func TestConfigEndpointBare(t *testing.T) {
	e := startServer(t, greeter.Config{}, []greeter.ServerOption{greeter.WithBare(true)})
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		if code, _ := serveHTTP(t, e.srv, method, "/config", `{}`); code != http.StatusNotFound {
			t.Errorf("%s /config on a bare server = %d; want 404", method, code)
		}
	}
	if err := e.srv.Reconfigure(greeter.DefaultLive()); err == nil || !strings.Contains(err.Error(), "bare server") {
		t.Errorf("Reconfigure on a bare server = %v; want an error", err)
	}
}

func TestWithLive(t *testing.T) {
	tests := []struct {
		name      string
		opts      []greeter.ServerOption
		wantLimit int // 0: no limiter
		breaker   bool
		want      greeter.Live
	}{
		{"defaults", nil, 0, false, greeter.DefaultLive()},
		{"WithLimit", []greeter.ServerOption{greeter.WithLimit(6)}, 6, false, greeter.Live{Limit: 6, MinRemaining: time.Millisecond}},
		{"limit turns shedding on", []greeter.ServerOption{greeter.WithLive(greeter.Live{Limit: 3})}, 3, false, greeter.Live{Limit: 3}},
		{"limit replaces WithLimit's", []greeter.ServerOption{greeter.WithLimit(6), greeter.WithLive(greeter.Live{Limit: 3})}, 3, false, greeter.Live{Limit: 3}},
		{"breaker settings turn the breaker on", []greeter.ServerOption{greeter.WithLive(greeter.Live{BreakerFailures: 4, MaxDeadline: time.Second})},
			0, true, greeter.Live{BreakerFailures: 4, BreakerOpen: greeter.DefaultBreakerOpen, MaxDeadline: time.Second}},
		{"WithCircuitBreaker fills in the open time", []greeter.ServerOption{greeter.WithCircuitBreaker(true)},
			0, true, greeter.Live{MinRemaining: time.Millisecond, BreakerOpen: greeter.DefaultBreakerOpen}},
		{"adaptive bounded", []greeter.ServerOption{greeter.WithAdaptive(true), greeter.WithLive(greeter.Live{Limit: 5})}, 5, false, greeter.Live{Limit: 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := startServer(t, greeter.Config{}, tc.opts)
			if got := e.srv.Live(); got != tc.want {
				t.Errorf("Live() = %+v; want %+v", got, tc.want)
			}
			if lim := e.srv.Chain.Limiter(); (lim != nil) != (tc.wantLimit > 0) || lim != nil && lim.Stats().Limit != tc.wantLimit {
				t.Errorf("limiter %v; want limit %d", lim, tc.wantLimit)
			}
			if got := e.srv.Chain.Circuit() != nil; got != tc.breaker {
				t.Errorf("breaker %t; want %t", got, tc.breaker)
			}
		})
	}
	svc, err := greeter.New(greeter.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := greeter.NewServer(svc, discardLogger(), greeter.WithLive(greeter.Live{MaxDeadline: -time.Second})); err == nil || !strings.Contains(err.Error(), "max_deadline -1s") {
		t.Errorf("NewServer(WithLive with a negative max_deadline) = %v; want an error naming it", err)
	}
}

// TestReconfigure changes each component of a running server and checks
// that the chain is given only the components that changed.
func TestReconfigure(t *testing.T) {
	e := startServer(t, greeter.Config{}, []greeter.ServerOption{greeter.WithAdaptive(true), greeter.WithLimit(10), greeter.WithCircuitBreaker(true)})
	steps := []struct {
		live        greeter.Live
		wantChanged string
	}{
		{greeter.Live{Limit: 10, MinRemaining: 5 * time.Millisecond, BreakerOpen: greeter.DefaultBreakerOpen}, "WithDeadline"},
		{greeter.Live{Limit: 4, MinRemaining: 5 * time.Millisecond}, "WithConcurrency"}, // BreakerOpen 0 is its default
		{greeter.Live{Limit: 4, MinRemaining: 5 * time.Millisecond, BreakerFailures: 3, BreakerOpen: time.Second}, "WithCircuitBreaker"},
		{greeter.Live{Limit: 4, MinRemaining: 5 * time.Millisecond, BreakerFailures: 3, BreakerOpen: time.Second}, ""},
	}
	for i, st := range steps {
		before := strings.Count(e.logs.String(), "configuration reloaded")
		if err := e.srv.Reconfigure(st.live); err != nil {
			t.Fatalf("step %d: Reconfigure(%+v) = %v", i, st.live, err)
		}
		logs := strings.Split(strings.TrimSpace(e.logs.String()), "\n")
		last := logs[len(logs)-1]
		if strings.Count(e.logs.String(), "configuration reloaded") != before+1 || !strings.Contains(last, `"changed":"`+st.wantChanged+`"`) {
			t.Errorf("step %d: the last log record is %s; want a reload that changed %q", i, last, st.wantChanged)
		}
	}
	want := greeter.Live{Limit: 4, MinRemaining: 5 * time.Millisecond, BreakerFailures: 3, BreakerOpen: time.Second}
	if got := e.srv.Live(); got != want {
		t.Errorf("Live() = %+v; want %+v", got, want)
	}
	if got := e.srv.Chain.Limiter().Stats().Limit; got != 4 {
		t.Errorf("adaptive limit %d; want 4, the new gradient's maximum", got)
	}
}

// TestReconfigureSheds lowers the limit while a call holds a permit: the
// next call is shed, and the one in flight finishes.
func TestReconfigureSheds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := startServer(t, greeter.Config{Latency: time.Second}, []greeter.ServerOption{greeter.WithLimit(4)})
		first := make(chan error, 1)
		go func() {
			_, err := e.client.SayHello(context.Background(), &greeterv1.HelloRequest{})
			first <- err
		}()
		synctest.Wait() // the first call holds a permit and waits out its latency
		if err := e.srv.Reconfigure(greeter.Live{Limit: 1, MinRemaining: time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.client.SayHello(t.Context(), &greeterv1.HelloRequest{}); !hasCode(err, errdetails.CodeServerOverloaded) {
			t.Errorf("a call beyond the lowered limit = %v; want SERVER_OVERLOADED", err)
		}
		if err := <-first; err != nil {
			t.Errorf("the call in flight = %v; want it to finish", err)
		}
	})
}
