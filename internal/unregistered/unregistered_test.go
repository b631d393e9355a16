package unregistered

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMethod(t *testing.T) {
	if got := Method(nil, "/x.Y/Z"); got != FullMethod {
		t.Errorf("Method(nil) = %q; want %q", got, FullMethod)
	}
	if got := Method(struct{}{}, "/x.Y/Z"); got != "/x.Y/Z" {
		t.Errorf("Method(impl) = %q; want the method itself", got)
	}
}
