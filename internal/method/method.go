// Package method holds the one rule for gRPC full method names
// ("/package.Service/Method"): Parse says whether a name has that shape and
// splits it; Split splits any name into bounded metric labels.
package method

import "strings"

// Parse splits a full method name, "/package.Service/Method", into its
// service ("package.Service") and method ("Method"), and reports whether
// the name has that shape: a leading slash, then a service and a method,
// both non-empty, separated by the only other slash. It is the rule every
// option that names a method checks.
func Parse(fullMethod string) (service, method string, ok bool) {
	rest, ok := strings.CutPrefix(fullMethod, "/")
	if !ok {
		return "", "", false
	}
	service, method, ok = strings.Cut(rest, "/")
	if !ok || service == "" || method == "" || strings.Contains(method, "/") {
		return "", "", false
	}
	return service, method, true
}

// Valid reports whether fullMethod is a full method name; see Parse.
func Valid(fullMethod string) bool {
	_, _, ok := Parse(fullMethod)
	return ok
}

// Split returns the service ("package.Service") and method ("Method") of a
// full method name, for metric labels: unlike Parse it takes any name,
// splitting at the last slash, and yields "unknown" for the part that is
// missing, so that labels stay bounded.
func Split(fullMethod string) (service, method string) {
	name := strings.TrimPrefix(fullMethod, "/")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		service, method = name[:i], name[i+1:]
	}
	if service == "" {
		service = "unknown"
	}
	if method == "" {
		method = "unknown"
	}
	return service, method
}

// Service returns the service part of a full method name; see Split.
func Service(fullMethod string) string {
	s, _ := Split(fullMethod)
	return s
}
