package method

import (
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct{ in, service, method string }{
		{"/greeter.v1.Greeter/SayHello", "greeter.v1.Greeter", "SayHello"},
		{"greeter.v1.Greeter/SayHello", "greeter.v1.Greeter", "SayHello"},
		{"/a/b/C", "a/b", "C"},
		{"", "unknown", "unknown"},
		{"/NoSlash", "unknown", "unknown"},
		{"/svc/", "svc", "unknown"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			s, m := Split(tc.in)
			if s != tc.service || m != tc.method {
				t.Errorf("Split(%q) = %q, %q; want %q, %q", tc.in, s, m, tc.service, tc.method)
			}
		})
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in              string
		service, method string
		ok              bool
	}{
		{"/greeter.v1.Greeter/SayHello", "greeter.v1.Greeter", "SayHello", true},
		{"/s/m", "s", "m", true},
		{"//x/y", "", "", false},    // an empty service before a second slash
		{"//y", "", "", false},      // an empty service
		{"/x/", "", "", false},      // an empty method
		{"/x/y/", "", "", false},    // a third slash
		{"/a/b/C", "", "", false},   // a slash in the service
		{"x/y", "", "", false},      // no leading slash
		{"/NoSlash", "", "", false}, // no method
		{"", "", "", false},
		{"/", "", "", false},
		{"//", "", "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			s, m, ok := Parse(tc.in)
			if s != tc.service || m != tc.method || ok != tc.ok {
				t.Errorf("Parse(%q) = %q, %q, %v; want %q, %q, %v", tc.in, s, m, ok, tc.service, tc.method, tc.ok)
			}
			if Valid(tc.in) != tc.ok {
				t.Errorf("Valid(%q) = %v; want %v", tc.in, !tc.ok, tc.ok)
			}
		})
	}
}

// FuzzParse checks Parse against its definition on any name: it accepts
// exactly "/" + service + "/" + method with neither part empty, and gives
// back the parts.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"/a/b", "//x/y", "/x/", "", "/", "a/b", "/a/b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		parts := strings.Split(in, "/")
		want := len(parts) == 3 && parts[0] == "" && parts[1] != "" && parts[2] != ""
		s, m, ok := Parse(in)
		if ok != want {
			t.Fatalf("Parse(%q) reports %v; want %v", in, ok, want)
		}
		if ok && (s != parts[1] || m != parts[2]) {
			t.Fatalf("Parse(%q) = %q, %q; want %q, %q", in, s, m, parts[1], parts[2])
		}
	})
}
