package refusal

import (
	"errors"
	"fmt"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMark(t *testing.T) {
	inner := status.Error(codes.Unavailable, "busy")
	err := error(Mark(inner))
	if !Is(err) || !Is(fmt.Errorf("w: %w", err)) {
		t.Error("Is does not find the mark")
	}
	if Is(inner) || Is(nil) {
		t.Error("Is finds a mark that is not there")
	}
	if !errors.Is(err, inner) || err.Error() != inner.Error() {
		t.Error("the mark is not transparent")
	}
	if st := status.Convert(err); st.Code() != codes.Unavailable || st.Message() != "busy" {
		t.Errorf("status = %v; want the marked error's", st)
	}
}
