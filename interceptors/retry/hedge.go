package retry

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
)

// hedgeResult is how one hedged attempt ended. Each attempt has its own
// reply message, header, trailer and peer, so that only the winner's reach
// the caller.
type hedgeResult struct {
	n        int
	reply    proto.Message
	err      error
	timedOut bool
	header   metadata.MD
	trailer  metadata.MD
	peer     peer.Peer
}

// deliveries are the caller's call options that receive data at the end of
// an attempt. Hedged attempts run at once, so each gets its own and the
// winner's are copied to the caller's.
type deliveries struct {
	header  []*metadata.MD
	trailer []*metadata.MD
	peer    []*peer.Peer
}

// splitDeliveries removes grpc.Header, grpc.Trailer and grpc.Peer options
// from opts.
func splitDeliveries(opts []grpc.CallOption) (deliveries, []grpc.CallOption) {
	var d deliveries
	kept := make([]grpc.CallOption, 0, len(opts)+3)
	for _, o := range opts {
		switch o := o.(type) {
		case grpc.HeaderCallOption:
			d.header = append(d.header, o.HeaderAddr)
		case grpc.TrailerCallOption:
			d.trailer = append(d.trailer, o.TrailerAddr)
		case grpc.PeerCallOption:
			d.peer = append(d.peer, o.PeerAddr)
		default:
			kept = append(kept, o)
		}
	}
	return d, kept
}

func (d *deliveries) deliver(res *hedgeResult) {
	for _, h := range d.header {
		*h = res.header
	}
	for _, t := range d.trailer {
		*t = res.trailer
	}
	for _, p := range d.peer {
		*p = res.peer
	}
}

