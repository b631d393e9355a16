package observe_test

import (
	"slices"
	"testing"

	"github.com/bulwarkrpc/bulwark/internal/observe"
)

type observer interface{ On(*[]string) }

type nop struct{}

func (nop) On(*[]string) {}

type named string

func (n named) On(log *[]string) { *log = append(*log, string(n)) }

type list []observer

func (l list) On(log *[]string) {
	for _, o := range l {
		o.On(log)
	}
}

func isNop(o observer) bool { _, ok := o.(nop); return ok }

func TestAdd(t *testing.T) {
	var o observer = nop{}
	o = observe.Add[observer, list](o, named("a"), isNop)
	if _, ok := o.(named); !ok {
		t.Fatalf("the first observer replaces the default: got %T", o)
	}
	o = observe.Add[observer, list](o, named("b"), isNop)
	shared := o
	o = observe.Add[observer, list](o, named("c"), isNop)
	// A list made before keeps its own observers.
	other := observe.Add[observer, list](shared, named("d"), isNop)

	var log []string
	o.On(&log)
	if !slices.Equal(log, []string{"a", "b", "c"}) {
		t.Errorf("events reached %q; want a, b, c in order", log)
	}
	log = nil
	other.On(&log)
	if !slices.Equal(log, []string{"a", "b", "d"}) {
		t.Errorf("the other list reached %q; want a, b, d", log)
	}
}
