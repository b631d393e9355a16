// Package bench holds Bulwark's benchmarks against bare gRPC and the
// libraries its users would otherwise combine: sony/gobreaker,
// failsafe-go, go-grpc-middleware and golang.org/x/sync/semaphore, and the
// tests that check Bulwark works beside them and beside OpenTelemetry.
//
// # Benchmarks
//
// Each benchmark names its implementation with an impl= element
// (BenchmarkChainClient/deadline=caller/log=off/impl=bulwark), so that
// `benchstat -table .name -col /impl` puts the implementations side by side.
// Bulwark comes first in every benchmark, so its column is the base of the
// comparisons.
//
//   - breaker_test.go, retry_test.go, limiter_test.go, metrics_test.go: one
//     component beside its peers.
//   - chain_test.go: the whole client and server stacks (stacks_test.go),
//     interceptors only, with a fake transport and handler.
//   - grpc_test.go: the same stacks on both sides of real connections
//     (bufconn and TCP on 127.0.0.1), serial and parallel.
//   - composed_test.go: the client, server and stream chains composed as
//     grpc-go composes them (a closure per interceptor per call), with a
//     fake transport; chain_test.go folds its closures once instead.
//   - cmd/e2e (make bench-e2e): whole calls over TCP, client and server in
//     one process, closed loops at 8 and 64 callers and server streams, as
//     paired ratios to bare gRPC over interleaved rounds; profile.sh runs it
//     under the CPU and allocation profilers.
//
// The stacks themselves are built by internal/stacks. Run them with
// `make bench` from the repository root, or bench/run.sh,
// which also prints the README's tables (cmd/benchtable).
//
// # Tests
//
// TestMetricsMatchGoGRPCMiddleware checks that Bulwark's standard metrics
// match go-grpc-middleware's Prometheus provider; TestOpenTelemetryBesideBulwark
// that otelgrpc's stats handlers and Bulwark's chains both report the same
// calls on one connection. OpenTelemetry is a dependency of this module
// only, never of Bulwark's.
package bench
