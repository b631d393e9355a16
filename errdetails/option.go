package errdetails

import (
	"unicode"
	"unicode/utf8"
)

// An Option sets a field of an ApplicationError as it is made.
type Option interface {
	apply(*ApplicationError)
}

type optionFunc func(*ApplicationError)

func (f optionFunc) apply(e *ApplicationError) { f(e) }

// WithCause records the error behind the application error. It stays on the
// server: Unwrap returns it and the error boundary logs it, but it is sent
// only inside google.rpc.DebugInfo, and only when the operator opts in.
func WithCause(err error) Option {
	return optionFunc(func(e *ApplicationError) { e.cause = err })
}

// WithDetail adds a detail. The key is turned into lowerCamelCase
// ("user_id" and "user-id" become "userId"); a key with no letter or digit is
// dropped. value may be a string, boolean, number, nil, or a slice or map of
// those; anything else is sent as its fmt.Sprint text.
func WithDetail(key string, value any) Option {
	return optionFunc(func(e *ApplicationError) { e.Details = withDetail(e.Details, key, value) })
}

func withDetail(m map[string]any, key string, value any) map[string]any {
	key = lowerCamel(key)
	if key == "" {
		return m
	}
	if m == nil {
		m = make(map[string]any, 2)
	}
	m[key] = value
	return m
}

// lowerCamel turns key into lowerCamelCase: separators (anything that is
// not a letter or digit) are dropped and the letter after one is upper-cased;
// the first letter is lower-cased. A key that is already lowerCamelCase is
// returned as it is, without allocating.
func lowerCamel(key string) string {
	if isLowerCamel(key) {
		return key
	}
	out := make([]rune, 0, len(key))
	upperNext := false
	for _, r := range key {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			upperNext = len(out) > 0
			continue
		}
		switch {
		case len(out) == 0:
			r = unicode.ToLower(r)
		case upperNext:
			r = unicode.ToUpper(r)
		}
		upperNext = false
		out = append(out, r)
	}
	return string(out)
}

func isLowerCamel(key string) bool {
	if key == "" {
		return false
	}
	r, _ := utf8.DecodeRuneInString(key)
	if !unicode.IsLower(r) {
		return false
	}
	for _, r := range key {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}
