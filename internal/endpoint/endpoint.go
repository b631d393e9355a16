// Package endpoint carries, in a call's context, which endpoint served the
// call's last attempt, so that a load-balancing policy can send the next
// attempt (a retry or a hedge) to another endpoint.
//
// The retry interceptor puts one Slot in the context of a call, before its
// first attempt; every attempt's context derives from it. The outlier
// policy's picker reads the Slot (when there is one) to avoid the endpoint
// named in it, and records there the endpoint it chose. Until the first
// Slot is made in the process, the picker does not even look.
package endpoint

import (
	"context"
	"sync/atomic"
)

// ID names one endpoint of a load-balancing policy. Endpoints are compared
// by pointer: the policy keeps one ID per endpoint for the endpoint's life.
type ID struct {
	// Addr is the endpoint's first address, for logs.
	Addr string
}

// Slot records the endpoint that served a call's latest attempt. It is safe
// for concurrent use by the attempts (hedges) of one call.
type Slot struct {
	last atomic.Pointer[ID]
}

type slotKey struct{}

// active is set when the process builds its first balancer that reads
// slots; until then, callers need not make one.
var active atomic.Bool

// Activate records that a balancer reading slots exists in this process.
// The outlier policy calls it when it is built.
func Activate() {
	if !active.Load() {
		active.Store(true)
	}
}

// Active reports whether a balancer reading slots has been built in this
// process: the retry interceptor gives each call a slot only then, so that
// a process without one pays one atomic load per call.
func Active() bool { return active.Load() }

// used turns true when the first Slot enters a context.
var used atomic.Bool

// WithSlot returns a child of ctx that carries a new, empty Slot, and the
// Slot.
func WithSlot(ctx context.Context) (context.Context, *Slot) {
	s := new(Slot)
	return NewContext(ctx, s), s
}

// NewContext returns a child of ctx that carries s, for a caller that keeps
// the Slot in a per-call struct of its own.
func NewContext(ctx context.Context, s *Slot) context.Context {
	if !used.Load() {
		used.Store(true)
	}
	return context.WithValue(ctx, slotKey{}, s)
}

// SlotFrom returns the Slot that ctx carries, or nil. It does not look
// before the first Slot is made.
func SlotFrom(ctx context.Context) *Slot {
	if ctx == nil || !used.Load() {
		return nil
	}
	s, _ := ctx.Value(slotKey{}).(*Slot)
	return s
}

// Last returns the endpoint that served the latest attempt, or nil.
func (s *Slot) Last() *ID { return s.last.Load() }

// Served records that id serves the attempt being picked.
func (s *Slot) Served(id *ID) { s.last.Store(id) }
