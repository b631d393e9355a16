package stripe

import (
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Adds from many goroutines at once are all counted.
func TestCounterSumsEveryStripe(t *testing.T) {
	c := New()
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for range 1000 {
				c.Add(1)
			}
		})
	}
	wg.Wait()
	c.Add(-5)
	if got := c.Load(); got != 64*1000-5 {
		t.Fatalf("Load = %d; want %d", got, 64*1000-5)
	}
}
