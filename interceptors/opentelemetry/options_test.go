package opentelemetry_test

import (
	"strings"
	"testing"

	"github.com/bulwarkrpc/bulwark/interceptors/opentelemetry"
)

// TestNewRefusesInvalidOptions: every invalid option is named, all at once.
func TestNewRefusesInvalidOptions(t *testing.T) {
	tel, err := opentelemetry.New(nil, opentelemetry.WithMeterProvider(nil), opentelemetry.WithCodes(nil))
	if tel != nil || err == nil {
		t.Fatalf("New = %v, %v; want an error", tel, err)
	}
	for _, want := range []string{
		"opentelemetry: nil Option",
		"opentelemetry: WithMeterProvider(nil)",
		"opentelemetry: WithCodes(nil)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
