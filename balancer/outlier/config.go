package outlier

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bulwarkrpc/bulwark/internal/pbjson"
	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/balancer/pickfirst"
	"google.golang.org/grpc/balancer/roundrobin"
	"google.golang.org/grpc/balancer/weightedroundrobin"
	"google.golang.org/grpc/serviceconfig"
)

// The defaults of gRFC A50, and Bulwark's for its additions.
const (
	defaultInterval            = 10 * time.Second
	defaultBaseEjectionTime    = 30 * time.Second
	defaultMaxEjectionTime     = 300 * time.Second
	defaultMaxEjectionPercent  = 10
	defaultConsecutiveFailures = 5
)

// childPolicies are the policies the outlier policy may wrap, in no order.
var childPolicies = []string{roundrobin.Name, weightedroundrobin.Name, pickfirst.Name}

// successRate is A50's successRateEjection.
type successRate struct {
	stdevFactor           uint32
	enforcementPercentage uint32
	minimumHosts          uint32
	requestVolume         uint32
}

// failurePercentage is A50's failurePercentageEjection.
type failurePercentage struct {
	threshold             uint32
	enforcementPercentage uint32
	minimumHosts          uint32
	requestVolume         uint32
}

// config is the parsed configuration of one channel's policy.
type config struct {
	serviceconfig.LoadBalancingConfig

	interval            time.Duration
	baseEjectionTime    time.Duration
	maxEjectionTime     time.Duration
	maxEjectionPercent  uint32
	successRate         *successRate       // nil: off
	failurePercentage   *failurePercentage // nil: off
	consecutiveFailures uint32             // 0: off
	childName           string
	childConfig         serviceconfig.LoadBalancingConfig
}

// ejectionTime returns how long an endpoint ejected for the multiplier-th
// time stays out: base × multiplier, capped by max(base, maxEjectionTime).
func (c *config) ejectionTime(multiplier uint32) time.Duration {
	limit := max(c.baseEjectionTime, c.maxEjectionTime)
	if multiplier == 0 {
		multiplier = 1
	}
	if c.baseEjectionTime > 0 && time.Duration(multiplier) > limit/c.baseEjectionTime {
		return limit
	}
	return min(c.baseEjectionTime*time.Duration(multiplier), limit)
}

// defaultConfig is the configuration of an empty JSON object.
func defaultConfig() *config {
	return &config{
		interval:            defaultInterval,
		baseEjectionTime:    defaultBaseEjectionTime,
		maxEjectionTime:     defaultMaxEjectionTime,
		maxEjectionPercent:  defaultMaxEjectionPercent,
		consecutiveFailures: defaultConsecutiveFailures,
		childName:           roundrobin.Name,
	}
}

// jsonConfig is the policy's JSON: gRFC A50's fields, plus
// consecutiveFailures. Pointers tell an absent field from a zero one.
type jsonConfig struct {
	Interval                  *string                      `json:"interval"`
	BaseEjectionTime          *string                      `json:"baseEjectionTime"`
	MaxEjectionTime           *string                      `json:"maxEjectionTime"`
	MaxEjectionPercent        *uint32                      `json:"maxEjectionPercent"`
	SuccessRateEjection       *jsonSuccessRate             `json:"successRateEjection"`
	FailurePercentageEjection *jsonFailurePercentage       `json:"failurePercentageEjection"`
	ConsecutiveFailures       *uint32                      `json:"consecutiveFailures"`
	ChildPolicy               []map[string]json.RawMessage `json:"childPolicy"`
}

type jsonSuccessRate struct {
	StdevFactor           *uint32 `json:"stdevFactor"`
	EnforcementPercentage *uint32 `json:"enforcementPercentage"`
	MinimumHosts          *uint32 `json:"minimumHosts"`
	RequestVolume         *uint32 `json:"requestVolume"`
}

type jsonFailurePercentage struct {
	Threshold             *uint32 `json:"threshold"`
	EnforcementPercentage *uint32 `json:"enforcementPercentage"`
	MinimumHosts          *uint32 `json:"minimumHosts"`
	RequestVolume         *uint32 `json:"requestVolume"`
}

