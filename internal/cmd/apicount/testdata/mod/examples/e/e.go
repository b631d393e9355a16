package e

// Hidden is not listed.
func Hidden() {}
