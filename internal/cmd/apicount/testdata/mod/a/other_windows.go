package a

// OnWindows is built on Windows only.
func OnWindows() {}
