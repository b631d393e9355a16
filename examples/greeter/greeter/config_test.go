package greeter_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkrpc/bulwark/examples/greeter/greeter"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     greeter.Config
		wantErr string
	}{
		{"zero", greeter.Config{}, ""},
		{"everything", greeter.Config{FailRate: 0.3, FailCode: "UNAVAILABLE", Latency: time.Second, SlowRate: 0.05, SlowLatency: time.Second,
			RetryAfter: time.Second, Capacity: 4, Chaos: true}, ""},
		{"app code", greeter.Config{FailCode: "EXTERNAL_SERVICE_ERROR"}, ""},
		{"custom app code", greeter.Config{FailCode: "SOMETHING_ELSE"}, ""},
		{"rate above one", greeter.Config{FailRate: 1.5}, "fail rate"},
		{"negative rate", greeter.Config{FailRate: -0.1}, "fail rate"},
		{"OK is no failure", greeter.Config{FailCode: "OK"}, "fail code"},
		{"lower case code", greeter.Config{FailCode: "db_error"}, "fail code"},
		{"negative latency", greeter.Config{Latency: -1}, "latency"},
		{"huge latency", greeter.Config{Latency: time.Hour}, "latency"},
		{"slow rate above one", greeter.Config{SlowRate: 2}, "slow rate"},
		{"negative slow rate", greeter.Config{SlowRate: -0.5}, "slow rate"},
		{"negative slow latency", greeter.Config{SlowLatency: -time.Second}, "slow latency"},
		{"huge slow latency", greeter.Config{SlowLatency: 2 * greeter.MaxDelay}, "slow latency"},
		{"negative retry after", greeter.Config{RetryAfter: -1}, "retry after"},
		{"negative capacity", greeter.Config{Capacity: -1}, "capacity"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wantErr == "" && err != nil {
				t.Fatalf("Validate = %v; want nil", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Validate = %v; want an error about %s", err, tc.wantErr)
			}
		})
	}
}

