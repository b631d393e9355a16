package observe_test

import (
	"context"
	"slices"
	"testing"

	"github.com/bulwarkrpc/bulwark/internal/observe"
)

type hook = func(context.Context, *[]string)

func named(n string) hook {
	return func(_ context.Context, log *[]string) { *log = append(*log, n) }
}

func TestJoin(t *testing.T) {
	if observe.Join[*[]string](nil, nil) != nil {
		t.Fatal("Join(nil, nil) is not nil")
	}
	var h hook
	h = observe.Join(h, named("a"))
	h = observe.Join(h, nil)
	h = observe.Join(h, named("b"))
	shared := h
	h = observe.Join(h, named("c"))
	// A hook joined before keeps its own hooks.
	other := observe.Join(shared, named("d"))

	var log []string
	h(t.Context(), &log)
	if !slices.Equal(log, []string{"a", "b", "c"}) {
		t.Errorf("events reached %q; want a, b, c in order", log)
	}
	log = nil
	other(t.Context(), &log)
	if !slices.Equal(log, []string{"a", "b", "d"}) {
		t.Errorf("the other hook reached %q; want a, b, d", log)
	}
}

// A single hook is kept as it is: no wrapper to call through.
func TestJoinKeepsASingleHook(t *testing.T) {
	calls := 0
	one := func(context.Context, *[]string) { calls++ }
	h := observe.Join(observe.Join(nil, one), nil)
	h(t.Context(), nil)
	if calls != 1 {
		t.Fatalf("calls = %d; want 1", calls)
	}
}
