// Command apicount lists the public API of Bulwark's library module, counts
// it, and keeps the list in a checked-in file, so that every change to the
// API is a visible diff in review and the surface stays small.
//
// Usage, from the module's root (the Makefile's api and check-api targets):
//
//	go run ./internal/cmd/apicount [-o api/bulwark.txt] [-check] [-max-total 300] [-max-package 50]
//
// It prints the count of each package and the total. Without -check it writes
// the list to the -o file. With -check it writes nothing and fails (exit
// status 1) when the file differs from the list, when the total exceeds
// -max-total, or when a package exceeds -max-package (zero turns a limit off).
//
// # What is a package
//
// Every directory of the module, from the directory it runs in, that holds a
// non-main package, except internal/ (and any directory named internal,
// testdata or node_modules), proto/ (the generated wire types), examples/,
// bench/, tools/, directories with their own go.mod, and hidden directories.
// Its files are those go/build selects for the running platform, without
// tests and without generated files (*.pb.go, or a "Code generated ... DO NOT
// EDIT." line before the package clause).
//
// # What counts
//
// One identifier each:
//   - an exported top-level type, func, const or var (each name of a grouped
//     or multiple declaration);
//   - an exported method declared on an exported type, pointer receiver or
//     not;
//   - an exported method written in an exported interface type.
//
// Not counted, though listed so that changing them is also a diff: exported
// fields of exported struct types and the interfaces an interface embeds.
// Methods promoted by embedding are neither counted nor listed.
//
// # The file
//
// One line per identifier or field, sorted, in the style of Go's own
// api/go1.txt: the package path relative to the module, then the declaration
// with parameter names removed (renaming a parameter is not an API change):
//
//	breaker, func New(...Option) (*Breaker, error)
//	breaker, method (*Breaker) Allow() (func(Outcome), error)
//	breaker, type Counts struct, Failures uint64
//	breaker, type Observer interface, OnStateChange(context.Context, StateChange)
//	breaker, var ErrOpen = errors.New("breaker: circuit open")
//
// Types are printed as the source writes them (errors.New above is the
// source's expression for a var without a type; a const inherits the type
// of the spec before it in its group, as iota lists do).
package main
