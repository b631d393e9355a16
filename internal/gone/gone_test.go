package gone

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		live := context.Background()
		if Caller(live) {
			t.Error("a live context counts as gone")
		}
		cancelled, cancel := context.WithCancel(live)
		cancel()
		if !Caller(cancelled) {
			t.Error("a cancelled caller does not count as gone")
		}
		callerDeadline, cancel2 := context.WithTimeout(live, time.Second)
		defer cancel2()
		capped, cancel3 := WithServerDeadline(callerDeadline, time.Now().Add(100*time.Millisecond))
		defer cancel3()
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if capped.Err() == nil || Caller(capped) {
			t.Error("the server's own deadline counts as the caller's")
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if !Caller(callerDeadline) {
			t.Error("the caller's deadline does not count as the caller's")
		}
	})
}
