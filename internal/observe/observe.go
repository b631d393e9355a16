// Package observe holds what the interceptor packages share to let their
// WithObserver option be given more than once.
package observe

// Add returns the observer that hands each event to cur and then to obs.
// isNop reports whether cur is the package's do-nothing default, which obs
// then replaces; T is the package's list type, whose methods hand an event
// to each of its observers in order.
func Add[O any, T ~[]O](cur, obs O, isNop func(O) bool) O {
	if isNop(cur) {
		return obs
	}
	if list, ok := any(cur).(T); ok {
		return any(append(list[:len(list):len(list)], obs)).(O)
	}
	return any(T{cur, obs}).(O)
}
