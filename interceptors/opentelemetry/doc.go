// Package opentelemetry reports gRPC calls and Bulwark's components to
// OpenTelemetry: the instruments of gRFC A66 and A96 with their exact
// names, units, attributes and bucket boundaries, Bulwark's own instruments
// under bulwark.*, and events on the caller's span.
package opentelemetry
