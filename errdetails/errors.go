package errdetails

import "errors"

// ErrInvalidCode is matched (with errors.Is) by every error that reports an
// application code that is not UPPER_SNAKE_CASE or is too long.
var ErrInvalidCode = errors.New("errdetails: invalid application code")
