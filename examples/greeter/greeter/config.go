package greeter

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/bulwarkrpc/bulwark/errdetails"
)

// MaxDelay bounds every injected wait: Config.Latency and the delay= fault.
const MaxDelay = time.Minute

// Config is the fault injection of a Service. The zero Config injects
// nothing and serves every request at once. A Service's Config can be
// replaced while it serves (Service.SetConfig), which is how the demo
// scripts outages and their recovery.
//
// In JSON (the /faults endpoint) the fields are fail_rate, fail_code,
// latency, slow_rate, slow_latency, retry_after, capacity and chaos;
// durations are Go duration strings such as "250ms".
type Config struct {
	// FailRate is the share of requests, from 0 to 1, that fail with
	// FailCode. Zero: none.
	FailRate float64
	// FailCode is what the failing share returns: an application code (see
	// ErrorFor) or a gRPC code name such as "UNAVAILABLE", which is sent as
	// a plain status without details. Empty means DefaultFailCode.
	FailCode string
	// Latency is added to every call while it holds a slot (see Capacity),
	// before the reply or the first message of a stream; waiting honours
	// the caller's cancellation and deadline. Zero: none. At most MaxDelay.
	Latency time.Duration
	// SlowRate is the share of calls, from 0 to 1, that take SlowLatency
	// longer, like calls that hit a slow dependency: the wait is added to
	// Latency, under the same rules. The slow calls are spread evenly over
	// the calls counted from the last SetConfig, not drawn at random: with
	// 0.05, the 20th, 40th, 60th… call is slow, so two runs with the same
	// calls meet the same slow ones. Zero: none.
	SlowRate float64
	// SlowLatency is what SlowRate's calls wait on top of Latency. Zero:
	// nothing. At most MaxDelay.
	SlowLatency time.Duration
	// RetryAfter is the delay hint (google.rpc.RetryInfo and the
	// grpc-retry-pushback-ms trailer) sent with the retryable errors that
	// FailRate injects. Zero: no hint.
	RetryAfter time.Duration
	// Capacity is how many calls the server works on at once, like a fixed
	// number of CPUs: a call beyond it waits for a free slot (honouring its
	// deadline), so latency grows under overload. Zero: unlimited.
	Capacity int
	// Chaos turns on per-request faults from the greeter-fault request
	// metadata (see ParseFault). Off: that metadata is ignored.
	Chaos bool
}

// DefaultFailCode is the code of injected failures when Config.FailCode is
// empty.
const DefaultFailCode = errdetails.CodeDatabase

// Validate reports the first field of c that is out of range.
func (c Config) Validate() error {
	switch {
	case math.IsNaN(c.FailRate) || c.FailRate < 0 || c.FailRate > 1:
		return fmt.Errorf("greeter: fail rate %v: must be between 0 and 1", c.FailRate)
	case c.Latency < 0 || c.Latency > MaxDelay:
		return fmt.Errorf("greeter: latency %v: must be between 0 and %v", c.Latency, MaxDelay)
	case math.IsNaN(c.SlowRate) || c.SlowRate < 0 || c.SlowRate > 1:
		return fmt.Errorf("greeter: slow rate %v: must be between 0 and 1", c.SlowRate)
	case c.SlowLatency < 0 || c.SlowLatency > MaxDelay:
		return fmt.Errorf("greeter: slow latency %v: must be between 0 and %v", c.SlowLatency, MaxDelay)
	case c.RetryAfter < 0:
		return fmt.Errorf("greeter: retry after %v: must not be negative", c.RetryAfter)
	case c.Capacity < 0:
		return fmt.Errorf("greeter: capacity %d: must not be negative (0 is unlimited)", c.Capacity)
	}
	if c.FailCode != "" {
		if err := validateFailCode(c.FailCode); err != nil {
			return fmt.Errorf("greeter: fail code %q: %w", c.FailCode, err)
		}
	}
	return nil
}

// failCode returns FailCode or its default.
func (c Config) failCode() string {
	if c.FailCode == "" {
		return DefaultFailCode
	}
	return c.FailCode
}

