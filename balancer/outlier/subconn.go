package outlier

import (
	"errors"
	"sync/atomic"

	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/connectivity"
)

// errEjected is the connection error an ejected endpoint's SubConns report
// to the child policy.
var errEjected = errors.New("outlier: endpoint ejected by outlier detection")

// subConn wraps one SubConn of the child. Ejection goes through the health
// listener (as gRFC A61 has it): the child sees TRANSIENT_FAILURE while the
// endpoint is ejected, and the SubConn's real health when it returns; the
// connection itself is left alone.
type subConn struct {
	balancer.SubConn
	b        *outlierBalancer
	addr     string
	listener func(balancer.SubConnState) // the child's; set once
	ep       atomic.Pointer[endpointState]

	// Under outlierBalancer.mu.
	raw            connectivity.State
	healthListener func(balancer.SubConnState)
	health         balancer.SubConnState
	healthSet      bool
	ejected        bool
}

// readyLocked reports whether the child may pick sc.
func (sc *subConn) readyLocked() bool {
	if sc.raw != connectivity.Ready || sc.ejected {
		return false
	}
	return !sc.healthSet || sc.health.ConnectivityState == connectivity.Ready
}

// onState passes a connectivity update to the child.
func (sc *subConn) onState(s balancer.SubConnState) {
	b := sc.b
	b.childMu.Lock()
	defer b.childMu.Unlock()
	b.mu.Lock()
	sc.raw = s.ConnectivityState
	if s.ConnectivityState != connectivity.Ready {
		sc.healthSet = false
	}
	if s.ConnectivityState == connectivity.Shutdown {
		if ep := sc.ep.Load(); ep != nil {
			delete(ep.subConns, sc)
		}
	}
	b.mu.Unlock()
	if sc.listener != nil {
		sc.listener(s)
	}
}

// RegisterHealthListener registers the child's health listener, which sees
// TRANSIENT_FAILURE while the endpoint is ejected.
func (sc *subConn) RegisterHealthListener(l func(balancer.SubConnState)) {
	b := sc.b
	b.mu.Lock()
	sc.healthListener = l
	sc.healthSet = false
	b.mu.Unlock()
	if l == nil {
		sc.SubConn.RegisterHealthListener(nil)
		return
	}
	sc.SubConn.RegisterHealthListener(sc.onHealth)
}

// onHealth passes a health update to the child, unless the endpoint is
// ejected.
func (sc *subConn) onHealth(s balancer.SubConnState) {
	b := sc.b
	b.childMu.Lock()
	defer b.childMu.Unlock()
	b.mu.Lock()
	sc.health, sc.healthSet = s, true
	l, ejected := sc.healthListener, sc.ejected
	b.mu.Unlock()
	if l == nil {
		return
	}
	if ejected {
		s = balancer.SubConnState{ConnectivityState: connectivity.TransientFailure, ConnectionError: errEjected}
	}
	l(s)
}

// notifyLocked returns the call that tells the child of sc's ejection or
// return, to be made holding childMu but not mu; nil when there is nothing
// to tell.
func (sc *subConn) notifyLocked() func() {
	l := sc.healthListener
	if l == nil {
		return nil
	}
	if sc.ejected {
		return func() {
			l(balancer.SubConnState{ConnectivityState: connectivity.TransientFailure, ConnectionError: errEjected})
		}
	}
	if !sc.healthSet {
		return nil
	}
	s := sc.health
	return func() { l(s) }
}
