package breaker_test

import (
	"testing"

	"github.com/bulwarkrpc/bulwark/breaker"
)

func newBench(b *testing.B, opts ...breaker.Option) *breaker.Breaker {
	b.Helper()
	br, err := breaker.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(br.Close)
	return br
}

// BenchmarkClosedSuccess is the healthy path: Allow, then report a success.
func BenchmarkClosedSuccess(b *testing.B) {
	br := newBench(b)
	b.ReportAllocs()
	for b.Loop() {
		p, err := br.Allow()
		if err != nil {
			b.Fatal(err)
		}
		p.Done(breaker.Succeeded)
	}
}

// BenchmarkClosedSuccessParallel is the healthy path from every P at once.
func BenchmarkClosedSuccessParallel(b *testing.B) {
	br := newBench(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p, err := br.Allow()
			if err != nil {
				b.Error(err)
				return
			}
			p.Done(breaker.Succeeded)
		}
	})
}

// BenchmarkClosedDo is the healthy path through Allow and Done, as one
// call of a function.
func BenchmarkClosedDo(b *testing.B) {
	br := newBench(b)
	fn := func() error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		if err := do(br, fn); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClosedCountWindow is the healthy path with a count window.
func BenchmarkClosedCountWindow(b *testing.B) {
	br := newBench(b, breaker.WithCountWindow(100))
	b.ReportAllocs()
	for b.Loop() {
		p, _ := br.Allow()
		p.Done(breaker.Succeeded)
	}
}

// BenchmarkClosedSlowCalls is the healthy path with slow-call detection,
// which reads the clock twice per call.
func BenchmarkClosedSlowCalls(b *testing.B) {
	br := newBench(b, breaker.WithSlowCalls(1e9, 0.5))
	b.ReportAllocs()
	for b.Loop() {
		p, _ := br.Allow()
		p.Done(breaker.Succeeded)
	}
}

func openBench(b *testing.B) *breaker.Breaker {
	br := newBench(b, breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(1e12, 1e12))
	p, _ := br.Allow()
	p.Done(breaker.Failed)
	if br.State() != breaker.StateOpen {
		b.Fatal("breaker did not open")
	}
	return br
}

// BenchmarkOpenReject is a refusal by an open breaker.
func BenchmarkOpenReject(b *testing.B) {
	br := openBench(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := br.Allow(); err == nil {
			b.Fatal("allowed")
		}
	}
}

// BenchmarkOpenRejectParallel is a refusal from every P at once.
func BenchmarkOpenRejectParallel(b *testing.B) {
	br := openBench(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := br.Allow(); err == nil {
				b.Error("allowed")
				return
			}
		}
	})
}

// BenchmarkClosedFailure is a failure below every trip threshold: the slow
// path, with the mutex.
func BenchmarkClosedFailure(b *testing.B) {
	br := newBench(b, breaker.WithConsecutiveFailures(0), breaker.WithFailureRate(1))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p, _ := br.Allow()
		if i++; i%2 == 0 {
			p.Done(breaker.Failed)
		} else {
			p.Done(breaker.Succeeded)
		}
	}
}

// do runs fn through b with the two-step API: ask, call, report.
func do(b *breaker.Breaker, fn func() error) error {
	p, err := b.Allow()
	if err != nil {
		return err
	}
	if err = fn(); err != nil {
		p.Done(breaker.Failed)
	} else {
		p.Done(breaker.Succeeded)
	}
	return err
}
