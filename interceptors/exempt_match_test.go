package interceptors

import (
	"fmt"
	"testing"
)

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
		"//grpc.health.v1.Health/Check":      false,
		"/grpc.health.v1.Health//Check":      false,
		"/grpc.health.v1.HealthX/Check":      false,
		"/grpc.health.v1.Healt/Check":        false,
		"/":                                  false,
		"":                                   false,
	} {
		if got := e.match(name); got != want {
			t.Errorf("match(%q) = %v; want %v", name, got, want)
		}
	}
}

// TestExemptionMatchManyServices: beyond the few services it compares one
// by one, match looks them up; both ways give the same answers.
func TestExemptionMatchManyServices(t *testing.T) {
	for _, n := range []int{maxServiceList - len(defaultExempt), maxServiceList - len(defaultExempt) + 1, 40} {
		e := newExemption()
		var names []string
		for i := range n {
			names = append(names, fmt.Sprintf("pkg.S%d", i))
		}
		if err := e.add(append(names, "/other.Service/Exempt")); err != nil {
			t.Fatal(err)
		}
		if got, want := len(e.services), len(defaultExempt)+n; got != want {
			t.Fatalf("%d services; want %d", got, want)
		}
		for _, s := range append(names, defaultExempt...) {
			if !e.match("/" + s + "/M") {
				t.Errorf("with %d services, /%s/M is not exempt", len(e.services), s)
			}
			if e.match("/"+s+"x/M") || e.match("/"+s+"/") {
				t.Errorf("with %d services, /%sx/M or /%s/ is exempt", len(e.services), s, s)
			}
		}
		if !e.match("/other.Service/Exempt") || e.match("/other.Service/Other") {
			t.Errorf("with %d services, the exempt method is not exempt, or its neighbour is", len(e.services))
		}
	}
}
