package greeter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FaultKey is the request metadata key that asks a server started with
// chaos on for per-request faults.
const FaultKey = "greeter-fault"

// MaxFaultLength bounds the greeter-fault metadata a server reads, all
// values together.
const MaxFaultLength = 256

// MaxAfter bounds the after= fault.
const MaxAfter = 1 << 20

// Fault is what one request's greeter-fault metadata asks for. Its text
// form is a comma-separated list of these items, in any order, each at most
// once:
//
//	error=<CODE>        fail with ErrorFor(CODE): an application code
//	                    (VALIDATION_ERROR, DB_ERROR, ...) or a gRPC code name
//	plain-error         fail with an ordinary Go error whose text holds Secret
//	panic               panic with a text holding Secret
//	delay=<duration>    wait this long first (Go duration, at most MaxDelay),
//	                    honouring the caller's cancellation
//	retry-after=<dur>   the delay hint of a retryable error= failure
//	after=<n>           in a stream, fail after n messages rather than before
//	                    the first (unary calls ignore it)
//
// At most one of error=, plain-error and panic may be given. The zero Fault
// asks for nothing.
type Fault struct {
	// Error is the code of error=, or "".
	Error string
	// PlainError is plain-error.
	PlainError bool
	// Panic is panic.
	Panic bool
	// Delay is delay=.
	Delay time.Duration
	// RetryAfter is retry-after=.
	RetryAfter time.Duration
	// After is after=: the messages a stream sends before it fails.
	After int
}

// Fails reports whether f makes the call fail.
func (f Fault) Fails() bool { return f.Error != "" || f.PlainError || f.Panic }

// String returns f in the form ParseFault reads, items in a fixed order;
// "" for the zero Fault.
func (f Fault) String() string {
	var items []string
	if f.Error != "" {
		items = append(items, "error="+f.Error)
	}
	if f.PlainError {
		items = append(items, "plain-error")
	}
	if f.Panic {
		items = append(items, "panic")
	}
	if f.Delay != 0 {
		items = append(items, "delay="+f.Delay.String())
	}
	if f.RetryAfter != 0 {
		items = append(items, "retry-after="+f.RetryAfter.String())
	}
	if f.After != 0 {
		items = append(items, "after="+strconv.Itoa(f.After))
	}
	return strings.Join(items, ",")
}

// ParseFault reads greeter-fault metadata values (see Fault); several values
// are read as one list. Spaces around items are ignored, and so are empty
// items. It refuses unknown items, repeated items, bad values and more than
// MaxFaultLength bytes, with an error naming the item.
func ParseFault(values ...string) (Fault, error) {
	f, err := parseFault(values)
	if err != nil {
		return Fault{}, fmt.Errorf("greeter: %s: %w", FaultKey, err)
	}
	return f, nil
}

// parseFault is ParseFault with errors that do not name the key.
func parseFault(values []string) (Fault, error) {
	var f Fault
	total := 0
	seen := map[string]bool{}
	for _, v := range values {
		total += len(v)
		if total > MaxFaultLength {
			return Fault{}, fmt.Errorf("longer than %d bytes", MaxFaultLength)
		}
		for item := range strings.SplitSeq(v, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			name, val, hasVal := strings.Cut(item, "=")
			name = strings.TrimSpace(name)
			val = strings.TrimSpace(val)
			if seen[name] {
				return Fault{}, fmt.Errorf("%q given twice", name)
			}
			seen[name] = true
			if err := f.set(name, val, hasVal); err != nil {
				return Fault{}, fmt.Errorf("%q: %w", item, err)
			}
		}
	}
	kinds := 0
	for _, on := range []bool{f.Error != "", f.PlainError, f.Panic} {
		if on {
			kinds++
		}
	}
	if kinds > 1 {
		return Fault{}, errors.New("at most one of error=, plain-error and panic")
	}
	return f, nil
}

// set reads one item.
func (f *Fault) set(name, val string, hasVal bool) error {
	flag := func() error {
		if hasVal {
			return errors.New("takes no value")
		}
		return nil
	}
	if !hasVal {
		switch name {
		case "error", "delay", "retry-after", "after":
			return errors.New("needs a value")
		}
	}
	switch name {
	case "error":
		if err := validateFailCode(val); err != nil {
			return err
		}
		f.Error = val
	case "plain-error":
		f.PlainError = true
		return flag()
	case "panic":
		f.Panic = true
		return flag()
	case "delay", "retry-after":
		d, err := time.ParseDuration(val)
		if err != nil {
			return errors.New("not a duration such as 250ms")
		}
		if d < 0 || d > MaxDelay {
			return fmt.Errorf("must be between 0 and %v", MaxDelay)
		}
		if name == "delay" {
			f.Delay = d
		} else {
			f.RetryAfter = d
		}
	case "after":
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 || n > MaxAfter {
			return fmt.Errorf("must be an integer from 0 to %d", MaxAfter)
		}
		f.After = n
	default:
		return errors.New("unknown fault (want error=, plain-error, panic, delay=, retry-after= or after=)")
	}
	return nil
}
