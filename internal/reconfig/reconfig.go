// Package reconfig lets the client and server chains reconfigure the
// components they hold while calls run. A component registers its Prepare
// function here from an init function; the chains call it.
//
// Prepare checks a component's new options against the running component
// and returns a Commit that swaps them in, or an error naming the option
// that is invalid or that cannot change while the component runs. Prepare
// changes nothing; Commit cannot fail. A chain prepares every component it
// reconfigures first, and commits them only when all are valid, so a
// failed validation changes nothing. Callers serialize Prepare and Commit
// of one component (the chains hold a mutex).
package reconfig

// Commit swaps a prepared configuration in.
type Commit func()

// The Prepare functions of the components: the first argument is the
// component (*circuit.Circuit, *concurrency.Limiter, *retry.Retrier,
// *deadline.Policy), the second its options ([]circuit.Option, ...).
var (
	Circuit  func(c any, opts any) (Commit, error)
	Limiter  func(l any, opts any) (Commit, error)
	Retrier  func(r any, opts any) (Commit, error)
	Deadline func(p any, opts any) (Commit, error)
)
