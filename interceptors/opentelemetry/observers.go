package opentelemetry

import (
	"github.com/bulwarkrpc/bulwark/interceptors/circuit"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/deadline"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
)

// Observers are the hooks a Telemetry gives the components that take an
// Observer; pass each to its component's WithObserver (the chains of
// package interceptors do).
type Observers struct {
	Circuit     circuit.Observer
	Concurrency concurrency.Observer
	Deadline    deadline.Observer
	Retry       retry.Observer
}

// Observers returns the observers through which t records their instruments and span events.
func (t *Telemetry) Observers() Observers {
	return Observers{Circuit: t.circuitHooks(), Concurrency: t.concurrencyHooks(), Deadline: t.deadlineHooks(), Retry: t.retryHooks()}
}
