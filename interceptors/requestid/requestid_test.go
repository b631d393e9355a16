package requestid_test

import (
	"context"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/grpc/metadata"

	"github.com/bulwarkrpc/bulwark/interceptors/requestid"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestIncoming(t *testing.T) {
	bg := context.Background()
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		want   string
		wantOK bool
	}{
		{"none", bg, "", false},
		{"on the context", requestid.NewContext(bg, "ctx-id"), "ctx-id", true},
		{"context wins over metadata", requestid.NewContext(metadata.NewIncomingContext(bg, metadata.Pairs("x-request-id", "md-id")), "ctx-id"), "ctx-id", true},
		{"from metadata", metadata.NewIncomingContext(bg, metadata.Pairs("X-Request-Id", "md-id")), "md-id", true},
		{"invalid metadata is ignored", metadata.NewIncomingContext(bg, metadata.Pairs("x-request-id", "has space")), "", false},
		{"too long", metadata.NewIncomingContext(bg, metadata.Pairs("x-request-id", strings.Repeat("a", 129))), "", false},
		{"second value valid", metadata.NewIncomingContext(bg, metadata.MD{"x-request-id": {"", "ok"}}), "ok", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := requestid.Incoming(tc.ctx)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("Incoming = %q, %v; want %q, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestEnsureMakesValidUniqueIDs(t *testing.T) {
	a, b := requestid.Ensure(context.Background()), requestid.Ensure(context.Background())
	if a == b || len(a) != 32 || !requestid.Valid(a) {
		t.Errorf("Ensure = %q, %q; want two different valid 32-digit ids", a, b)
	}
}
