// Package observe holds what the interceptor packages share to let their
// WithObserver option be given more than once.
package observe

import "context"

// Join returns the hook that calls a and then b with the same context and
// event. A nil hook is not called: Join returns the other one as it is (nil
// when both are), so that a hook nobody set stays nil and costs its caller
// only the nil check.
func Join[E any](a, b func(context.Context, E)) func(context.Context, E) {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return func(ctx context.Context, e E) {
		a(ctx, e)
		b(ctx, e)
	}
}
