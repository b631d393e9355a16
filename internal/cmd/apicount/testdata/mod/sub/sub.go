package sub

// Sub is in another module: not listed.
func Sub() {}