// hedge runs a hedged unary call (gRFC A6's hedging policy): attempt 1 at
// once, another every hedging delay while none has answered, the next at
// once after a retryable failure, up to p.hedgeAttempts in all. The first
// answer that is not a retryable failure wins. ok is false, and nothing was
// sent, when reply is not a proto.Message.
func (r *Retrier) hedge(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts []grpc.CallOption, p *policy, t *target) (err error, ok bool) {
	template, ok := reply.(proto.Message)
	if !ok {
		return nil, false
	}
	dv, opts := splitDeliveries(opts)
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan hedgeResult, p.hedgeAttempts)
	id, idSet := "", false // what the attempts after the first send as x-request-id
	launch := func(n int, prevErr error) {
		if n > 1 && !idSet {
			id, idSet = laterRequestID(ctx, prevErr), true
		}
		go hedgeAttempt(hctx, n, id, method, req, template, cc, invoker, opts, p.perAttemptTimeout, results)
	}
	c := call{r: r, ctx: ctx, method: method, cc: cc, t: t, p: p, hedged: true}

	launch(1, nil)
	launched, outstanding := 1, 1
	timer := time.NewTimer(p.hedgeDelay)
	defer timer.Stop()
	timerOn := true
	// What the timer stands for, for the observer.
	pendingDelay, pendingReason, pendingErr := p.hedgeDelay, DelayHedge, error(nil)
	var last hedgeResult
	var lastReason StopReason = StopMaxAttempts
	stopped := false // no more attempts: pushback, budget or deadline
	var budgetErr bool

	// end cancels the attempts still running and waits for them (gRFC A6:
	// a hedged call returns when all its attempts have answered or been
	// cancelled), so none outlives the call or touches req afterwards.
	end := func(attempts int, err error, reason StopReason) error {
		cancel()
		for ; outstanding > 0; outstanding-- {
			<-results
		}
		return c.finish(attempts, err, reason)
	}

	// giveUp ends a call whose attempts have all failed and that will make
	// no more, with the last attempt's error.
	giveUp := func() error {
		err := last.err
		if budgetErr {
			err = &BudgetError{Target: t.name, Attempts: launched, Err: err}
		}
		dv.deliver(&last)
		return end(launched, err, lastReason)
	}

	// next starts attempt launched+1 if the deadline and the budget allow.
	next := func(delay time.Duration, reason DelayReason, prevErr error) {
		if d, ok := ctx.Deadline(); ok && time.Until(d) < p.minAttemptTime {
			stopped, lastReason = true, StopDeadline
			return
		}
		if c.circuitOpenAfter(0) {
			stopped, lastReason = true, StopCircuitOpen
			return
		}
		allowed, level := t.tryRetry()
		if !allowed {
			stopped, lastReason, budgetErr = true, StopBudget, true
			return
		}
		r.opts.observer.OnRetry(ctx, RetryEvent{
			Method: method, Target: t.name, Attempt: launched + 1,
			Delay: delay, Reason: reason, Err: prevErr, Budget: level,
		})
		launched++
		outstanding++
		launch(launched, prevErr)
	}

	for {
		var tick <-chan time.Time
		if timerOn && !stopped && launched < p.hedgeAttempts {
			tick = timer.C
		}
		select {
		case <-tick:
			timerOn = false
			next(pendingDelay, pendingReason, pendingErr)
			if !stopped && launched < p.hedgeAttempts {
				timer.Reset(p.hedgeDelay)
				timerOn = true
				pendingDelay, pendingReason, pendingErr = p.hedgeDelay, DelayHedge, nil
			}
			if outstanding == 0 && stopped {
				// Every attempt had failed and the budget or the deadline
				// refused the one this timer was waiting to start: nothing
				// is left to wait for.
				return giveUp(), true
			}
		case res := <-results:
			outstanding--
			pushback := pushbackOf(res.trailer)
			r.sawPushback(t, pushback)
			server, reason, stopPushback, hasServer := serverDelay(res.err, pushback)
			o := r.opts.classifier.Classify(ctx, outcome.Result{Err: res.err, Pushback: pushback, AttemptTimedOut: res.timedOut})
			if o == outcome.LocalReject && outstanding > 0 {
				// Refused before the network (an open breaker, a full
				// limiter): no answer, while the attempts still out may
				// give one. No more hedges; a real failure, if one came,
				// stays the error to return.
				stopped, lastReason = true, StopNotRetryable
				if last.err == nil {
					last = res
				}
				continue
			}
			if res.err == nil || (!o.Retryable() && !stopPushback) {
				// The winner: a good answer, or a failure that ends the call.
				reason := StopSucceeded
				if res.err == nil {
					t.succeeded()
					proto.Reset(template)
					proto.Merge(template, res.reply)
				} else {
					reason = StopNotRetryable
				}
				dv.deliver(&res)
				return end(launched, res.err, reason), true
			}
			t.failed()
			last = res
			switch {
			case stopPushback:
				stopped, lastReason = true, StopPushback
			case !stopped && launched < p.hedgeAttempts:
				if hasServer && server > 0 {
					// The server's delay replaces the hedging delay once,
					// unless the deadline leaves no time for it.
					server = min(server, p.maxServerDelay)
					if d, ok := ctx.Deadline(); ok && time.Until(d) < server+p.minAttemptTime {
						stopped, lastReason = true, StopDeadline
						break
					}
					timer.Reset(server)
					timerOn = true
					pendingDelay, pendingReason, pendingErr = server, reason, res.err
				} else {
					next(0, DelayHedge, res.err)
					if !stopped && launched < p.hedgeAttempts {
						timer.Reset(p.hedgeDelay)
						timerOn = true
						pendingDelay, pendingReason, pendingErr = p.hedgeDelay, DelayHedge, nil
					}
				}
			}
			if outstanding == 0 && (stopped || launched >= p.hedgeAttempts) {
				return giveUp(), true
			}
		case <-ctx.Done():
			err := status.FromContextError(ctx.Err()).Err()
			return end(launched, err, StopContext), true
		}
	}
}

// hedgeAttempt makes attempt n of a hedged call into a fresh reply and
// sends how it ended on results, which has room for every attempt. After
// the first, the attempt sends id as x-request-id unless id is "".
func hedgeAttempt(ctx context.Context, n int, id, method string, req any, template proto.Message, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts []grpc.CallOption, timeout time.Duration, results chan<- hedgeResult) {
	res := hedgeResult{n: n, reply: template.ProtoReflect().New().Interface()}
	actx := ctx
	if n > 1 {
		actx = laterAttempt(ctx, n, id)
	}
	var cancel context.CancelFunc
	if timeout > 0 {
		actx, cancel = outcome.WithAttemptTimeout(actx, timeout)
	}
	aopts := append(opts[:len(opts):len(opts)], grpc.Header(&res.header), grpc.Trailer(&res.trailer), grpc.Peer(&res.peer))
	res.err = invoker(actx, method, req, res.reply, cc, aopts...)
	if cancel != nil {
		res.timedOut = outcome.AttemptTimedOut(actx, res.err)
		cancel()
	}
	results <- res
}
