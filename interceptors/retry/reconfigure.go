package retry

import (
	"time"

	"github.com/bulwarkrpc/bulwark/internal/reconfig"
)

func init() {
	reconfig.Retrier = func(r any, opts any) (reconfig.Commit, error) {
		return r.(*Retrier).prepare(opts.([]Option))
	}
}

// prepare checks opts, a whole new set of options as New takes (an option
// left out goes back to its default), against the running Retrier, and
// returns the Commit that swaps them in; it changes nothing itself. It
// refuses, naming the option, what New would refuse, and a change of the
// budget's kind (window, token bucket, none): each target's budget is made
// of one kind for life. The circuit gate is the chain's wiring, not a
// setting: the running one is kept, whatever opts say.
func (r *Retrier) prepare(opts []Option) (reconfig.Commit, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	cur := r.cfg.Load()
	if cfg.opts.budget != cur.opts.budget {
		by := cfg.opts.budgetBy
		if by == "" {
			by = "WithBudget (the default, without WithBudget or WithTokenBucket)"
		}
		return nil, invalid("%s: the budget cannot change from %s to %s while the Retrier runs; only its parameters can",
			by, cur.opts.budget, cfg.opts.budget)
	}
	cfg.opts.openFor = cur.opts.openFor
	return func() { r.commit(cfg) }, nil
}

// commit makes cfg the configuration of the calls that start from now on
// (a call in progress keeps the one it started with), and gives every
// target's budget its parameters, keeping what the budget holds: the
// calls and retries in a window, the tokens in a bucket (cut to a lower
// maximum). A retry asked for after commit, by any call, meets the new
// parameters.
func (r *Retrier) commit(cfg *config) {
	r.mu.Lock()
	defer r.mu.Unlock()
	was := r.cfg.Load().opts.trailer
	r.cfg.Store(cfg)
	now := time.Now()
	r.targets.Range(func(_, v any) bool {
		v.(*target).reconfigure(&cfg.opts, was, now)
		return true
	})
}

// String names the kind of budget, for the error of a reconfiguration
// that would change it.
func (k budgetKind) String() string {
	switch k {
	case budgetWindow:
		return "a window (WithBudget)"
	case budgetTokens:
		return "a token bucket (WithTokenBucket)"
	case budgetNone:
		return "none (WithBudget(+Inf, ...))"
	}
	return "unknown"
}
