package workload

import "sync/atomic"

// Reason is why an attempt was refused, or a retry not made.
type Reason int

// The reasons, with their names in Summary.Rejections.
const (
	// CircuitOpen: the client's own circuit breaker refused the attempt,
	// without touching the network ("circuit_open").
	CircuitOpen Reason = iota
	// ClientLimit: the client's own concurrency limit (bulkhead) refused
	// the attempt, without touching the network ("client_limit").
	ClientLimit
	// RetryBudget: the client's retry budget refused a retry, and the call
	// ended with its last attempt's error ("retry_budget").
	RetryBudget
	// ServerOverloaded: the server's load shedding refused the attempt
	// before its handler ran (ErrorInfo reason SERVER_OVERLOADED;
	// "server_overloaded").
	ServerOverloaded
	// DeadlineTooShort: the server refused the attempt because too little
	// of its deadline was left (ErrorInfo reason DEADLINE_TOO_SHORT;
	// "deadline_too_short").
	DeadlineTooShort
	numReasons
)

var reasonNames = [numReasons]string{"circuit_open", "client_limit", "retry_budget", "server_overloaded", "deadline_too_short"}

// String returns the reason's name in Summary.Rejections.
func (r Reason) String() string {
	if r >= 0 && r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Rejections counts refusals by Reason. It is safe for concurrent use; the
// zero Rejections is ready to use.
type Rejections struct {
	n [numReasons]atomic.Int64
}

// Add counts one refusal for r; it ignores a Reason it does not know.
func (c *Rejections) Add(r Reason) {
	if r >= 0 && r < numReasons {
		c.n[r].Add(1)
	}
}

// Map returns the counts by reason name, leaving out the reasons never
// counted.
func (c *Rejections) Map() map[string]int64 {
	m := map[string]int64{}
	for r := range numReasons {
		if n := c.n[r].Load(); n > 0 {
			m[r.String()] += n
		}
	}
	return m
}
