package cputime

import "testing"

func TestNowGrows(t *testing.T) {
	start := Now()
	x := 0
	for i := range 50_000_000 {
		x += i & 3
	}
	if x == 0 || Now() <= start {
		t.Errorf("CPU time did not grow after a busy loop: %v then %v", start, Now())
	}
}