// configJSON is Config as the /faults endpoint shows it.
type configJSON struct {
	FailRate    float64 `json:"fail_rate"`
	FailCode    string  `json:"fail_code"`
	Latency     string  `json:"latency"`
	SlowRate    float64 `json:"slow_rate"`
	SlowLatency string  `json:"slow_latency"`
	RetryAfter  string  `json:"retry_after"`
	Capacity    int     `json:"capacity"`
	Chaos       bool    `json:"chaos"`
}

// configPatch is a partial Config: the fields a client sends are changed,
// the others kept.
type configPatch struct {
	FailRate    *float64 `json:"fail_rate"`
	FailCode    *string  `json:"fail_code"`
	Latency     *string  `json:"latency"`
	SlowRate    *float64 `json:"slow_rate"`
	SlowLatency *string  `json:"slow_latency"`
	RetryAfter  *string  `json:"retry_after"`
	Capacity    *int     `json:"capacity"`
	Chaos       *bool    `json:"chaos"`
}

// MarshalJSON encodes c with durations as Go duration strings and the
// effective fail code.
func (c Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(configJSON{
		FailRate:    c.FailRate,
		FailCode:    c.failCode(),
		Latency:     c.Latency.String(),
		SlowRate:    c.SlowRate,
		SlowLatency: c.SlowLatency.String(),
		RetryAfter:  c.RetryAfter.String(),
		Capacity:    c.Capacity,
		Chaos:       c.Chaos,
	})
}

// UnmarshalJSON sets the fields present in data and keeps the others, so
// that {"fail_rate": 0.3} changes only the failure rate. Unknown fields are
// refused. It does not validate: call Validate.
func (c *Config) UnmarshalJSON(data []byte) error {
	var p configPatch
	if err := strictUnmarshal(data, &p); err != nil {
		return fmt.Errorf("greeter: config: %w", err)
	}
	return c.apply(p)
}

// apply sets the fields of p that are present.
func (c *Config) apply(p configPatch) error {
	if p.FailRate != nil {
		c.FailRate = *p.FailRate
	}
	if p.FailCode != nil {
		c.FailCode = *p.FailCode
	}
	if p.SlowRate != nil {
		c.SlowRate = *p.SlowRate
	}
	if p.Capacity != nil {
		c.Capacity = *p.Capacity
	}
	if p.Chaos != nil {
		c.Chaos = *p.Chaos
	}
	for _, d := range []struct {
		name string
		src  *string
		dst  *time.Duration
	}{{"latency", p.Latency, &c.Latency}, {"slow_latency", p.SlowLatency, &c.SlowLatency}, {"retry_after", p.RetryAfter, &c.RetryAfter}} {
		if d.src == nil {
			continue
		}
		v, err := time.ParseDuration(*d.src)
		if err != nil {
			return fmt.Errorf("greeter: config: %s: %w", d.name, err)
		}
		*d.dst = v
	}
	return nil
}

// ApplyQuery sets the fields named by query parameters (fail_rate,
// fail_code, latency, slow_rate, slow_latency, retry_after, capacity,
// chaos) and keeps the others.
// Unknown parameters are refused. It does not validate: call Validate.
func (c *Config) ApplyQuery(q map[string][]string) error {
	var p configPatch
	for key, vals := range q {
		if len(vals) == 0 {
			continue
		}
		v := vals[len(vals)-1]
		switch key {
		case "fail_rate":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("greeter: config: fail_rate %q: not a number", v)
			}
			p.FailRate = &f
		case "fail_code":
			p.FailCode = &v
		case "latency":
			p.Latency = &v
		case "slow_rate":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("greeter: config: slow_rate %q: not a number", v)
			}
			p.SlowRate = &f
		case "slow_latency":
			p.SlowLatency = &v
		case "retry_after":
			p.RetryAfter = &v
		case "capacity":
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("greeter: config: capacity %q: not an integer", v)
			}
			p.Capacity = &n
		case "chaos":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("greeter: config: chaos %q: not a boolean", v)
			}
			p.Chaos = &b
		default:
			return fmt.Errorf("greeter: config: unknown parameter %q", key)
		}
	}
	return c.apply(p)
}
