package circuit

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/internal/attempt"
	"github.com/bulwarkrpc/bulwark/internal/refusal"
	"github.com/bulwarkrpc/bulwark/internal/retrystate"
)

// Circuit holds the breakers of a client or a server; its methods return the
// interceptors, which share them. It is safe for concurrent use.
type Circuit struct {
	// opts is loaded once per call, and replaced whole by a reconfiguration
	// (see prepare).
	opts    atomic.Pointer[options]
	clients *registry
	servers *registry
}

// New returns a Circuit, or an error naming each option that is invalid
// (breaker options included).
func New(opts ...Option) (*Circuit, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	c := &Circuit{}
	c.opts.Store(&o)
	// The overflow breakers are named so that their events keep their side.
	c.clients = newRegistry(o.maxBreakers, c.newEntry, key{target: "overflow"})
	c.servers = newRegistry(o.maxBreakers, c.newEntry, key{method: "/overflow/overflow"})
	return c, nil
}

// ClientBreaker returns the breaker that guards calls to target (and to
// fullMethod, with WithPerMethod; fullMethod is ignored otherwise), making it
// if needed: for example to force it open (breaker.ModeForcedOpen) before
// any call, or to read its state. A breaker evicted from the registry (see
// WithMaxBreakers) no longer guards calls.
func (c *Circuit) ClientBreaker(target, fullMethod string) *breaker.Breaker {
	return c.clients.get(c.opts.Load().clientKey(target, fullMethod)).b
}

func init() {
	retrystate.RefusesFor = func(c any) func(target, fullMethod string) time.Duration {
		return c.(*Circuit).refusesFor
	}
}

// refusesFor returns how long the client breaker that guards target (and
// fullMethod, with WithPerMethod) will still refuse calls: see
// breaker.(*Breaker).RefusesFor; zero when it has no breaker yet. It makes
// no breaker and takes no lock. The client chain gives it to the retry
// interceptor (retrystate.RefusesFor), so that a retry does not wait for
// an attempt the breaker would refuse.
func (c *Circuit) refusesFor(target, fullMethod string) time.Duration {
	e, ok := c.clients.peek(c.opts.Load().clientKey(target, fullMethod))
	if !ok {
		return 0
	}
	return e.b.RefusesFor()
}

// ServerBreaker returns the breaker that guards the server's fullMethod,
// making it if needed.
func (c *Circuit) ServerBreaker(fullMethod string) *breaker.Breaker {
	return c.servers.get(key{method: fullMethod}).b
}

// Close stops the timers of every breaker, for a Circuit that is no longer
// used. Calls already under way may still report.
func (c *Circuit) Close() {
	c.clients.close()
	c.servers.close()
}

func (o *options) clientKey(target, fullMethod string) key {
	if o.perMethod {
		return key{target, fullMethod}
	}
	return key{target: target}
}

// breakerOptions returns the options of the breaker of k: the Circuit's
// breaker options and a hook that tells the observer, naming k.
func (o *options) breakerOptions(k key) []breaker.Option {
	opts := o.breakerOpts
	if hook := o.observer.OnStateChange; hook != nil {
		opts = append(opts[:len(opts):len(opts)], breaker.WithOnStateChange(func(from, to breaker.State) {
			hook(context.Background(), StateEvent{Target: k.target, Method: k.method, From: from, To: to})
		}))
	}
	return opts
}

// newEntry makes the entry of k. The registry calls it holding its mutex,
// which a reconfiguration holds while it replaces the options and
// reconfigures the breakers held: an entry made meanwhile is either made
// with the new options or reconfigured.
func (c *Circuit) newEntry(k key) *entry {
	b, err := breaker.New(c.opts.Load().breakerOptions(k)...)
	if err != nil {
		panic(err) // New checked these options
	}
	rej := &openError{Target: k.target, Method: k.method}
	return &entry{b: b, rej: rej, refusal: refusal.Mark(rej)}
}

// classify returns the outcome of a call and what the breaker records.
func (c *Circuit) classify(ctx context.Context, o *options, err error) (outcome.Outcome, breaker.Verdict) {
	r := outcome.Attempt{Err: err}
	if err != nil {
		r.Err = contextStatus(err)
		if attempt.TimedOut(ctx, r.Err) {
			// The retry interceptor's per-attempt timeout ended this attempt,
			// not the caller: judge it against the caller's (still live)
			// deadline, as a slow attempt.
			r.AttemptTimedOut = true
			ctx = context.WithoutCancel(ctx)
		}
	}
	oc := o.classifier(ctx, r)
	switch oc {
	case outcome.Success:
		return oc, breaker.Succeeded
	case outcome.RetryableFailure, outcome.FatalFailure:
		return oc, breaker.Failed
	default:
		return oc, breaker.Skipped
	}
}

// contextStatus turns a bare context error (as a handler or an inner
// interceptor may return) into the status gRPC sends for it, so that the
// classifier sees CANCELLED or DEADLINE_EXCEEDED rather than UNKNOWN.
func contextStatus(err error) error {
	if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var gs interface{ GRPCStatus() *status.Status }
	if errors.As(err, &gs) {
		return err
	}
	return status.FromContextError(err).Err()
}

// report records how a call ended and tells the observer.
func (c *Circuit) report(ctx context.Context, o *options, e *entry, fullMethod string, p breaker.Permit, err error) outcome.Outcome {
	oc, r := c.classify(ctx, o, err)
	p.Done(r)
	if o.observer.OnCall != nil {
		o.observer.OnCall(ctx, CallEvent{Target: e.rej.Target, Method: fullMethod, Outcome: oc})
	}
	return oc
}

func (c *Circuit) reject(ctx context.Context, o *options, e *entry, fullMethod string) {
	if o.observer.OnReject != nil {
		o.observer.OnReject(ctx, RejectEvent{Target: e.rej.Target, Method: fullMethod})
	}
}
