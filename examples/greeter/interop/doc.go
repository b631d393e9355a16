// Package interop holds the test that a gRPC client not written in Go reads
// the greeter server's errors: interop_test.go serves the greeter on
// 127.0.0.1 and runs check.mjs, a Node client built on @grpc/grpc-js that
// decodes the grpc-status-details-bin trailer with protobufjs and checks
// each error's code, google.rpc.ErrorInfo reason, retryability and field
// violation, and that nothing of the server's internals reaches it.
//
// # Running it
//
// The Node packages are pinned in package-lock.json and installed with
//
//	npm ci --prefix examples/greeter/interop
//
// which make test runs before the tests. Without them the test fails and
// says so: it is never skipped.
//
// By hand, against a server started with -chaos:
//
//	node examples/greeter/interop/check.mjs 127.0.0.1:50051
package interop
