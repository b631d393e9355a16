package rpc

import (
	"context"
	"fmt"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want codes.Code
	}{
		{nil, codes.OK},
		{status.Error(codes.NotFound, ""), codes.NotFound},
		{fmt.Errorf("wrapped: %w", status.Error(codes.Aborted, "")), codes.Aborted},
		{context.Canceled, codes.Canceled},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
		{fmt.Errorf("plain"), codes.Unknown},
	} {
		if got := Code(tc.err); got != tc.want {
			t.Errorf("Code(%v) = %v; want %v", tc.err, got, tc.want)
		}
	}
}

func TestType(t *testing.T) {
	for _, tc := range []struct {
		cs, ss bool
		want   string
	}{{false, false, "unary"}, {true, false, "client_stream"}, {false, true, "server_stream"}, {true, true, "bidi_stream"}} {
		if got := Type(tc.cs, tc.ss); got != tc.want {
			t.Errorf("Type(%v, %v) = %q; want %q", tc.cs, tc.ss, got, tc.want)
		}
	}
}
