package limit

import (
	"fmt"
	"math"
	"time"
)

// AIMDConfig configures NewAIMD. A zero field takes its default.
type AIMDConfig struct {
	// Initial is the limit to start from. Default: 20, or Min when that is
	// larger.
	Initial int
	// Min is the lowest limit. Default: 1.
	Min int
	// Max is the highest limit. Default: 1000.
	Max int
	// Backoff multiplies the limit after a window with a drop; it must be
	// in (0, 1). Default: 0.9.
	Backoff float64
	// Timeout, when positive, counts a window whose average latency exceeds
	// it as a drop. Default: 0 (latency alone never shrinks the limit).
	Timeout time.Duration
}

// aimd is the additive-increase, multiplicative-decrease algorithm (see
// NewAIMD).
type aimd struct {
	cfg   AIMDConfig
	limit int
}

// NewAIMD returns the additive-increase, multiplicative-decrease algorithm,
// or an error naming the field of c that is invalid: after a window with a
// drop (or, with a Timeout, a slow window) the limit is multiplied by
// Backoff, shrinking by at least one; after any other window in which at
// least half the limit was in use it grows by one. It is meant for clients,
// where the peer's refusals and timeouts are the signal. It has no state
// to show beyond the Algorithm's.
func NewAIMD(c AIMDConfig) (Algorithm, error) {
	if c.Min == 0 {
		c.Min = 1
	}
	if c.Max == 0 {
		c.Max = max(1000, c.Min)
	}
	if c.Initial == 0 {
		c.Initial = min(max(20, c.Min), c.Max)
	}
	if c.Backoff == 0 {
		c.Backoff = 0.9
	}
	if err := checkBounds("AIMDConfig", c.Initial, c.Min, c.Max); err != nil {
		return nil, err
	}
	if !(c.Backoff > 0 && c.Backoff < 1) {
		return nil, fmt.Errorf("limit: AIMDConfig.Backoff %v: must be in (0, 1)", c.Backoff)
	}
	if c.Timeout < 0 {
		return nil, fmt.Errorf("limit: AIMDConfig.Timeout %v: must not be negative", c.Timeout)
	}
	return &aimd{cfg: c, limit: c.Initial}, nil
}

// Limit returns the current limit.
func (a *aimd) Limit() int { return a.limit }

// Update records the sample of one window and returns the new limit.
func (a *aimd) Update(s Sample) int {
	switch {
	case s.Calls <= 0:
	case s.Drops > 0 || (a.cfg.Timeout > 0 && s.RTT > a.cfg.Timeout):
		next := int(math.Floor(float64(a.limit) * a.cfg.Backoff))
		a.limit = max(a.cfg.Min, min(next, a.limit-1))
	case s.InFlight*2 >= a.limit:
		a.limit = min(a.cfg.Max, a.limit+1)
	}
	return a.limit
}
