// Package outlier is a gRPC load-balancing policy that ejects single bad
// endpoints (replicas) of a target, after gRFC A50 (outlier detection),
// judged by Bulwark's outcome classifier.
//
// # Why
//
// Bulwark's circuit breaker (interceptors/circuit) is per target, or per
// target and method: with one bad replica of three, it either stays closed
// while a third of the calls fail, or opens for all. This policy takes the
// bad replica out of the rotation, and the breaker keeps its meaning: it
// opens when every endpoint is bad. The policy never ejects the last
// endpoint that is not ejected, so that case stays the breaker's.
//
// # Use
//
// Importing the package registers the policy as
// "bulwark_outlier_detection". Select it in a service config:
//
//	{"loadBalancingConfig": [{"bulwark_outlier_detection": {
//	    "interval": "10s",
//	    "failurePercentageEjection": {"threshold": 50, "enforcementPercentage": 100},
//	    "childPolicy": [{"round_robin": {}}]
//	}}]}
//
// or with Builder.DialOption. The configuration has gRFC A50's fields,
// names, units and defaults, so a configuration written for grpc-go's
// outlier_detection_experimental works unchanged: interval (10s),
// baseEjectionTime (30s), maxEjectionTime (300s), maxEjectionPercent (10),
// successRateEjection {stdevFactor (1900), enforcementPercentage (100),
// minimumHosts (5), requestVolume (100)} and failurePercentageEjection
// {threshold (85), enforcementPercentage (0), minimumHosts (5),
// requestVolume (50)}, each rule off when its object is absent, and
// childPolicy (round_robin; weighted_round_robin and pick_first are also
// accepted; under pick_first, which keeps one connection, ejections are
// counted and reported but do not move calls, as in grpc-go). Durations are google.protobuf.Duration JSON strings ("10s",
// "0.5s"). Bulwark adds consecutiveFailures (5; 0 turns it off): an
// endpoint that fails that many attempts in a row is ejected at once, not
// at the end of the interval. Bulwark refuses an interval of "0s".
//
// # What counts
//
// Each attempt that reached an endpoint is classified by the outcome
// package (see WithClassifier): successes count for the endpoint, retryable
// and fatal failures against it, and the rest not at all. So
// INVALID_ARGUMENT, NOT_FOUND and the other codes of a caller's mistake
// never eject a replica; neither does a caller's cancellation or its own
// deadline, nor a server's unprocessed, retryable refusal (shed). A
// DEADLINE_EXCEEDED of the retry interceptor's per-attempt timeout
// (retry.WithPerAttemptTimeout) is the endpoint's failure: a slow replica
// is ejected.
//
// # The algorithm
//
// At the end of each interval, endpoints with enough calls are judged by
// success rate (ejected below mean − stdev × stdevFactor / 1000) and by
// failure percentage (ejected above threshold), within maxEjectionPercent
// of the endpoints. An endpoint ejected for the n-th time in a row stays
// out for baseEjectionTime × n, at most max(baseEjectionTime,
// maxEjectionTime), and returns at the first interval after that; n
// decreases by one at each interval the endpoint spends in service. An
// ejected endpoint keeps its connection: the child policy sees it as
// TRANSIENT_FAILURE (through the SubConn's health listener, as in gRFC
// A61) and does not pick it. Resolver updates keep the state of the
// endpoints that remain; a configuration with no rule at all (neither
// object, consecutiveFailures 0) returns every ejected endpoint.
//
// # Retries go elsewhere
//
// When a call's context carries the retry interceptor's endpoint slot, the
// picker records the endpoint of each attempt there, and the next attempt
// (a retry or a hedge) avoids that endpoint when another is ready. Calls
// without the slot pay one context lookup, and none at all until the
// process makes its first slot. The retry interceptor gives calls a slot
// once a policy of this package has been built in the process; grpc-go
// builds it on a channel's first call, so a program that wants its very
// first calls covered calls the ClientConn's Connect first.
//
// # Metrics and logs
//
// grpc-go builds the policy from its registry, so per-channel settings
// ride on the Builder: New returns a Builder with WithMetrics and
// WithLogger, which the program registers under a name of its own
// (WithName) with balancer.Register, during initialisation, and selects
// with DialOption or by name in the service config. Metrics are labelled
// by target; see Metrics.
package outlier
