package method

import "testing"

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
