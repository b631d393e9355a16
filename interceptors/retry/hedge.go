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
	"github.com/bulwarkrpc/bulwark/internal/attempt"
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

// hedge is the state of a hedged unary call (gRFC A6's hedging policy),
// kept by the goroutine that runs it: attempt 1 at once, another every
// hedging delay while none has answered, the next at once after a
// retryable failure (or after the server's delay), up to the policy's
// hedging attempts in all. The first answer that is not a retryable
// failure wins. Whether a failure ends the call or another attempt may
// follow is call.judge's decision, and whether an attempt may go
// call.admit's, as for every call.
type hedge struct {
	c        *call
	template proto.Message // the caller's reply
	dv       deliveries    // the caller's header, trailer and peer options
	opts     []grpc.CallOption
	cancel   context.CancelFunc // cancels every attempt
	results  chan hedgeResult   // room for every attempt

	timer   *time.Timer
	timerOn bool
	due     RetryEvent // what the timer stands for: the next hedge, or an attempt after a server delay

	launched, outstanding int
	last                  hedgeResult // the last failure, returned when none wins
	lastReason            string
	stopped               bool // no more attempts
	budget                bool // the budget stopped them
}

// hedge runs a hedged unary call whose reply is template.
func (c *call) hedge(ctx context.Context, template proto.Message) error {
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	h := &hedge{
		c: c, template: template, cancel: cancel,
		results:    make(chan hedgeResult, c.p.hedgeAttempts),
		timer:      time.NewTimer(c.p.hedgeDelay),
		lastReason: stopMaxAttempts,
	}
	defer h.timer.Stop()
	h.dv, h.opts = splitDeliveries(c.opts)
	h.launch(hctx, nil)
	h.arm(c.p.hedgeDelay, RetryEvent{Delay: c.p.hedgeDelay, Reason: delayHedge})
	for {
		var done bool
		var err error
		select {
		case <-h.tick():
			done, err = h.onTick(ctx, hctx)
		case res := <-h.results:
			done, err = h.onResult(ctx, hctx, res)
		case <-ctx.Done():
			done, err = true, h.end(ctx, status.FromContextError(ctx.Err()).Err(), stopContext)
		}
		if done {
			return err
		}
	}
}

// more reports whether the call may still start attempts.
func (h *hedge) more() bool { return !h.stopped && h.launched < h.c.p.hedgeAttempts }

// tick returns the timer's channel while it stands for an attempt that may
// still start, else nil.
func (h *hedge) tick() <-chan time.Time {
	if h.timerOn && h.more() {
		return h.timer.C
	}
	return nil
}

// arm sets the timer to start the attempt ev describes after d.
func (h *hedge) arm(d time.Duration, ev RetryEvent) {
	h.timer.Reset(d)
	h.timerOn, h.due = true, ev
}

// stop ends the starting of attempts for reason. A server's request to
// stop replaces an earlier reason.
func (h *hedge) stop(reason string) {
	if reason == stopPushback || !h.stopped {
		h.stopped, h.lastReason = true, reason
	}
	if reason == stopBudget {
		h.budget = true
	}
}

// onTick starts the attempt the timer stood for, if admitted, and arms the
// timer for the hedge after it. It reports whether the call has ended.
func (h *hedge) onTick(ctx, hctx context.Context) (bool, error) {
	h.timerOn = false
	h.goNext(ctx, hctx, h.due)
	if h.more() {
		h.arm(h.c.p.hedgeDelay, RetryEvent{Delay: h.c.p.hedgeDelay, Reason: delayHedge})
	}
	if h.outstanding == 0 && h.stopped {
		// Every attempt had failed and the budget or the deadline refused
		// the one this timer was waiting to start: nothing is left to
		// wait for.
		return true, h.giveUp(ctx)
	}
	return false, nil
}

// goNext starts the next attempt now if admit lets it go; otherwise no
// more attempts start.
func (h *hedge) goNext(ctx, hctx context.Context, ev RetryEvent) {
	if reason, ok := h.c.admit(ctx, h.launched, 0, ev); !ok {
		h.stop(reason)
		return
	}
	h.launch(hctx, ev.Err)
}

