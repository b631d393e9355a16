package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwarkrpc/bulwark/errdetails"
)

// components holds the metrics of Bulwark's components (circuit breaker,
// retry, concurrency limiter, deadline), fed by their Observers.
type components struct{}

func newComponents(*options) *components { return &components{} }

func (c *components) collectors() []prometheus.Collector { return nil }

func defaultRegistry() *errdetails.Registry { return errdetails.Default }