func TestConfigJSON(t *testing.T) {
	cfg := greeter.Config{FailRate: 0.25, FailCode: "UNAVAILABLE", Latency: 150 * time.Millisecond, SlowRate: 0.1, SlowLatency: 2 * time.Second,
		Capacity: 3, Chaos: true}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"fail_rate":0.25,"fail_code":"UNAVAILABLE","latency":"150ms","slow_rate":0.1,"slow_latency":"2s","retry_after":"0s","capacity":3,"chaos":true}`
	if string(b) != want {
		t.Fatalf("Marshal = %s; want %s", b, want)
	}
	var back greeter.Config
	if err := json.Unmarshal(b, &back); err != nil || back != cfg {
		t.Fatalf("round trip = %+v, %v; want %+v", back, err, cfg)
	}

	patched := cfg
	if err := json.Unmarshal([]byte(`{"fail_rate": 0, "latency": "1s", "slow_latency": "500ms"}`), &patched); err != nil {
		t.Fatal(err)
	}
	if patched.FailRate != 0 || patched.Latency != time.Second || patched.SlowLatency != 500*time.Millisecond ||
		patched.FailCode != "UNAVAILABLE" || patched.Capacity != 3 || patched.SlowRate != 0.1 {
		t.Errorf("patch changed %+v; want only fail_rate, latency and slow_latency changed", patched)
	}
	for _, bad := range []string{`{"fail_rat": 1}`, `{"latency": 5}`, `{"latency": "soon"}`, `{"slow_latency": "x"}`, `{} {}`, `[]`} {
		c := cfg
		if err := json.Unmarshal([]byte(bad), &c); err == nil {
			t.Errorf("Unmarshal(%s) succeeded; want an error", bad)
		}
	}
}

func TestFaultsHandler(t *testing.T) {
	svc, err := greeter.New(greeter.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h := greeter.FaultsHandler(svc)
	do := func(method, target, body string) (int, string) {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, strings.TrimSpace(rec.Body.String())
	}
	tests := []struct {
		name, method, target, body string
		wantCode                   int
		wantBody                   string // a substring
		want                       greeter.Config
	}{
		{"get", "GET", "/faults", "", 200, `"fail_code":"DB_ERROR"`, greeter.Config{}},
		{"post json", "POST", "/faults", `{"fail_rate":0.3,"fail_code":"UNAVAILABLE"}`, 200, `"fail_rate":0.3`,
			greeter.Config{FailRate: 0.3, FailCode: "UNAVAILABLE"}},
		{"put query", "PUT", "/faults?latency=200ms&capacity=4&chaos=true", "", 200, `"latency":"200ms"`,
			greeter.Config{FailRate: 0.3, FailCode: "UNAVAILABLE", Latency: 200 * time.Millisecond, Capacity: 4, Chaos: true}},
		{"invalid value changes nothing", "POST", "/faults", `{"fail_rate":0,"capacity":-2}`, 400, `capacity`,
			greeter.Config{FailRate: 0.3, FailCode: "UNAVAILABLE", Latency: 200 * time.Millisecond, Capacity: 4, Chaos: true}},
		{"unknown parameter", "POST", "/faults?rate=1", "", 400, `unknown parameter`,
			greeter.Config{FailRate: 0.3, FailCode: "UNAVAILABLE", Latency: 200 * time.Millisecond, Capacity: 4, Chaos: true}},
		{"bad json", "POST", "/faults", `{"fail_rate":`, 400, `error`,
			greeter.Config{FailRate: 0.3, FailCode: "UNAVAILABLE", Latency: 200 * time.Millisecond, Capacity: 4, Chaos: true}},
		{"delete", "DELETE", "/faults", "", 405, `not allowed`,
			greeter.Config{FailRate: 0.3, FailCode: "UNAVAILABLE", Latency: 200 * time.Millisecond, Capacity: 4, Chaos: true}},
		{"slow calls", "POST", "/faults?slow_rate=0.05&slow_latency=1s", "", 200, `"slow_latency":"1s"`,
			greeter.Config{FailRate: 0.3, FailCode: "UNAVAILABLE", Latency: 200 * time.Millisecond, SlowRate: 0.05, SlowLatency: time.Second,
				Capacity: 4, Chaos: true}},
		{"bad slow rate", "POST", "/faults?slow_rate=lots", "", 400, `slow_rate`,
			greeter.Config{FailRate: 0.3, FailCode: "UNAVAILABLE", Latency: 200 * time.Millisecond, SlowRate: 0.05, SlowLatency: time.Second,
				Capacity: 4, Chaos: true}},
		{"recover", "POST", "/faults?fail_rate=0&latency=0s&capacity=0&slow_rate=0", "", 200, `"fail_rate":0`,
			greeter.Config{FailCode: "UNAVAILABLE", SlowLatency: time.Second, Chaos: true}},
	}
	for _, tc := range tests { // in order: each step starts from the last
		code, body := do(tc.method, tc.target, tc.body)
		if code != tc.wantCode || !strings.Contains(body, tc.wantBody) {
			t.Errorf("%s: %s %s = %d %s; want %d with %s", tc.name, tc.method, tc.target, code, body, tc.wantCode, tc.wantBody)
		}
		if got := svc.Config(); got != tc.want {
			t.Errorf("%s: config = %+v; want %+v", tc.name, got, tc.want)
		}
	}
}

func TestHTTPHandler(t *testing.T) {
	svc, err := greeter.New(greeter.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := greeter.NewServer(svc, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.GRPC.Stop()
	h := srv.HTTPHandler()
	tests := []struct {
		target   string
		wantCode int
		wantBody string
	}{
		{"/metrics", http.StatusOK, "go_goroutines"},
		{"/faults", http.StatusOK, `"chaos":false`},
		{"/stats", http.StatusOK, `"requests":0`},
		{"/nothing", http.StatusNotFound, ""},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", tc.target, nil))
			if rec.Code != tc.wantCode || !strings.Contains(rec.Body.String(), tc.wantBody) {
				t.Errorf("GET %s = %d %.200s; want %d with %q", tc.target, rec.Code, rec.Body.String(), tc.wantCode, tc.wantBody)
			}
		})
	}
}

// FuzzConfigPatch feeds /faults bodies and queries to a Config: reading
// them never panics, and a Config that Validate accepts survives a round
// trip through its JSON form unchanged.
func FuzzConfigPatch(f *testing.F) {
	f.Add(`{"fail_rate":0.3,"fail_code":"UNAVAILABLE"}`, "latency=20ms&capacity=4")
	f.Add(`{"slow_rate":0.05,"slow_latency":"1s","retry_after":"250ms"}`, "slow_rate=0.5&slow_latency=2s&chaos=true")
	f.Add(`{"latency":"soon"}`, "fail_rate=x")
	f.Add(`{} {}`, "nope=1")
	f.Fuzz(func(t *testing.T, body, query string) {
		var c greeter.Config
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			return
		}
		q, err := url.ParseQuery(query)
		if err != nil || c.ApplyQuery(q) != nil || c.Validate() != nil {
			return
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", c, err)
		}
		var back greeter.Config
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if c.FailCode == "" {
			c.FailCode = greeter.DefaultFailCode // MarshalJSON writes the effective code
		}
		if back != c {
			t.Fatalf("round trip of %+v gave %+v (via %s)", c, back, b)
		}
	})
}
