package outlier

import (
	"context"
	"testing"

	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/internal/endpoint"
)

// fakeSubConn stands for grpc-go's SubConn.
type fakeSubConn struct {
	balancer.SubConn
	name string
}

// seqPicker returns its SubConns in turn, counting discarded picks.
type seqPicker struct {
	scs   []balancer.SubConn
	next  int
	dones []balancer.DoneInfo
}

func (p *seqPicker) Pick(balancer.PickInfo) (balancer.PickResult, error) {
	sc := p.scs[p.next%len(p.scs)]
	p.next++
	return balancer.PickResult{SubConn: sc, Done: func(di balancer.DoneInfo) { p.dones = append(p.dones, di) }}, nil
}

type fixture struct {
	b   *outlierBalancer
	eps []*endpointState
	scs []*subConn
}

func newFixture(names ...string) *fixture {
	f := &fixture{b: &outlierBalancer{bld: &Builder{classifier: outcome.Default}, cfg: defaultConfig()}}
	f.b.consecutive.Store(defaultConsecutiveFailures)
	for _, n := range names {
		ep := newEndpointState([]string{n})
		sc := &subConn{SubConn: &fakeSubConn{name: n}, b: f.b, addr: n}
		sc.ep.Store(ep)
		f.eps = append(f.eps, ep)
		f.scs = append(f.scs, sc)
	}
	return f
}

func nameOf(sc balancer.SubConn) string { return sc.(*fakeSubConn).name }

func TestPickerAvoidsPreviousEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name          string
		seq           []int // indexes of the SubConns the child returns in turn
		ready         int
		slot          bool
		last          int // -1: none
		want          string
		wantPicks     int // child picks made
		wantDiscarded int
	}{
		{"no slot", []int{0, 1}, 2, false, -1, "a", 1, 0},
		{"empty slot", []int{0, 1}, 2, true, -1, "a", 1, 0},
		{"slot names another", []int{0, 1}, 2, true, 1, "a", 1, 0},
		{"slot names the pick: next", []int{0, 1}, 2, true, 0, "b", 2, 1},
		{"only one ready: no avoidance", []int{0, 1}, 1, true, 0, "a", 1, 0},
		{"child keeps the same: bounded, keeps it", []int{0}, 3, true, 0, "a", 4, 3},
		{"third try finds another", []int{0, 0, 0, 2}, 3, true, 0, "c", 4, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture("a", "b", "c")
			child := &seqPicker{}
			for _, i := range tc.seq {
				child.scs = append(child.scs, f.scs[i])
			}
			p := &picker{child: child, b: f.b, ready: tc.ready}
			ctx := context.Background()
			var slot *endpoint.Slot
			if tc.slot {
				ctx, slot = endpoint.WithSlot(ctx)
				if tc.last >= 0 {
					slot.Served(&f.eps[tc.last].id)
				}
			}
			res, err := p.Pick(balancer.PickInfo{Ctx: ctx})
			if err != nil {
				t.Fatal(err)
			}
			if got := nameOf(res.SubConn); got != tc.want {
				t.Errorf("picked %s, want %s", got, tc.want)
			}
			if child.next != tc.wantPicks {
				t.Errorf("child picks = %d, want %d", child.next, tc.wantPicks)
			}
			if len(child.dones) != tc.wantDiscarded {
				t.Errorf("discarded picks = %d, want %d", len(child.dones), tc.wantDiscarded)
			}
			if slot != nil && (slot.Last() == nil || slot.Last().Addr != tc.want) {
				t.Errorf("slot records %v, want %s", slot.Last(), tc.want)
			}
			res.Done(balancer.DoneInfo{BytesSent: true})
			if n := len(child.dones); n != tc.wantDiscarded+1 {
				t.Errorf("the child's Done ran %d times in all, want %d", n, tc.wantDiscarded+1)
			}
		})
	}
}

// The picker counts each attempt's outcome for its endpoint, and passes
// DoneInfo on to the child.
func TestPickerCountsOutcomes(t *testing.T) {
	f := newFixture("a")
	child := &seqPicker{scs: []balancer.SubConn{f.scs[0]}}
	p := &picker{child: child, b: f.b, ready: 1}
	for _, tc := range []struct {
		info         balancer.DoneInfo
		succ, failed uint32
	}{
		{balancer.DoneInfo{BytesSent: true}, 1, 0},
		{balancer.DoneInfo{}, 1, 0}, // unused pick
		{balancer.DoneInfo{Err: status.Error(codes.InvalidArgument, "")}, 2, 0},
		{balancer.DoneInfo{Err: status.Error(codes.Canceled, "")}, 2, 0},
		{balancer.DoneInfo{Err: status.Error(codes.Unavailable, "")}, 2, 1},
		{balancer.DoneInfo{Err: status.Error(codes.Internal, "")}, 2, 2},
	} {
		res, _ := p.Pick(balancer.PickInfo{Ctx: context.Background()})
		res.Done(tc.info)
		c := f.eps[0].active.Load()
		if c.success.Load() != tc.succ || c.failure.Load() != tc.failed {
			t.Fatalf("after %v: %d successes, %d failures; want %d, %d", tc.info.Err, c.success.Load(), c.failure.Load(), tc.succ, tc.failed)
		}
	}
	if got := f.eps[0].fails.Load(); got != 2 {
		t.Fatalf("consecutive failures = %d, want 2", got)
	}
	if len(child.dones) != 6 {
		t.Fatalf("the child's Done ran %d times, want 6", len(child.dones))
	}
}

func TestEjectionTime(t *testing.T) {
	c := defaultConfig() // 30s base, 300s max
	for _, tc := range []struct {
		mult uint32
		want string
	}{{0, "30s"}, {1, "30s"}, {2, "1m0s"}, {10, "5m0s"}, {11, "5m0s"}, {1 << 31, "5m0s"}} {
		if got := c.ejectionTime(tc.mult).String(); got != tc.want {
			t.Errorf("ejectionTime(%d) = %s, want %s", tc.mult, got, tc.want)
		}
	}
	c.maxEjectionTime = 0 // capped by max(base, max): base
	if got := c.ejectionTime(3).String(); got != "30s" {
		t.Errorf("with maxEjectionTime 0: %s, want 30s", got)
	}
}
