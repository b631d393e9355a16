// Package gone tells a request whose caller has gone (it cancelled, or its
// own deadline passed) from one that this server's own time limit ended.
// A server's breaker and adaptive limit ignore the first, which says
// nothing of the server, and count the second, which is the server being
// too slow by its own measure (a hung dependency, say).
package gone

import (
	"context"
	"errors"
	"time"
)

// ErrServerDeadline is the cause of a request context that ended at this
// server's own cap on handling time (deadline.WithMaxDeadline), before the
// caller's deadline.
var ErrServerDeadline = errors.New("bulwark: the server's own deadline passed")

// WithServerDeadline returns a child of ctx that ends at d with the cause
// ErrServerDeadline.
func WithServerDeadline(ctx context.Context, d time.Time) (context.Context, context.CancelFunc) {
	return context.WithDeadlineCause(ctx, d, ErrServerDeadline)
}

// Caller reports whether ctx has ended because of its caller: a cancel, or
// the caller's deadline. It is false while ctx is live, and when ctx ended
// at the server's own deadline (see WithServerDeadline).
func Caller(ctx context.Context) bool {
	if ctx.Err() == nil {
		return false
	}
	return !errors.Is(context.Cause(ctx), ErrServerDeadline)
}
