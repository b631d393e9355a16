package pbjson

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ParseDuration reads the JSON form of google.protobuf.Duration, at its
// bounds: nine fractional digits, and the longest time.Duration.
func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{in: "10s", want: 10 * time.Second},
		{in: "0.250s", want: 250 * time.Millisecond},
		{in: "-1.5s", want: -1500 * time.Millisecond},
		{in: ".5s", want: 500 * time.Millisecond},
		{in: "1.000000001s", want: time.Second + 1},
		{in: "9223372036s", want: 9223372036 * time.Second},
		{in: "1.0000000001s", wantErr: "more than nine fractional digits"},
		{in: "9223372037s", wantErr: "out of range"},
		{in: "-9223372037s", wantErr: "out of range"},
		{in: "10", wantErr: `ending in "s"`},
		{in: "1m", wantErr: `ending in "s"`},
		{in: "NaNs", wantErr: `ending in "s"`},
		{in: "1e3s", wantErr: `ending in "s"`},
		{in: "+1s", wantErr: `ending in "s"`},
		{in: "1.s", wantErr: `ending in "s"`},
		{in: "s", wantErr: `ending in "s"`},
	} {
		got, err := ParseDuration(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseDuration(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}
