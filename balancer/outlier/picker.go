package outlier

import (
	"context"
	"sync"

	"google.golang.org/grpc/balancer"

	"github.com/bulwarkrpc/bulwark/internal/endpoint"
)

// picker wraps the child's picker: it unwraps the SubConn, avoids the
// endpoint of the call's previous attempt, and counts the attempt's outcome
// for the endpoint.
type picker struct {
	child balancer.Picker
	b     *outlierBalancer
	ready int // endpoints ready and not ejected when the child made its picker
}

// Pick implements balancer.Picker.
func (p *picker) Pick(info balancer.PickInfo) (balancer.PickResult, error) {
	res, err := p.child.Pick(info)
	if err != nil {
		return res, err
	}
	sc, ok := res.SubConn.(*subConn)
	if !ok {
		return res, nil
	}
	ep := sc.ep.Load()
	if p.ready > 1 {
		if slot := endpoint.SlotFrom(info.Ctx); slot != nil {
			res, sc, ep = p.avoid(info, slot, res, sc, ep)
		}
	}
	res.SubConn = sc.SubConn
	if ep == nil {
		return res, nil
	}
	t := newTracker()
	t.b, t.ep, t.ctx, t.next = p.b, ep, info.Ctx, res.Done
	res.Done = t.done
	return res, nil
}

// avoid picks again, a bounded number of times, when the child chose the
// endpoint that served the call's previous attempt; it records the
// endpoint finally chosen in slot.
func (p *picker) avoid(info balancer.PickInfo, slot *endpoint.Slot, res balancer.PickResult, sc *subConn, ep *endpointState) (balancer.PickResult, *subConn, *endpointState) {
	if last := slot.Last(); last != nil && ep != nil && &ep.id == last {
		for range p.ready {
			r2, err := p.child.Pick(info)
			if err != nil {
				break
			}
			sc2, ok := r2.SubConn.(*subConn)
			ep2 := (*endpointState)(nil)
			if ok {
				ep2 = sc2.ep.Load()
			}
			if ok && ep2 != nil && &ep2.id != last {
				if res.Done != nil {
					res.Done(balancer.DoneInfo{}) // never used: nothing was sent
				}
				res, sc, ep = r2, sc2, ep2
				break
			}
			if r2.Done != nil {
				r2.Done(balancer.DoneInfo{})
			}
		}
	}
	if ep != nil {
		slot.Served(&ep.id)
	}
	return res, sc, ep
}

// tracker carries one attempt from its pick to its end. Trackers are
// pooled, with their done method value made once, so that a pick allocates
// nothing.
type tracker struct {
	b    *outlierBalancer
	ep   *endpointState
	ctx  context.Context
	next func(balancer.DoneInfo)
	done func(balancer.DoneInfo)
}

var trackers sync.Pool

func newTracker() *tracker {
	if t, ok := trackers.Get().(*tracker); ok {
		return t
	}
	t := new(tracker)
	t.done = t.finish
	return t
}

// finish counts the attempt's outcome and passes info to the child's Done.
func (t *tracker) finish(info balancer.DoneInfo) {
	b, ep, ctx, next := t.b, t.ep, t.ctx, t.next
	t.b, t.ep, t.ctx, t.next = nil, nil, nil, nil
	trackers.Put(t)
	// An empty DoneInfo is a pick gRPC did not use (its transport was not
	// ready): it says nothing of the endpoint.
	if info.Err != nil || info.BytesSent || info.BytesReceived {
		b.record(ctx, ep, info.Err)
	}
	if next != nil {
		next(info)
	}
}
