package outlier

import (
	"context"
	"testing"

	"google.golang.org/grpc/balancer"

	"github.com/bulwarkrpc/bulwark/internal/endpoint"
)

type fixedPicker struct{ res balancer.PickResult }

func (p fixedPicker) Pick(balancer.PickInfo) (balancer.PickResult, error) { return p.res, nil }

// BenchmarkPick compares the child's pick alone with the same pick through
// the outlier picker, each followed by the attempt's Done.
func BenchmarkPick(b *testing.B) {
	f := newFixture("a", "b")
	info := balancer.PickInfo{FullMethodName: "/svc/M", Ctx: context.Background()}
	b.Run("child", func(b *testing.B) {
		p := fixedPicker{balancer.PickResult{SubConn: f.scs[0].SubConn}}
		b.ReportAllocs()
		for b.Loop() {
			res, _ := p.Pick(info)
			if res.Done != nil {
				res.Done(balancer.DoneInfo{BytesSent: true})
			}
		}
	})
	b.Run("outlier", func(b *testing.B) {
		p := &picker{child: fixedPicker{balancer.PickResult{SubConn: f.scs[0]}}, b: f.b, ready: 2}
		b.ReportAllocs()
		for b.Loop() {
			res, _ := p.Pick(info)
			res.Done(balancer.DoneInfo{BytesSent: true})
		}
	})
	b.Run("outlier-slot", func(b *testing.B) {
		// A retried call: its slot names the other endpoint, so the
		// child's pick stands and is recorded.
		p := &picker{child: fixedPicker{balancer.PickResult{SubConn: f.scs[0]}}, b: f.b, ready: 2}
		ctx, slot := endpoint.WithSlot(context.Background())
		info := balancer.PickInfo{FullMethodName: "/svc/M", Ctx: ctx}
		b.ReportAllocs()
		for b.Loop() {
			slot.Served(&f.eps[1].id)
			res, _ := p.Pick(info)
			res.Done(balancer.DoneInfo{BytesSent: true})
		}
	})
}
