package bench

import (
	"errors"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/sony/gobreaker/v2"

	"github.com/bulwarkrpc/bulwark/bench/internal/stacks"
	"github.com/bulwarkrpc/bulwark/breaker"
)

// The breakers are configured alike where their features allow: trip at a
// 50 % failure rate over 10 s with at least 20 calls (gobreaker: or after 5
// consecutive failures, like Bulwark's default), open for 5 s, 3 half-open
// probes, close after 2 successes. The open-state benchmarks use an open
// time of an hour so that the breaker stays open.

var errBench = errors.New("bench: failure")

func ok() error { return nil }

func okT() (struct{}, error) { return struct{}{}, nil }

func bulwarkBreaker(b *testing.B, open time.Duration) *breaker.Breaker {
	br, err := breaker.New(breaker.WithOpenDuration(open, max(open, time.Minute)), breaker.WithConsecutiveFailures(5))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(br.Close)
	return br
}

func gobreakerSettings(open time.Duration) gobreaker.Settings {
	return gobreaker.Settings{
		Name:         "bench",
		MaxRequests:  3,
		Interval:     10 * time.Second,
		BucketPeriod: time.Second,
		Timeout:      open,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= 5 || (c.Requests >= 20 && c.TotalFailures*2 >= c.Requests)
		},
	}
}

// failsafeBreaker is failsafe-go's breaker configured like Bulwark's.
func failsafeBreaker(open time.Duration) circuitbreaker.CircuitBreaker[any] {
	return stacks.FailsafeBreaker(open)
}

// Success path: one call that succeeds, serial.

