package greeter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"time"
)

// MaxLiveBytes bounds the JSON of a Live that ReadLive reads: 64 KiB.
const MaxLiveBytes = 64 << 10

// Live is the part of a Server's configuration that can change while it
// serves: the settings of its chain's deadline check, load shedding and
// circuit breaker. Server.Reconfigure applies one through
// interceptors.ServerChain.Reconfigure and Server.Live returns the one in
// force; the /config endpoint serves both, and the server command reads one
// from its -config file at start and again on SIGHUP.
//
// A Live is whole, like the options Reconfigure takes: a field left out of
// the JSON takes its default (DefaultLive), not the value in force.
//
// In JSON the fields are limit, min_remaining, max_deadline,
// breaker_failures and breaker_open; durations are Go duration strings:
//
//	{"limit": 8, "min_remaining": "1ms", "max_deadline": "0s", "breaker_failures": 0, "breaker_open": "5s"}
type Live struct {
	// Limit is how many calls may be in flight before the server sheds
	// load (concurrency.WithLimit); on an adaptive server (WithAdaptive),
	// the highest the adaptive limit may go. 0 means the limit the server
	// was started with (its -limit; for an adaptive server without one,
	// the gradient's default), so a file that sets none keeps it; a server
	// without load shedding refuses anything else. Negative values are
	// refused. Default: 0.
	Limit int
	// MinRemaining is the time a request must have left: one with this
	// long or less is refused with DEADLINE_TOO_SHORT
	// (deadline.WithMinRemaining). Zero refuses only requests already past
	// their deadline; negative values are refused. Default: 1ms.
	MinRemaining time.Duration
	// MaxDeadline caps the time a handler gets (deadline.WithMaxDeadline).
	// Zero: no cap; negative values are refused. Default: 0.
	MaxDeadline time.Duration
	// BreakerFailures opens a method's breaker after this many failures in
	// a row (breaker.WithConsecutiveFailures), besides the failure-rate
	// rule (half of the calls of the last 10s, once there are 20). Zero:
	// off. A server without a breaker has 0, and refuses anything else.
	// Default: 0.
	BreakerFailures int
	// BreakerOpen is how long a breaker stays open after it trips before it
	// lets probes through; it doubles on each reopening, up to a minute or
	// BreakerOpen if that is longer (breaker.WithOpenDuration). Zero means
	// DefaultBreakerOpen on a server with a breaker, and is what a server
	// without one has. Default: 0.
	BreakerOpen time.Duration
}

// DefaultBreakerOpen is a breaker's open duration when Live.BreakerOpen is
// zero: 5s, the library's default.
const DefaultBreakerOpen = 5 * time.Second

// maxBreakerOpen is what a breaker's open duration doubles up to, unless
// Live.BreakerOpen is longer: the library's default.
const maxBreakerOpen = time.Minute

// DefaultLive returns the Live that an empty JSON object gives: every
// field zero but MinRemaining, 1ms.
func DefaultLive() Live {
	return Live{MinRemaining: time.Millisecond}
}

// Validate reports the first field of l that is negative. What depends on
// the server (a limit of 0 on a server that sheds load, a breaker setting
// on a server without one) is checked by Server.Reconfigure.
func (l Live) Validate() error {
	switch {
	case l.Limit < 0:
		return fmt.Errorf("greeter: live config: limit %d: must not be negative", l.Limit)
	case l.MinRemaining < 0:
		return fmt.Errorf("greeter: live config: min_remaining %v: must not be negative", l.MinRemaining)
	case l.MaxDeadline < 0:
		return fmt.Errorf("greeter: live config: max_deadline %v: must not be negative", l.MaxDeadline)
	case l.BreakerFailures < 0:
		return fmt.Errorf("greeter: live config: breaker_failures %d: must not be negative (0 turns the rule off)", l.BreakerFailures)
	case l.BreakerOpen < 0:
		return fmt.Errorf("greeter: live config: breaker_open %v: must not be negative", l.BreakerOpen)
	}
	return nil
}

// hasBreaker reports whether l sets the breaker: then NewServer's WithLive
// turns it on.
func (l Live) hasBreaker() bool { return l.BreakerFailures != 0 || l.BreakerOpen != 0 }

// liveJSON is Live as JSON shows it.
type liveJSON struct {
	Limit           int    `json:"limit"`
	MinRemaining    string `json:"min_remaining"`
	MaxDeadline     string `json:"max_deadline"`
	BreakerFailures int    `json:"breaker_failures"`
	BreakerOpen     string `json:"breaker_open"`
}

// MarshalJSON encodes l with durations as Go duration strings.
func (l Live) MarshalJSON() ([]byte, error) {
	return json.Marshal(liveJSON{
		Limit:           l.Limit,
		MinRemaining:    l.MinRemaining.String(),
		MaxDeadline:     l.MaxDeadline.String(),
		BreakerFailures: l.BreakerFailures,
		BreakerOpen:     l.BreakerOpen.String(),
	})
}

// UnmarshalJSON sets l from one JSON object: the fields it leaves out take
// their defaults (DefaultLive). Unknown fields, durations that
// time.ParseDuration refuses and trailing data are refused. It does not
// validate: ReadLive does.
func (l *Live) UnmarshalJSON(data []byte) error {
	d := DefaultLive()
	j := liveJSON{
		Limit:           d.Limit,
		MinRemaining:    d.MinRemaining.String(),
		MaxDeadline:     d.MaxDeadline.String(),
		BreakerFailures: d.BreakerFailures,
		BreakerOpen:     d.BreakerOpen.String(),
	}
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		return errors.New("greeter: live config: want a JSON object such as {\"limit\": 8}")
	}
	if err := strictUnmarshal(data, &j); err != nil {
		if te := (*json.UnmarshalTypeError)(nil); errors.As(err, &te) && te.Field != "" {
			want := "an integer"
			if te.Type.Kind() == reflect.String {
				want = `a Go duration string such as "250ms"`
			}
			return fmt.Errorf("greeter: live config: %s: got a JSON %s, want %s", te.Field, te.Value, want)
		}
		return fmt.Errorf("greeter: live config: %w", err)
	}
	n := Live{Limit: j.Limit, BreakerFailures: j.BreakerFailures}
	for _, f := range []struct {
		name string
		src  string
		dst  *time.Duration
	}{
		{"min_remaining", j.MinRemaining, &n.MinRemaining},
		{"max_deadline", j.MaxDeadline, &n.MaxDeadline},
		{"breaker_open", j.BreakerOpen, &n.BreakerOpen},
	} {
		v, err := time.ParseDuration(f.src)
		if err != nil {
			return fmt.Errorf("greeter: live config: %s: %w", f.name, err)
		}
		*f.dst = v
	}
	*l = n
	return nil
}

// ReadLive reads one Live as JSON from r, at most MaxLiveBytes of it, and
// validates it. A read error is wrapped, so that errors.As finds an
// *http.MaxBytesError.
func ReadLive(r io.Reader) (Live, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxLiveBytes+1))
	if err != nil {
		return Live{}, fmt.Errorf("greeter: live config: reading it: %w", err)
	}
	if len(data) > MaxLiveBytes {
		return Live{}, fmt.Errorf("greeter: live config: larger than %d bytes", MaxLiveBytes)
	}
	var l Live
	if err := l.UnmarshalJSON(data); err != nil {
		return Live{}, err
	}
	if err := l.Validate(); err != nil {
		return Live{}, err
	}
	return l, nil
}
