package t

// InTestdata is not listed.
func InTestdata() {}