// parseConfig parses and validates the policy's JSON configuration. Every
// problem is reported, joined.
func parseConfig(js json.RawMessage) (*config, error) {
	var j jsonConfig
	if len(bytes.TrimSpace(js)) == 0 {
		js = json.RawMessage("{}")
	}
	if err := json.Unmarshal(js, &j); err != nil {
		return nil, fmt.Errorf("outlier: config: %w", err)
	}
	c := defaultConfig()
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("outlier: config: "+format, args...))
	}
	duration := func(name string, s *string, dst *time.Duration) {
		if s == nil {
			return
		}
		d, err := pbjson.ParseDuration(*s)
		switch {
		case err != nil:
			fail("%s = %q: %v", name, *s, err)
		case d < 0:
			fail("%s = %q: must not be negative", name, *s)
		default:
			*dst = d
		}
	}
	percent := func(name string, p *uint32, dst *uint32) {
		if p == nil {
			return
		}
		if *p > 100 {
			fail("%s = %d: must be at most 100", name, *p)
			return
		}
		*dst = *p
	}
	setUint := func(p *uint32, dst *uint32) {
		if p != nil {
			*dst = *p
		}
	}
	duration("interval", j.Interval, &c.interval)
	duration("baseEjectionTime", j.BaseEjectionTime, &c.baseEjectionTime)
	duration("maxEjectionTime", j.MaxEjectionTime, &c.maxEjectionTime)
	if j.Interval != nil && c.interval == 0 {
		fail("interval = %q: must be positive", *j.Interval)
	}
	percent("maxEjectionPercent", j.MaxEjectionPercent, &c.maxEjectionPercent)
	setUint(j.ConsecutiveFailures, &c.consecutiveFailures)
	if sr := j.SuccessRateEjection; sr != nil {
		c.successRate = &successRate{stdevFactor: 1900, enforcementPercentage: 100, minimumHosts: 5, requestVolume: 100}
		setUint(sr.StdevFactor, &c.successRate.stdevFactor)
		percent("successRateEjection.enforcementPercentage", sr.EnforcementPercentage, &c.successRate.enforcementPercentage)
		setUint(sr.MinimumHosts, &c.successRate.minimumHosts)
		setUint(sr.RequestVolume, &c.successRate.requestVolume)
	}
	if fp := j.FailurePercentageEjection; fp != nil {
		// A50's default enforcement is 0: set it to turn the rule on.
		c.failurePercentage = &failurePercentage{threshold: 85, enforcementPercentage: 0, minimumHosts: 5, requestVolume: 50}
		percent("failurePercentageEjection.threshold", fp.Threshold, &c.failurePercentage.threshold)
		percent("failurePercentageEjection.enforcementPercentage", fp.EnforcementPercentage, &c.failurePercentage.enforcementPercentage)
		setUint(fp.MinimumHosts, &c.failurePercentage.minimumHosts)
		setUint(fp.RequestVolume, &c.failurePercentage.requestVolume)
	}
	if j.ChildPolicy != nil {
		if err := c.parseChild(j.ChildPolicy); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// parseChild takes the first entry of list that names a supported, registered
// policy, as a loadBalancingConfig list is read.
func (c *config) parseChild(list []map[string]json.RawMessage) error {
	var names []string
	for _, entry := range list {
		if len(entry) != 1 {
			return fmt.Errorf("outlier: config: childPolicy: each entry must have exactly one policy name, got %d", len(entry))
		}
		for name, raw := range entry {
			names = append(names, name)
			if !supportedChild(name) {
				continue
			}
			bb := balancer.Get(name)
			if bb == nil {
				continue
			}
			c.childName, c.childConfig = name, nil
			if p, ok := bb.(balancer.ConfigParser); ok {
				if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
					raw = json.RawMessage("{}")
				}
				cfg, err := p.ParseConfig(raw)
				if err != nil {
					return fmt.Errorf("outlier: config: childPolicy %s: %w", name, err)
				}
				c.childConfig = cfg
			}
			return nil
		}
	}
	return fmt.Errorf("outlier: config: childPolicy %q: none is supported (%s)", names, strings.Join(childPolicies, ", "))
}

func supportedChild(name string) bool {
	for _, n := range childPolicies {
		if n == name {
			return true
		}
	}
	return false
}

// validate checks the invariants parseConfig promises; the fuzz test calls
// it on every accepted config.
func (c *config) validate() error {
	switch {
	case c.interval <= 0:
		return errors.New("interval not positive")
	case c.baseEjectionTime < 0 || c.maxEjectionTime < 0:
		return errors.New("negative ejection time")
	case c.maxEjectionPercent > 100:
		return errors.New("maxEjectionPercent over 100")
	case c.successRate != nil && c.successRate.enforcementPercentage > 100:
		return errors.New("successRateEjection.enforcementPercentage over 100")
	case c.failurePercentage != nil && (c.failurePercentage.threshold > 100 || c.failurePercentage.enforcementPercentage > 100):
		return errors.New("failurePercentageEjection percentage over 100")
	case !supportedChild(c.childName):
		return errors.New("unsupported child")
	}
	return nil
}
