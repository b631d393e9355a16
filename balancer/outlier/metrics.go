package outlier

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds the policy's Prometheus collectors. Register it with a
// registry (it is a prometheus.Collector) and give it to New with
// WithMetrics. Its families, labelled by the channel's target:
//
//	bulwark_outlier_ejections_total{target, reason}   counter
//	bulwark_outlier_unejections_total{target}         counter
//	bulwark_outlier_ejected_endpoints{target}         gauge
//	bulwark_outlier_endpoints{target}                 gauge
//
// reason is success_rate, failure_percentage or consecutive_failures. With
// NewMetrics(true) the two counters also carry the endpoint's address.
type Metrics struct {
	ejections   *prometheus.CounterVec
	unejections *prometheus.CounterVec
	ejected     *prometheus.GaugeVec
	endpoints   *prometheus.GaugeVec
	perAddress  bool
}

// NewMetrics returns the policy's collectors. With addressLabel, the
// ejection counters also carry the label address (the endpoint's first
// address): each address is a new series, so use it only where the set of
// addresses is small and stable.
func NewMetrics(addressLabel bool) *Metrics {
	ejectLabels, unejectLabels := []string{"target", "reason"}, []string{"target"}
	if addressLabel {
		ejectLabels = append(ejectLabels, "address")
		unejectLabels = append(unejectLabels, "address")
	}
	return &Metrics{
		ejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_outlier_ejections_total",
			Help: "Endpoints ejected by the outlier detection policy, by rule.",
		}, ejectLabels),
		unejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_outlier_unejections_total",
			Help: "Ejected endpoints returned to service after their ejection time.",
		}, unejectLabels),
		ejected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bulwark_outlier_ejected_endpoints",
			Help: "Endpoints currently ejected by the outlier detection policy.",
		}, []string{"target"}),
		endpoints: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bulwark_outlier_endpoints",
			Help: "Endpoints known to the outlier detection policy, ejected or not.",
		}, []string{"target"}),
		perAddress: addressLabel,
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.ejections.Describe(ch)
	m.unejections.Describe(ch)
	m.ejected.Describe(ch)
	m.endpoints.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.ejections.Collect(ch)
	m.unejections.Collect(ch)
	m.ejected.Collect(ch)
	m.endpoints.Collect(ch)
}

// record applies one event of a channel's policy.
func (m *Metrics) record(target string, e event) {
	switch e.kind {
	case eventEject:
		labels := []string{target, e.reason.String()}
		if m.perAddress {
			labels = append(labels, e.addr)
		}
		m.ejections.WithLabelValues(labels...).Inc()
		m.ejected.WithLabelValues(target).Inc()
	case eventUneject:
		labels := []string{target}
		if m.perAddress {
			labels = append(labels, e.addr)
		}
		m.unejections.WithLabelValues(labels...).Inc()
		m.ejected.WithLabelValues(target).Dec()
	case eventForget: // an ejected endpoint left the resolver's list
		m.ejected.WithLabelValues(target).Dec()
	case eventEndpoints:
		m.endpoints.WithLabelValues(target).Add(float64(e.delta))
	}
}
