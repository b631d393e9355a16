// Package b is a nested package.
package b

// B is its one identifier.
func B() {}
