package retrystate_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/retrystate"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestOf(t *testing.T) {
	r, err := retry.New()
	if err != nil {
		t.Fatal(err)
	}
	ts := retrystate.Of(r)
	if ts == nil {
		t.Fatal("Of(*retry.Retrier) = nil; package retry did not set it")
	}
	if _, ok := ts.BudgetLevel("unseen"); ok {
		t.Error("BudgetLevel of a target never seen reports true")
	}
	if retrystate.Of("not a Retrier") != nil || retrystate.Of((*retry.Retrier)(nil)) != nil {
		t.Error("Of of something else than a Retrier is not nil")
	}
}
