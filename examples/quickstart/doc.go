// Command quickstart is Bulwark in one file, the first thing to read: a
// greeter server and its client, each behind Bulwark's chain, one call that
// succeeds and one that fails with an application error that the client
// decodes. Both chains report to one metrics.Metrics registered on the
// program's own Prometheus registry.
//
// Run it from the examples module:
//
//	cd examples && go run ./quickstart
//
// It serves on 127.0.0.1 (a free port), prints what the client saw and the
// server's counts to standard output, logs each call to standard error, and
// exits. The README's quick start shows main.go; a test keeps the two equal.
package main
