package main

import (
	"sync"
	"time"

	"github.com/bulwarkrpc/bulwark/examples/greeter/internal/workload"
)

// transitionLog records circuit-breaker state changes for the summary. A
// breaker's state-change hook calls Record.
type transitionLog struct {
	start time.Time
	mu    sync.Mutex
	list  []workload.Transition
}

func newTransitionLog() *transitionLog { return &transitionLog{start: time.Now()} }

// Start sets the time the changes are counted from: when the workload
// starts.
func (l *transitionLog) Start(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.start = t
}

// Record adds a change from one state to another.
func (l *transitionLog) Record(from, to string) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	at := now.Sub(l.start)
	l.list = append(l.list, workload.Transition{AtMillis: float64(at.Microseconds()) / 1000, From: from, To: to})
}

// List returns the changes recorded so far, in order.
func (l *transitionLog) List() []workload.Transition {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]workload.Transition(nil), l.list...)
}
