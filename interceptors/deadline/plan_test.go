package deadline

import (
	"testing"
	"time"
)

// FuzzPlan checks the server's decision for any deadline and options: the
// handler never gets a deadline later than the caller's or than the cap, a
// request is refused exactly when it (or its shaved deadline) leaves the
// minimum or less, and an adjusted deadline leaves more than the minimum
// whenever the caller set one.
func FuzzPlan(f *testing.F) {
	f.Add(int64(time.Second), true, int64(time.Millisecond), int64(0), int64(100*time.Millisecond), 0.0)
	f.Add(int64(0), false, int64(time.Millisecond), int64(5*time.Second), int64(0), 0.0)
	f.Add(int64(150*time.Millisecond), true, int64(time.Millisecond), int64(time.Second), int64(100*time.Millisecond), 0.5)
	f.Add(int64(-time.Second), true, int64(0), int64(0), int64(0), 0.0)
	f.Fuzz(func(t *testing.T, remaining int64, has bool, minRemaining, maxDeadline, shave int64, fraction float64) {
		p, err := New(WithMinRemaining(time.Duration(minRemaining)), WithMaxDeadline(time.Duration(maxDeadline)),
			WithShave(time.Duration(shave), fraction))
		if err != nil {
			return // an invalid option
		}
		now := time.Unix(1e9, 0)
		dl := now.Add(time.Duration(remaining))
		o := p.opts.Load()
		pl := o.plan(now, dl, has)
		if pl.reject && pl.adjust {
			t.Fatal("both reject and adjust")
		}
		if has {
			shaved := time.Duration(remaining) - max(o.shave, time.Duration(o.shaveFraction*float64(remaining)))
			wantReject := time.Duration(remaining) <= o.minRemaining || shaved <= o.minRemaining
			if pl.reject != wantReject {
				t.Fatalf("remaining %v, shaved %v, min %v: reject = %v", time.Duration(remaining), shaved, o.minRemaining, pl.reject)
			}
			if pl.reject {
				return
			}
		} else if pl.reject {
			t.Fatal("refused a request with no deadline")
		}
		if !pl.adjust {
			if o.maxDeadline > 0 && (!has || time.Duration(remaining) > o.maxDeadline) {
				t.Fatalf("cap %v not applied to remaining %v (has %v)", o.maxDeadline, time.Duration(remaining), has)
			}
			return
		}
		if has && !pl.deadline.Before(dl) {
			t.Fatalf("adjusted deadline %v not earlier than the caller's %v", pl.deadline, dl)
		}
		if o.maxDeadline > 0 && pl.deadline.After(now.Add(o.maxDeadline)) {
			t.Fatalf("adjusted deadline %v after the cap", pl.deadline.Sub(now))
		}
		if o.maxDeadline == 0 && !has {
			t.Fatal("adjusted with neither a deadline nor a cap")
		}
		if has && pl.given <= o.minRemaining && pl.deadline != now.Add(o.maxDeadline) {
			t.Fatalf("a shaved deadline leaves %v, at most the minimum %v", pl.given, o.minRemaining)
		}
		if pl.given != pl.deadline.Sub(now) {
			t.Fatalf("given %v; deadline in %v", pl.given, pl.deadline.Sub(now))
		}
	})
}
