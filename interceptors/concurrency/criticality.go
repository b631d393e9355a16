package concurrency

import (
	"context"

	"google.golang.org/grpc/metadata"

	"github.com/bulwarkrpc/bulwark/internal/limiter"
)

// criticalityHeader is the metadata key that carries a call's criticality:
// "critical", "default" or "sheddable".
const criticalityHeader = "x-bulwark-criticality"

// Criticality is how important a call is. With WithPriority, a limiter near
// its limit refuses sheddable calls first, then default ones, and critical
// calls last. The zero value is DefaultCriticality.
type Criticality uint8

// The criticalities.
const (
	// DefaultCriticality is the criticality of calls that carry none.
	DefaultCriticality Criticality = iota
	// Critical calls may use the whole limit.
	Critical
	// Sheddable calls are refused first.
	Sheddable
)

var criticalityNames = [...]string{"default", "critical", "sheddable"}

// String returns "default", "critical" or "sheddable".
func (c Criticality) String() string {
	if int(c) < len(criticalityNames) {
		return criticalityNames[c]
	}
	return "unknown"
}

// parseCriticality parses the text of a criticality; ok is false for text
// that is not one.
func parseCriticality(s string) (c Criticality, ok bool) {
	for i, n := range criticalityNames {
		if s == n {
			return Criticality(i), true
		}
	}
	return DefaultCriticality, false
}

func (c Criticality) class() limiter.Class {
	switch c {
	case Critical:
		return limiter.Critical
	case Sheddable:
		return limiter.Sheddable
	}
	return limiter.Default
}

type criticalityKey struct{}

// NewCriticalityContext returns a copy of ctx that carries c, for the calls
// made with it (see CriticalityFromContext).
func NewCriticalityContext(ctx context.Context, c Criticality) context.Context {
	return context.WithValue(ctx, criticalityKey{}, c)
}

// CriticalityFromContext returns the criticality of ctx: the one set with
// NewCriticalityContext (a server's limiter sets it for a trusted caller's
// critical call, see WithPriority), else the one the incoming
// call carried in its x-bulwark-criticality metadata when that lowers it (so a
// handler's outgoing calls inherit a sheddable criticality, but a caller
// cannot raise them by saying so), else DefaultCriticality.
func CriticalityFromContext(ctx context.Context) Criticality {
	if c, ok := ctx.Value(criticalityKey{}).(Criticality); ok {
		return c
	}
	if c := requestedCriticality(ctx); c != Critical {
		return c
	}
	return DefaultCriticality
}

// requestedCriticality reads the criticality an incoming call's metadata
// asks for; nothing in it is trusted yet.
func requestedCriticality(ctx context.Context) Criticality {
	for _, v := range metadata.ValueFromIncomingContext(ctx, criticalityHeader) {
		if c, ok := parseCriticality(v); ok {
			return c
		}
	}
	return DefaultCriticality
}

// withOutgoingCriticality returns ctx with the criticality of the call
// made with it (see CriticalityFromContext) in its outgoing metadata,
// unless it is the default or the call already carries one. The Limiter's
// client interceptors call it, so that a handler's outgoing calls carry
// the criticality of the request it serves downstream.
func withOutgoingCriticality(ctx context.Context) context.Context {
	c := CriticalityFromContext(ctx)
	if c == DefaultCriticality {
		return ctx
	}
	if md, ok := metadata.FromOutgoingContext(ctx); ok && len(md.Get(criticalityHeader)) > 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, criticalityHeader, c.String())
}
