package x

// Hidden is not listed.
func Hidden() {}
