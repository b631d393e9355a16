package p

// Hidden is not listed.
func Hidden() {}
