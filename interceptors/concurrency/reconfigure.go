package concurrency

import (
	"fmt"

	"github.com/bulwarkrpc/bulwark/internal/reconfig"
)

// The client and server chains reconfigure a Limiter through
// reconfig.Limiter.
func init() {
	reconfig.Limiter = func(l any, opts any) (reconfig.Commit, error) {
		return l.(*Limiter).prepare(opts.([]Option))
	}
}

// prepare checks opts as New does, and against the running Limiter: the
// kind of its global limit (none, WithLimit or WithAdaptive) cannot change.
// It changes nothing; the Commit it returns applies opts (see commit).
func (l *Limiter) prepare(opts []Option) (reconfig.Commit, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	switch have, want := l.kind(), o.kind(); {
	case have == want:
	case want == globalNone:
		return nil, fmt.Errorf("concurrency: %s: cannot be left out while running: the Limiter was made with it", have)
	case want == globalFixed:
		return nil, fmt.Errorf("concurrency: WithLimit(%d): cannot change while running: the Limiter was made %s", o.limit, have.made())
	default:
		return nil, fmt.Errorf("concurrency: %s: cannot change while running: the Limiter was made %s", want, have.made())
	}
	return func() { l.commit(&o) }, nil
}

// commit applies o, which prepare checked. Permits held stay held and
// callers queued stay queued, whatever the new limits and queue lengths:
// the new values decide only what is given from now on. A new algorithm
// takes over the adaptive limit at once with its own limit and a new
// window; the same algorithm keeps its state. A method limit added starts
// with no permit held; one removed stops limiting new calls, and the permits
// and waiters it had are served by its semaphore as before. Calls read the
// other settings as they start, so calls in progress finish under the ones
// they started with.
func (l *Limiter) commit(o *options) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if g := l.global; g != nil {
		g.SetMaxQueue(o.queueLen)
		if l.ctrl != nil {
			l.ctrl.reconfigure(o, l.now())
		} else {
			g.Set(o.limit, o.shares)
		}
	}
	l.cfg.Store(newSettings(o, l.cfg.Load()))
}

// globalKind is the kind of a Limiter's global limit.
type globalKind uint8

const (
	globalNone globalKind = iota
	globalFixed
	globalAdaptive
)

// String returns the option that makes the kind.
func (k globalKind) String() string {
	switch k {
	case globalFixed:
		return "WithLimit"
	case globalAdaptive:
		return "WithAdaptive"
	}
	return "no global limit"
}

// made says how a Limiter of kind k was made.
func (k globalKind) made() string {
	if k == globalNone {
		return "without a global limit (WithLimit or WithAdaptive)"
	}
	return "with " + k.String()
}

func (l *Limiter) kind() globalKind {
	switch {
	case l.ctrl != nil:
		return globalAdaptive
	case l.global != nil:
		return globalFixed
	}
	return globalNone
}

func (o *options) kind() globalKind {
	switch {
	case o.algorithm != nil:
		return globalAdaptive
	case o.limit > 0:
		return globalFixed
	}
	return globalNone
}
