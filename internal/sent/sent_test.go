package sent

import (
	"errors"
	"fmt"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestWrappedTextIsTheMessage(t *testing.T) {
	cause := errors.New("secret")
	err := fmt.Errorf("audit: %w", &Error{Cause: cause, Status: status.New(codes.Internal, "internal error")})
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Internal || st.Message() != "audit: internal error" {
		t.Errorf("status = %v; want INTERNAL 'audit: internal error'", st)
	}
	if !errors.Is(err, cause) {
		t.Error("the cause is not in the chain")
	}
}
