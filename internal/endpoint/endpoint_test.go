package endpoint_test

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/bulwarkrpc/bulwark/internal/endpoint"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSlot(t *testing.T) {
	ctx := context.Background()
	if endpoint.SlotFrom(ctx) != nil {
		t.Fatal("SlotFrom(Background) != nil")
	}
	ctx, s := endpoint.WithSlot(ctx)
	if got := endpoint.SlotFrom(ctx); got != s {
		t.Fatalf("SlotFrom = %p, want %p", got, s)
	}
	if s.Last() != nil {
		t.Fatal("new Slot has a Last endpoint")
	}
	a, b := &endpoint.ID{Addr: "a"}, &endpoint.ID{Addr: "a"}
	s.Served(a)
	if s.Last() != a || s.Last() == b {
		t.Fatal("Last does not compare by pointer")
	}
	child, cancel := context.WithCancel(ctx)
	defer cancel()
	if endpoint.SlotFrom(child) != s {
		t.Fatal("a derived context lost the Slot")
	}
}

func TestNewContext(t *testing.T) {
	var s endpoint.Slot
	ctx := endpoint.NewContext(context.Background(), &s)
	if endpoint.SlotFrom(ctx) != &s {
		t.Fatal("NewContext's Slot not found")
	}
}
