package bench

// The peers every benchmark file of this module may use; the blank imports
// keep them in go.mod while the benchmarks are written.
import (
	_ "github.com/failsafe-go/failsafe-go"
	_ "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/retry"
	_ "github.com/sony/gobreaker/v2"
	_ "golang.org/x/sync/semaphore"

	_ "github.com/bulwarkrpc/bulwark/errdetails"
)
