// Package pbjson reads the protobuf JSON forms that gRPC's service config
// uses, for the parts of it that Bulwark parses itself (the outlier
// detection policy's config, hedgingPolicy).
package pbjson

import (
	"errors"
	"strings"
	"time"
)

// ParseDuration reads a google.protobuf.Duration in its JSON form: a
// decimal number of seconds with at most nine fractional digits and the
// suffix "s", such as "10s", "0.250s" or "-1.5s".
func ParseDuration(s string) (time.Duration, error) {
	num, ok := strings.CutSuffix(s, "s")
	if !ok {
		return 0, errors.New(`want a number of seconds ending in "s", such as "10s"`)
	}
	digits := strings.TrimPrefix(num, "-")
	intPart, frac, hasDot := strings.Cut(digits, ".")
	if intPart == "" && frac == "" || !allDigits(intPart) || !allDigits(frac) || hasDot && frac == "" {
		return 0, errors.New(`want a number of seconds ending in "s", such as "10s"`)
	}
	if len(frac) > 9 {
		return 0, errors.New("more than nine fractional digits")
	}
	d, err := time.ParseDuration(num + "s")
	if err != nil {
		return 0, errors.New("out of range: at most 9223372036 seconds either way")
	}
	return d, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
