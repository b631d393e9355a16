package metrics

import (
	"github.com/bulwarkrpc/bulwark/interceptors/circuit"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/deadline"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
)

// Observers are the hooks a Metrics gives the components that take an
// Observer; pass each to its component's WithObserver (the chains of
// package interceptors do).
type Observers struct {
	Circuit     circuit.Observer
	Concurrency concurrency.Observer
	Deadline    deadline.Observer
	Retry       retry.Observer
}

// Observers returns the observers through which m feeds its metrics.
func (m *Metrics) Observers() Observers {
	return Observers{Circuit: m.circuitHooks(), Concurrency: m.concurrencyHooks(), Deadline: m.deadlineHooks(), Retry: m.retryHooks()}
}
