package a

// TestOnly is in a test file: not listed.
func TestOnly() {}
