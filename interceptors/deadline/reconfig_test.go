package deadline

import (
	"strings"
	"testing"
	"time"
)

// TestPrepare checks that a refused reconfiguration changes nothing and
// that a committed one decides the next request: a caller with exactly the
// minimum left is refused, one a nanosecond over it is not.
func TestPrepare(t *testing.T) {
	p, err := New(WithMinRemaining(10 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1e9, 0)
	decide := func(left time.Duration) bool { return p.opts.Load().plan(now, now.Add(left), true).reject }

	if _, err := p.prepare([]Option{WithMinRemaining(-time.Millisecond)}); err == nil || !strings.Contains(err.Error(), "WithMinRemaining(-1ms)") {
		t.Fatalf("prepare(WithMinRemaining(-1ms)) = %v; want an error naming it", err)
	}
	if !decide(10*time.Millisecond) || decide(10*time.Millisecond+1) {
		t.Fatal("a refused reconfiguration changed the minimum")
	}
	commit, err := p.prepare([]Option{WithMinRemaining(50 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	if !decide(10*time.Millisecond) || decide(10*time.Millisecond+1) {
		t.Fatal("prepare alone changed the minimum")
	}
	commit()
	if !decide(50*time.Millisecond) || decide(50*time.Millisecond+1) {
		t.Fatalf("after the commit: 50ms refused = %v, 50ms+1ns refused = %v; want true, false", decide(50*time.Millisecond), decide(50*time.Millisecond+1))
	}
}