func BenchmarkBreakerSuccess(b *testing.B) {
	b.Run("impl=bulwark/api=allow", func(b *testing.B) {
		br := bulwarkBreaker(b, 5*time.Second)
		b.ReportAllocs()
		for b.Loop() {
			p, err := br.Allow()
			if err != nil {
				b.Fatal(err)
			}
			p.Done(breaker.Succeeded)
		}
	})
	b.Run("impl=bulwark/api=do", func(b *testing.B) {
		br := bulwarkBreaker(b, 5*time.Second)
		b.ReportAllocs()
		for b.Loop() {
			if err := do(br, ok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=gobreaker/api=allow", func(b *testing.B) {
		cb := gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreakerSettings(5 * time.Second))
		b.ReportAllocs()
		for b.Loop() {
			done, err := cb.Allow()
			if err != nil {
				b.Fatal(err)
			}
			done(nil)
		}
	})
	b.Run("impl=gobreaker/api=do", func(b *testing.B) {
		cb := gobreaker.NewCircuitBreaker[struct{}](gobreakerSettings(5 * time.Second))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cb.Execute(okT); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=failsafe/api=allow", func(b *testing.B) {
		cb := failsafeBreaker(5 * time.Second)
		b.ReportAllocs()
		for b.Loop() {
			if !cb.TryAcquirePermit() {
				b.Fatal("refused")
			}
			cb.RecordSuccess()
		}
	})
	b.Run("impl=failsafe/api=do", func(b *testing.B) {
		ex := failsafe.With[any](failsafeBreaker(5 * time.Second))
		b.ReportAllocs()
		for b.Loop() {
			if err := ex.Run(ok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Success path from every P at once.

func BenchmarkBreakerSuccessParallel(b *testing.B) {
	b.Run("impl=bulwark/api=allow", func(b *testing.B) {
		br := bulwarkBreaker(b, 5*time.Second)
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
	})
	b.Run("impl=bulwark/api=do", func(b *testing.B) {
		br := bulwarkBreaker(b, 5*time.Second)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := do(br, ok); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("impl=gobreaker/api=allow", func(b *testing.B) {
		cb := gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreakerSettings(5 * time.Second))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				done, err := cb.Allow()
				if err != nil {
					b.Error(err)
					return
				}
				done(nil)
			}
		})
	})
	b.Run("impl=gobreaker/api=do", func(b *testing.B) {
		cb := gobreaker.NewCircuitBreaker[struct{}](gobreakerSettings(5 * time.Second))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := cb.Execute(okT); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("impl=failsafe/api=allow", func(b *testing.B) {
		cb := failsafeBreaker(5 * time.Second)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if !cb.TryAcquirePermit() {
					b.Error("refused")
					return
				}
				cb.RecordSuccess()
			}
		})
	})
	b.Run("impl=failsafe/api=do", func(b *testing.B) {
		ex := failsafe.With[any](failsafeBreaker(5 * time.Second))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := ex.Run(ok); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// Open state: every call is refused.

func openBulwark(b *testing.B) *breaker.Breaker {
	br := bulwarkBreaker(b, time.Hour)
	for br.State() == breaker.StateClosed {
		_ = do(br, func() error { return errBench })
	}
	return br
}

func openGobreaker(b *testing.B) *gobreaker.CircuitBreaker[struct{}] {
	cb := gobreaker.NewCircuitBreaker[struct{}](gobreakerSettings(time.Hour))
	for cb.State() == gobreaker.StateClosed {
		_, _ = cb.Execute(func() (struct{}, error) { return struct{}{}, errBench })
	}
	return cb
}

func openGobreakerTwoStep(b *testing.B) *gobreaker.TwoStepCircuitBreaker[struct{}] {
	cb := gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreakerSettings(time.Hour))
	for cb.State() == gobreaker.StateClosed {
		done, err := cb.Allow()
		if err != nil {
			b.Fatal(err)
		}
		done(errBench)
	}
	return cb
}

func openFailsafe() circuitbreaker.CircuitBreaker[any] {
	cb := failsafeBreaker(time.Hour)
	for cb.IsClosed() {
		cb.TryAcquirePermit()
		cb.RecordFailure()
	}
	return cb
}

func BenchmarkBreakerOpen(b *testing.B) {
	b.Run("impl=bulwark/api=allow", func(b *testing.B) {
		br := openBulwark(b)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := br.Allow(); err == nil {
				b.Fatal("allowed")
			}
		}
	})
	b.Run("impl=bulwark/api=do", func(b *testing.B) {
		br := openBulwark(b)
		b.ReportAllocs()
		for b.Loop() {
			if err := do(br, ok); err == nil {
				b.Fatal("allowed")
			}
		}
	})
	b.Run("impl=gobreaker/api=allow", func(b *testing.B) {
		cb := openGobreakerTwoStep(b)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cb.Allow(); err == nil {
				b.Fatal("allowed")
			}
		}
	})
	b.Run("impl=gobreaker/api=do", func(b *testing.B) {
		cb := openGobreaker(b)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cb.Execute(okT); err == nil {
				b.Fatal("allowed")
			}
		}
	})
	b.Run("impl=failsafe/api=allow", func(b *testing.B) {
		cb := openFailsafe()
		b.ReportAllocs()
		for b.Loop() {
			if cb.TryAcquirePermit() {
				b.Fatal("allowed")
			}
		}
	})
	b.Run("impl=failsafe/api=do", func(b *testing.B) {
		ex := failsafe.With[any](openFailsafe())
		b.ReportAllocs()
		for b.Loop() {
			if err := ex.Run(ok); err == nil {
				b.Fatal("allowed")
			}
		}
	})
}

func BenchmarkBreakerOpenParallel(b *testing.B) {
	b.Run("impl=bulwark/api=allow", func(b *testing.B) {
		br := openBulwark(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := br.Allow(); err == nil {
					b.Error("allowed")
					return
				}
			}
		})
	})
	b.Run("impl=gobreaker/api=allow", func(b *testing.B) {
		cb := openGobreakerTwoStep(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := cb.Allow(); err == nil {
					b.Error("allowed")
					return
				}
			}
		})
	})
	b.Run("impl=failsafe/api=allow", func(b *testing.B) {
		cb := openFailsafe()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if cb.TryAcquirePermit() {
					b.Error("allowed")
					return
				}
			}
		})
	})
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
