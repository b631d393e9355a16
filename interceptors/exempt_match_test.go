package interceptors

import "testing"

// TestExemptionMatchNeedsAFullMethod: a service is exempt only through a
// well-formed full method name; a caller cannot reach an exempt service's
// name with a path that lacks the leading slash or carries an extra part.
func TestExemptionMatchNeedsAFullMethod(t *testing.T) {
	e := newExemption()
	for name, want := range map[string]bool{
		"/grpc.health.v1.Health/Check":       true,
		"/grpc.health.v1.Health/Watch":       true,
		"xgrpc.health.v1.Health/Check":       false,
		"/grpc.health.v1.Health/Check/extra": false,
		"/grpc.health.v1.Health/":            false,
		"/grpc.health.v1.Health":             false,
		"/pkg.Service/Method":                false,
	} {
		if got := e.match(name); got != want {
			t.Errorf("match(%q) = %v; want %v", name, got, want)
		}
	}
}
