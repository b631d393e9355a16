package requestid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"

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

// prefix is random per process, so ids from different processes differ;
// the counter makes ids within a process differ without a system call.
var (
	prefix  = randomPrefix()
	counter atomic.Uint64
)

func randomPrefix() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:]) + "-"
}

// New returns a new request id, unique across processes: 16 random
// hexadecimal digits fixed for the process, a dash, and a counter in
// hexadecimal. It allocates only the returned string.
func New() string {
	var buf [16 + 1 + 16]byte
	b := append(buf[:0], prefix...)
	return string(strconv.AppendUint(b, counter.Add(1), 16))
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
