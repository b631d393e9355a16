package workload_test

import (
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/examples/greeter/internal/workload"
)

func ExampleSummarize() {
	results := []workload.Result{
		{Latency: 2 * time.Millisecond},
		{Latency: 4 * time.Millisecond},
		{Latency: 9 * time.Millisecond, Err: status.Error(codes.Unavailable, "greeter: injected UNAVAILABLE")},
	}
	cfg := workload.Config{Calls: 3, Concurrency: 1}
	s := workload.Summarize(cfg, "127.0.0.1:50051", "bare", results, 3, 15*time.Millisecond, nil)
	b, _ := json.MarshalIndent(s, "", "  ")
	fmt.Println(string(b))
	// Output:
	// {
	//   "target": "127.0.0.1:50051",
	//   "method": "unary",
	//   "mode": "bare",
	//   "calls": 3,
	//   "ok": 2,
	//   "fallbacks": 0,
	//   "codes": {
	//     "OK": 2,
	//     "UNAVAILABLE": 1
	//   },
	//   "app_codes": {},
	//   "attempts": 3,
	//   "attempts_per_call": 1,
	//   "p50_ms": 4,
	//   "p99_ms": 9,
	//   "p50": "4ms",
	//   "p99": "9ms",
	//   "elapsed_ms": 15,
	//   "breaker_transitions": [],
	//   "rejections": {},
	//   "first_error": {
	//     "grpc_code": "UNAVAILABLE",
	//     "go_type": "*status.Error",
	//     "message": "greeter: injected UNAVAILABLE",
	//     "decoded": false,
	//     "retryable": false,
	//     "retry_after_ms": 0
	//   }
	// }
}

func ExampleTimeline() {
	fmt.Println(workload.Timeline(nil))
	fmt.Println(workload.Timeline([]workload.Transition{
		{AtMillis: 1031, From: "closed", To: "open"},
		{AtMillis: 1262, From: "open", To: "half_open"},
		{AtMillis: 1265, From: "half_open", To: "open"},
		{AtMillis: 1490, From: "open", To: "half_open"},
		{AtMillis: 1493, From: "half_open", To: "open"},
		{AtMillis: 1722, From: "open", To: "half_open"},
		{AtMillis: 1730, From: "half_open", To: "closed"},
	}))
	// Output:
	// closed throughout
	// closed → open@1.03s → half_open → open ×2 (probes failed, last at 1.49s) → half_open@1.72s → closed@1.73s
}
