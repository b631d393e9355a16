// Package bench holds Bulwark's benchmarks against bare gRPC and the
// libraries its users would otherwise combine: sony/gobreaker,
// failsafe-go, go-grpc-middleware and golang.org/x/sync/semaphore.
//
// Run them with `make bench` from the repository root.
package bench
