package limit

import "time"

// Baseline returns the latency the gradient algorithm a takes as unloaded,
// zero before the first sample.
func Baseline(a Algorithm) time.Duration { return time.Duration(a.(*gradient).baseline) }
