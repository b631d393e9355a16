// Package metrics reports gRPC calls and Bulwark's components to Prometheus.
//
// # Standard RPC metrics
//
// The interceptors export the metrics of go-grpc-middleware's Prometheus
// provider, with the same names, label names and help texts, so existing
// dashboards and alerts keep working: grpc_server_started_total,
// grpc_server_handled_total, grpc_server_msg_received_total,
// grpc_server_msg_sent_total and grpc_server_handling_seconds, and their
// grpc_client_* twins, labelled grpc_type, grpc_service, grpc_method and
// grpc_code. Bulwark resolves the label children once per method, so a call
// costs a map load and a few atomic adds rather than label hashing and
// several allocations.
//
// Beside them, <namespace>_server_application_errors_total and
// <namespace>_client_application_errors_total count application errors by
// their code (app_code), bounded by the errdetails registry.
//
// # Registration
//
// Metrics is a prometheus.Collector: create it, register it on your own
// registry, and pass it to the chain builders. Nothing is registered
// globally. To add labels with fixed values to every metric (the name of
// the service, say), register it through prometheus.WrapRegistererWith.
//
// # Placement
//
// On a server, the interceptors belong outside the error boundary, so they
// count the code the caller receives. On a client, outermost they count
// calls; the chain builders place them there.
package metrics
