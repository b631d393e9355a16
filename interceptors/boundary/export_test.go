package boundary

// Decode is the client decoder of the interceptors, for the tests.
func Decode(err error) error { return decode(err) }
