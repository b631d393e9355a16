package metrics

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/bulwarkrpc/bulwark/errdetails"
)

// An Option configures Metrics.
type Option interface {
	apply(*options)
}

type options struct {
	namespace string
	buckets   []float64
	registry  *errdetails.Registry
	errs      []error
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

var nameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// WithNamespace sets the prefix of Bulwark's own metrics (the standard
// grpc_* metrics keep their names, so existing dashboards work). It must be a
// valid Prometheus name. Default: "bulwark".
func WithNamespace(ns string) Option {
	return optionFunc(func(o *options) {
		if !nameRE.MatchString(ns) {
			o.errs = append(o.errs, fmt.Errorf("metrics: WithNamespace(%q): must match %s", ns, nameRE))
			return
		}
		o.namespace = ns
	})
}

// WithHandlingTimeBuckets sets the buckets, in seconds, of the
// grpc_server_handling_seconds and grpc_client_handling_seconds
// histograms; they must be strictly increasing. An empty list turns the
// histograms off. Default: prometheus.DefBuckets.
func WithHandlingTimeBuckets(buckets ...float64) Option {
	return optionFunc(func(o *options) {
		for i := 1; i < len(buckets); i++ {
			if buckets[i] <= buckets[i-1] {
				o.errs = append(o.errs, fmt.Errorf("metrics: WithHandlingTimeBuckets(%v): buckets must be strictly increasing", buckets))
				return
			}
		}
		if len(buckets) == 0 {
			o.buckets = nil
			return
		}
		o.buckets = slices.Clone(buckets)
	})
}

// WithCodes sets the registry whose codes label application errors;
// codes it does not know are counted as OTHER, so a misbehaving peer cannot
// create unbounded series. nil is refused. Default: errdetails.Default.
func WithCodes(r *errdetails.Registry) Option {
	return optionFunc(func(o *options) {
		if r == nil {
			o.errs = append(o.errs, fmt.Errorf("metrics: WithCodes(nil): the registry must not be nil"))
			return
		}
		o.registry = r
	})
}
