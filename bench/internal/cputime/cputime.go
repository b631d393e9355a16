// Package cputime reads the CPU time this process has used, user and
// system, all threads together. On a machine shared with other work, the
// CPU time an operation costs varies much less than its wall time, which
// grows whenever another process holds a core.
package cputime

import "time"

// Now returns the CPU time the process has used so far, or 0 where the
// platform does not say (then every difference is 0).
func Now() time.Duration { return now() }
