// Package method parses gRPC full method names ("/package.Service/Method").
package method

import "strings"

// Split returns the service ("package.Service") and method ("Method") of a
// full method name. A name without the expected shape yields "unknown" for
// the part that is missing, so that metric labels stay bounded.
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
