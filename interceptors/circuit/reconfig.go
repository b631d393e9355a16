package circuit

import (
	"errors"

	"github.com/bulwarkrpc/bulwark/internal/reconfig"
)

func init() {
	reconfig.Circuit = func(c any, opts any) (reconfig.Commit, error) {
		return c.(*Circuit).prepare(opts.([]Option))
	}
}

// prepare checks opts, the Circuit's whole new option list (applied to the
// defaults as New applies them), and returns the Commit that swaps them in.
// It refuses, naming the option, what New refuses and what cannot change
// while the Circuit runs: WithPerMethod (the client breakers are keyed by
// it) and WithMaxBreakers (the registries are sized by it). It changes
// nothing; the chains serialize prepare and Commit.
//
// The Commit reconfigures every breaker the Circuit holds (both sides, the
// overflow breakers included) with the new breaker options, keeping each
// one's state (see breaker.(*Breaker).Reconfigure), and the breakers made
// after it use them. Calls under way finish with the options they started
// with; the next calls use the new ones.
func (c *Circuit) prepare(opts []Option) (reconfig.Commit, error) {
	n, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	old := c.opts.Load()
	if n.perMethod != old.perMethod {
		n.fail("WithPerMethod(%v): cannot change while running; it is fixed when the Circuit is made", n.perMethod)
	}
	if n.maxBreakers != old.maxBreakers {
		n.fail("WithMaxBreakers(%d): cannot change while running; it is fixed when the Circuit is made", n.maxBreakers)
	}
	if len(n.errs) > 0 {
		return nil, errors.Join(n.errs...)
	}
	return func() { c.commit(&n) }, nil
}

// commit stores o and reconfigures the breakers held, holding both
// registries' mutexes: an entry is made under its registry's mutex, so none
// is made with the old options after the sweep.
func (c *Circuit) commit(o *options) {
	c.clients.mu.Lock()
	defer c.clients.mu.Unlock()
	c.servers.mu.Lock()
	defer c.servers.mu.Unlock()
	c.opts.Store(o)
	reconfigure := func(k key, e *entry) {
		if err := e.b.Reconfigure(o.breakerOptions(k)...); err != nil {
			panic(err) // prepare checked these options
		}
	}
	c.clients.eachLocked(reconfigure)
	c.servers.eachLocked(reconfigure)
}
