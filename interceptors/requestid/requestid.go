// Package requestid carries a request id through a call: read from the
// incoming x-request-id metadata or made up, put on the context, sent on
// outgoing calls, and returned to callers in google.rpc.RequestInfo when a
// call fails.
package requestid

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"google.golang.org/grpc/metadata"
)

// MetadataKey is the metadata key that carries the request id.
const MetadataKey = "x-request-id"

// MaxLength is the longest request id accepted from a caller; a longer or
// non-printable one is replaced by a new id.
const MaxLength = 128

type ctxKey struct{}

// NewContext returns a copy of ctx that carries id.
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the request id ctx carries.
func FromContext(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(ctxKey{}).(string)
	return id, ok && id != ""
}

// New returns a new random request id: 32 hexadecimal digits.
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// Incoming returns the request id of a server-side ctx: the one on the
// context, else a valid x-request-id from the incoming metadata.
func Incoming(ctx context.Context) (string, bool) {
	if id, ok := FromContext(ctx); ok {
		return id, true
	}
	for _, id := range metadata.ValueFromIncomingContext(ctx, MetadataKey) {
		if Valid(id) {
			return id, true
		}
	}
	return "", false
}

// Ensure returns the request id of a server-side ctx (see Incoming), or a new
// one when it has none.
func Ensure(ctx context.Context) string {
	if id, ok := Incoming(ctx); ok {
		return id
	}
	return New()
}

// Valid reports whether id may be used as a request id: 1 to MaxLength
// printable ASCII characters.
func Valid(id string) bool {
	if id == "" || len(id) > MaxLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}
