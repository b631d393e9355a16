package interceptors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/bulwarkrpc/bulwark/interceptors/circuit"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/deadline"
	"github.com/bulwarkrpc/bulwark/interceptors/logging"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/reconfig"
	"github.com/bulwarkrpc/bulwark/internal/retrystate"
	"github.com/bulwarkrpc/bulwark/internal/track"
)

// live is what a chain's Reconfigure changes: the components the chain was
// built with, and what it needs to give them the chain's observers again.
type live struct {
	mu   sync.Mutex // serializes Reconfigure
	side string     // "client" or "server"
	base config     // the options the chain was built with
	lg   *logging.Logging

	deadline *deadline.Policy
	retrier  *retry.Retrier
	limiter  *concurrency.Limiter
	circuit  *circuit.Circuit
}

// fixed are the chain options that decide its layers and observers: they
// cannot change while it runs.
var fixed = []string{"WithLogger", "WithMetrics", "WithOpenTelemetry", "WithClassifier", "WithBoundary", "WithServiceConfig", "WithHealth"}

// Reconfigure validates the component options in opts and swaps them in
// while calls run: WithDeadline, WithCircuitBreaker, WithConcurrency and
// WithRetry, each replacing that component's options with the ones given
// (the chain's observers and classifier are kept). Components not named
// keep theirs. What must survive does: a breaker's state and window, the
// permits in flight (a lowered limit admits nothing new until the calls in
// flight are below it, and cancels none), queued callers, retry budgets'
// balances; calls already under way finish with the settings they started
// with. Each component refuses what it cannot change while running, naming
// the option (for example circuit.WithPerMethod, or switching a limiter
// between fixed and adaptive). If any option is invalid, or names a
// component the chain was built without, or is one of the chain's fixed
// options (WithLogger, WithMetrics, WithOpenTelemetry, WithClassifier,
// WithBoundary, WithServiceConfig, WithHealth, WithExempt), Reconfigure returns the
// errors and changes nothing. Each call is logged and counted in
// bulwark_config_reloads_total{result="ok"|"error"} (and
// bulwark.config.reloads). Concurrent calls are applied one at a time. A
// call already running keeps the settings it started with.
func (c *ClientChain) Reconfigure(opts ...ClientOption) error {
	var n config
	for _, o := range opts {
		if o == nil {
			n.errs = append(n.errs, errors.New("interceptors: Reconfigure: nil ClientOption"))
			continue
		}
		o.applyClient(&n)
	}
	return c.reconfigure(&n)
}

// Reconfigure is ClientChain.Reconfigure for the server chain:
// WithDeadline, WithCircuitBreaker and WithConcurrency can change while it
// serves.
func (s *ServerChain) Reconfigure(opts ...ServerOption) error {
	var n config
	for _, o := range opts {
		if o == nil {
			n.errs = append(n.errs, errors.New("interceptors: Reconfigure: nil ServerOption"))
			continue
		}
		o.applyServer(&n)
	}
	return s.reconfigure(&n)
}

// reconfigure prepares every component n names, commits them all when all
// are valid, and logs and counts the result.
func (l *live) reconfigure(n *config) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	changed, err := l.prepare(n)
	if l.base.metrics != nil {
		track.Of(l.base.metrics).ConfigReload(err == nil)
	}
	if l.base.otel != nil {
		track.Of(l.base.otel).ConfigReload(err == nil)
	}
	lg := l.base.logger
	if lg == nil {
		lg = slog.Default()
	}
	if err != nil {
		lg.LogAttrs(context.Background(), slog.LevelWarn, "bulwark: configuration refused; nothing changed",
			slog.String("side", l.side), slog.String("error", err.Error()))
		return err
	}
	for _, commit := range changed {
		commit.commit()
	}
	names := make([]string, len(changed))
	for i, ch := range changed {
		names[i] = ch.name
	}
	lg.LogAttrs(context.Background(), slog.LevelInfo, "bulwark: configuration reloaded",
		slog.String("side", l.side), slog.String("changed", strings.Join(names, ",")))
	return nil
}

// change is one component's prepared reconfiguration.
type change struct {
	name   string
	commit reconfig.Commit
}

// prepare validates n against the running chain and prepares the
// components it names, changing nothing.
func (l *live) prepare(n *config) ([]change, error) {
	errs := append([]error(nil), n.errs...)
	for _, name := range fixed {
		if n.has[name] {
			errs = append(errs, fmt.Errorf("interceptors: Reconfigure: %s cannot change while the chain runs; build a new chain", name))
		}
	}
	if n.exempt != nil {
		errs = append(errs, errors.New("interceptors: Reconfigure: WithExempt cannot change while the chain runs; build a new chain"))
	}
	// c is the chain's configuration with n's component options: the
	// with*Observers functions put the chain's observers and classifier
	// before them, as NewClientChain and NewServerChain did.
	c := l.base
	c.deadline, c.circuit, c.concurrency, c.retry = n.deadline, n.circuit, n.concurrency, n.retry
	var changed []change
	// add prepares the component option names, when n names it; opts
	// builds its options, only then.
	add := func(option string, has bool, prepare func(any, any) (reconfig.Commit, error), comp any, opts func() any) {
		if !n.has[option] {
			return
		}
		if !has {
			errs = append(errs, fmt.Errorf("interceptors: Reconfigure: %s: the chain was built without it; its components are chosen when it is made", option))
			return
		}
		commit, err := prepare(comp, opts())
		if err != nil {
			errs = append(errs, fmt.Errorf("interceptors: Reconfigure: %s: %w", option, err))
			return
		}
		changed = append(changed, change{option, commit})
	}
	add("WithDeadline", l.deadline != nil, reconfig.Deadline, l.deadline, func() any { return withDeadlineObservers(&c, l.lg) })
	add("WithCircuitBreaker", l.circuit != nil, reconfig.Circuit, l.circuit, func() any { return withCircuitObservers(&c, l.lg) })
	add("WithConcurrency", l.limiter != nil, reconfig.Limiter, l.limiter, func() any { return withConcurrencyObservers(&c, l.lg) })
	add("WithRetry", l.retrier != nil, reconfig.Retrier, l.retrier, func() any { return retryOptions(&c, l.lg, l.circuit) })
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return changed, nil
}

// retryOptions returns the options of a chain's Retrier: gated by circ when
// there is one, with the chain's observers.
func retryOptions(c *config, lg *logging.Logging, circ *circuit.Circuit) []retry.Option {
	opts := withRetryObservers(c, lg)
	if circ != nil {
		opts = append([]retry.Option{retrystate.CircuitGate(retrystate.RefusesFor(circ)).(retry.Option)}, opts...)
	}
	return opts
}
