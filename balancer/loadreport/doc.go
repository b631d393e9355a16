// Package loadreport reports a server's load to its clients with ORCA (Open
// Request Cost Aggregation), so that clients using the weighted_round_robin
// policy (gRFC A58), alone or as the child of Bulwark's outlier policy,
// send fewer calls to busy replicas.
//
// # What is reported
//
// The load is the utilization of the server's concurrency Limiter
// (interceptors/concurrency): permits in flight ÷ limit, from
// Limiter.Stats, as ORCA's application_utilization; with the calls per
// second (rps_fractional) and errors per second (eps) that the Reporter
// counts. weighted_round_robin weighs each endpoint qps ÷ (utilization +
// eps/qps × penalty), so a replica near its limit, or failing, gets fewer
// calls. Only the Limiter's global limit (WithLimit or WithAdaptive)
// counts; with method limits alone no utilization is reported.
//
// # Use
//
// Per call, in the trailer of each response (clients read it with
// weighted_round_robin's default, enableOobLoadReport false):
//
//	r, _ := loadreport.New(limiter)
//	srv := grpc.NewServer(append([]grpc.ServerOption{
//		grpc.ChainUnaryInterceptor(limiter.UnaryServerInterceptor()),
//		grpc.ChainStreamInterceptor(limiter.StreamServerInterceptor()),
//	}, r.ServerOptions()...)...)
//
// Out of band, on ORCA's StreamCoreMetrics stream (enableOobLoadReport
// true), register the ORCA service as well: r.Register(srv). ServerOption
// is still needed there, for the call counts.
//
// Give ServerOptions after the Limiter's interceptors, so that each call's
// report counts the call's own permit. The Reporter's server interceptors
// count calls and errors; gRPC's health and ORCA services count as calls
// too.
package loadreport
