package callclock

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type starter struct {
	grpc.EmptyCallOption
	t time.Time
}

func (s starter) CallStart() time.Time { return s.t }

// Without a recorded start, the time now; with one, that start (the last
// Starter of the options, the innermost chain's).
func TestStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		time.Sleep(time.Second)
		if got := Start(context.Background()); !got.Equal(t0.Add(time.Second)) {
			t.Errorf("Start without a chain = %v; want now, %v", got, t0.Add(time.Second))
		}
		ctx := context.WithValue(context.Background(), Key{}, &t0)
		if got := Start(ctx); !got.Equal(t0) {
			t.Errorf("Start = %v; want the recorded %v", got, t0)
		}
		if got := StartOf([]grpc.CallOption{grpc.StaticMethod()}); !got.Equal(time.Now()) {
			t.Errorf("StartOf without a Starter = %v; want now", got)
		}
		outer, inner := starter{t: t0}, starter{t: t0.Add(time.Millisecond)}
		if got := StartOf([]grpc.CallOption{outer, grpc.StaticMethod(), inner}); !got.Equal(inner.t) {
			t.Errorf("StartOf = %v; want the innermost %v", got, inner.t)
		}
	})
}