// launch starts the next attempt; prevErr is the failure it follows, nil
// for a hedge sent after the hedging delay.
func (h *hedge) launch(ctx context.Context, prevErr error) {
	h.launched++
	h.outstanding++
	if h.launched > 1 {
		h.c.setLaterID(ctx, prevErr)
	}
	// The reply is made here: the caller's goroutine may reset the
	// template once an attempt wins.
	go h.attempt(ctx, h.launched, h.template.ProtoReflect().New().Interface())
}

// onResult handles the end of an attempt. It reports whether the call has
// ended.
func (h *hedge) onResult(ctx, hctx context.Context, res hedgeResult) (bool, error) {
	h.outstanding--
	c := h.c
	if res.err == nil {
		c.t.succeeded()
		proto.Reset(h.template)
		proto.Merge(h.template, res.reply)
		h.dv.deliver(&res)
		return true, h.end(ctx, nil, stopSucceeded)
	}
	pushback := pushbackOf(res.trailer)
	c.sawPushback(pushback)
	v := c.judge(ctx, h.launched, result{err: res.err, pushback: pushback, timedOut: res.timedOut})
	switch {
	case v.outcome == outcome.LocalReject && h.outstanding > 0:
		// Refused before the network (an open breaker, a full limiter):
		// no answer, while the attempts still out may give one. No more
		// hedges; a real failure, if one came, stays the error to return.
		h.stopped, h.lastReason = true, stopNotRetryable
		if h.last.err == nil {
			h.last = res
		}
		return false, nil
	case v.stop == stopContext:
		return true, h.end(ctx, status.FromContextError(ctx.Err()).Err(), stopContext)
	case v.stop == stopNotRetryable:
		// A failure that ends the call wins as an answer does.
		h.dv.deliver(&res)
		return true, h.end(ctx, res.err, stopNotRetryable)
	}
	h.last = res
	h.follow(ctx, hctx, v, res.err)
	if h.outstanding == 0 && !h.more() {
		return true, h.giveUp(ctx)
	}
	return false, nil
}

// follow acts on judge's verdict v for a retryable failure, err: stop, or
// start the next attempt at once, or after the server's delay when the
// deadline leaves time for it.
func (h *hedge) follow(ctx, hctx context.Context, v verdict, err error) {
	switch {
	case !v.retry:
		h.stop(v.stop)
	case !h.more():
	case v.delay > 0:
		// The server's delay replaces the hedging delay once.
		if !h.c.fits(ctx, v.delay) {
			h.stop(stopDeadline)
			return
		}
		h.arm(v.delay, RetryEvent{Delay: v.delay, Reason: v.reason, Err: err})
	default:
		h.goNext(ctx, hctx, RetryEvent{Reason: delayHedge, Err: err})
		if h.more() {
			h.arm(h.c.p.hedgeDelay, RetryEvent{Delay: h.c.p.hedgeDelay, Reason: delayHedge})
		}
	}
}

// giveUp ends a call whose attempts have all failed and that will make no
// more, with the last attempt's error.
func (h *hedge) giveUp(ctx context.Context) error {
	err := h.last.err
	if h.budget {
		err = &budgetError{target: h.c.t.name, attempts: h.launched, err: err}
	}
	h.dv.deliver(&h.last)
	return h.end(ctx, err, h.lastReason)
}

// end cancels the attempts still running and waits for them (gRFC A6: a
// hedged call returns when all its attempts have answered or been
// cancelled), so that none outlives the call or touches req afterwards.
func (h *hedge) end(ctx context.Context, err error, reason string) error {
	h.cancel()
	for ; h.outstanding > 0; h.outstanding-- {
		<-h.results
	}
	return h.c.finish(ctx, h.launched, err, reason)
}

// attempt makes attempt n of the hedged call into reply, a fresh message,
// and sends how it ended on h.results. It runs on its own goroutine and
// reads only what does not change while the call runs.
func (h *hedge) attempt(ctx context.Context, n int, reply proto.Message) {
	c := h.c
	res := hedgeResult{n: n, reply: reply}
	actx, cancel := c.attemptContext(ctx, n)
	opts := append(h.opts[:len(h.opts):len(h.opts)], grpc.Header(&res.header), grpc.Trailer(&res.trailer), grpc.Peer(&res.peer))
	res.err = c.invoker(actx, c.method, c.req, res.reply, c.cc, opts...)
	if cancel != nil {
		res.timedOut = attempt.TimedOut(actx, res.err)
		cancel()
	}
	h.results <- res
}
