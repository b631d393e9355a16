package outlier

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseConfigDefaults(t *testing.T) {
	for _, js := range []string{``, `{}`, ` { } `} {
		c, err := parseConfig(json.RawMessage(js))
		if err != nil {
			t.Fatalf("%q: %v", js, err)
		}
		if c.interval != 10*time.Second || c.baseEjectionTime != 30*time.Second || c.maxEjectionTime != 300*time.Second ||
			c.maxEjectionPercent != 10 || c.consecutiveFailures != 5 || c.successRate != nil || c.failurePercentage != nil ||
			c.childName != "round_robin" {
			t.Fatalf("%q: defaults %+v", js, c)
		}
	}
}

// A config written for grpc-go's outlier_detection_experimental parses
// unchanged, with A50's defaults in the rule objects.
func TestParseConfigA50(t *testing.T) {
	c, err := parseConfig(json.RawMessage(`{
		"interval": "1.5s", "baseEjectionTime": "0.100s", "maxEjectionTime": "60s", "maxEjectionPercent": 100,
		"successRateEjection": {"requestVolume": 7},
		"failurePercentageEjection": {},
		"childPolicy": [{"unknown_policy": {}}, {"weighted_round_robin": {"blackoutPeriod": "1s"}}, {"round_robin": {}}]
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.interval != 1500*time.Millisecond || c.baseEjectionTime != 100*time.Millisecond || c.maxEjectionTime != time.Minute || c.maxEjectionPercent != 100 {
		t.Errorf("top level: %+v", c)
	}
	if got, want := *c.successRate, (successRate{stdevFactor: 1900, enforcementPercentage: 100, minimumHosts: 5, requestVolume: 7}); got != want {
		t.Errorf("successRate = %+v, want %+v", got, want)
	}
	if got, want := *c.failurePercentage, (failurePercentage{threshold: 85, enforcementPercentage: 0, minimumHosts: 5, requestVolume: 50}); got != want {
		t.Errorf("failurePercentage = %+v, want %+v", got, want)
	}
	if c.childName != "weighted_round_robin" || c.childConfig == nil {
		t.Errorf("child = %q %v", c.childName, c.childConfig)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct{ js, want string }{
		{`{"maxEjectionPercent": 101}`, "outlier: config: maxEjectionPercent = 101: must be at most 100"},
		{`{"maxEjectionPercent": 100}`, ""},
		{`{"successRateEjection": {"enforcementPercentage": 101}}`, "successRateEjection.enforcementPercentage = 101: must be at most 100"},
		{`{"failurePercentageEjection": {"threshold": 101}}`, "failurePercentageEjection.threshold = 101: must be at most 100"},
		{`{"failurePercentageEjection": {"enforcementPercentage": 101}}`, "failurePercentageEjection.enforcementPercentage = 101"},
		{`{"interval": "10"}`, `interval = "10": want a number of seconds`},
		{`{"interval": "1m"}`, `interval = "1m"`},
		{`{"interval": "0s"}`, `interval = "0s": must be positive`},
		{`{"interval": "0.000000001s"}`, ""},
		{`{"interval": "1.0000000001s"}`, "more than nine fractional digits"},
		{`{"baseEjectionTime": "-1s"}`, `baseEjectionTime = "-1s": must not be negative`},
		{`{"maxEjectionTime": "1e3s"}`, `maxEjectionTime = "1e3s"`},
		{`{"maxEjectionTime": "99999999999s"}`, "out of range"},
		{`{"maxEjectionPercent": -1}`, "outlier: config:"},
		{`{"consecutiveFailures": 0}`, ""},
		{`{"childPolicy": [{"grpclb": {}}]}`, "none is supported"},
		{`{"childPolicy": [{"round_robin": {}, "pick_first": {}}]}`, "exactly one policy name"},
		{`{"childPolicy": [{"weighted_round_robin": {"errorUtilizationPenalty": -1}}]}`, "childPolicy weighted_round_robin"},
		{`[]`, "outlier: config:"},
	} {
		_, err := parseConfig(json.RawMessage(tc.js))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.js, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one containing %q", tc.js, err, tc.want)
		}
	}
}

// Every problem is reported, not only the first.
func TestParseConfigJoinsErrors(t *testing.T) {
	_, err := parseConfig(json.RawMessage(`{"maxEjectionPercent": 200, "interval": "x", "successRateEjection": {"enforcementPercentage": 300}}`))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"maxEjectionPercent", "interval", "successRateEjection.enforcementPercentage"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"interval":"1s","maxEjectionPercent":50}`,
		`{"successRateEjection":{"stdevFactor":1000,"minimumHosts":3}}`,
		`{"failurePercentageEjection":{"threshold":30,"enforcementPercentage":100}}`,
		`{"childPolicy":[{"pick_first":{}}]}`, `{"baseEjectionTime":"-0.5s"}`, `{"interval":".5s"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, js string) {
		c, err := parseConfig(json.RawMessage(js))
		if err != nil {
			return
		}
		if err := c.validate(); err != nil {
			t.Fatalf("accepted %q: %v", js, err)
		}
		for _, m := range []uint32{1, 2, 1 << 31} {
			if d := c.ejectionTime(m); d < 0 || d > max(c.baseEjectionTime, c.maxEjectionTime) {
				t.Fatalf("accepted %q: ejectionTime(%d) = %v", js, m, d)
			}
		}
	})
}
