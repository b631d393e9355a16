package workload

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/examples/greeter/greeter"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
)

// Summary is what a workload did, as the client's -json flag prints it.
type Summary struct {
	// Target is the server's address.
	Target string `json:"target"`
	// Method is Unary, Stream or Bidi.
	Method string `json:"method"`
	// Mode is "bulwark" (with Bulwark's client interceptors) or "bare".
	Mode string `json:"mode"`
	// Calls is the number of calls made.
	Calls int `json:"calls"`
	// OK is the number of calls that succeeded, Fallbacks included.
	OK int `json:"ok"`
	// Fallbacks counts the calls that the client's circuit breaker refused
	// and its fallback answered (the client's -fallback: the last reply
	// for the same name). They are in OK too: OK - Fallbacks calls were
	// answered by the server.
	Fallbacks int64 `json:"fallbacks"`
	// Codes counts the calls by final gRPC code name ("OK", "UNAVAILABLE").
	Codes map[string]int `json:"codes"`
	// AppCodes counts the failed calls by application code (ErrorInfo
	// reason), for those that carried one.
	AppCodes map[string]int `json:"app_codes"`
	// Attempts counts the attempts that went on the wire, retries included.
	Attempts int64 `json:"attempts"`
	// AttemptsPerCall is Attempts / Calls.
	AttemptsPerCall float64 `json:"attempts_per_call"`
	// P50Millis and P99Millis are latency percentiles of all calls,
	// failed ones included, in milliseconds.
	P50Millis float64 `json:"p50_ms"`
	P99Millis float64 `json:"p99_ms"`
	// P50 and P99 are the same percentiles as Go durations ("1.234ms"),
	// to the microsecond.
	P50 string `json:"p50"`
	P99 string `json:"p99"`
	// ElapsedMillis is how long the whole workload took, in milliseconds.
	ElapsedMillis float64 `json:"elapsed_ms"`
	// BreakerTransitions lists the client's circuit-breaker state changes
	// in order; empty when the client has no breaker.
	BreakerTransitions []Transition `json:"breaker_transitions"`
	// Rejections counts refusals by Reason name: attempts that the
	// client's breaker (circuit_open) or limiter (client_limit) refused
	// locally, or that the server refused before its handler
	// (server_overloaded, deadline_too_short), and calls whose retry the
	// retry budget refused (retry_budget). Reasons never seen are left out.
	Rejections map[string]int64 `json:"rejections"`
	// FirstError is the first failed call's error, decoded; nil when every
	// call succeeded.
	FirstError *ErrorReport `json:"first_error,omitempty"`
}

// Transition is one state change of a circuit breaker.
type Transition struct {
	// AtMillis is when it happened, in milliseconds since the workload
	// started.
	AtMillis float64 `json:"at_ms"`
	// From and To are the states, such as "closed" and "open".
	From string `json:"from"`
	To   string `json:"to"`
}

// ErrorReport is a failed call's error as a client sees it.
type ErrorReport struct {
	// GRPCCode is the status code name, such as "UNAVAILABLE".
	GRPCCode string `json:"grpc_code"`
	// GoType is the Go type of the error the call returned, for example
	// *errdetails.ApplicationError when Bulwark's client interceptors
	// decoded it.
	GoType string `json:"go_type"`
	// Message is the status message.
	Message string `json:"message"`
	// Decoded reports whether the status carried an application error; the
	// fields below are set only then.
	Decoded bool `json:"decoded"`
	// AppCode is the application code (ErrorInfo reason).
	AppCode string `json:"app_code,omitempty"`
	// Retryable is the server's retryability.
	Retryable bool `json:"retryable"`
	// RetryAfterMillis is the server's delay hint, 0 when none.
	RetryAfterMillis float64 `json:"retry_after_ms"`
	// RequestID identifies the call in the server's log.
	RequestID string `json:"request_id,omitempty"`
	// Domain is the service that produced the error.
	Domain string `json:"domain,omitempty"`
	// Details are the error's details.
	Details map[string]any `json:"details,omitempty"`
	// Violations are the field violations, "field: description".
	Violations []string `json:"violations,omitempty"`
}

// Report describes err as a client sees it.
func Report(err error) *ErrorReport {
	if err == nil {
		return nil
	}
	st := status.Convert(err)
	r := &ErrorReport{GRPCCode: greeter.CodeName(st.Code()), GoType: goType(err), Message: st.Message()}
	ae, ok := errdetails.FromError(err)
	if !ok {
		return r
	}
	r.Decoded = true
	r.AppCode = ae.Code
	r.Retryable = ae.Retryable
	r.RetryAfterMillis = millis(ae.RetryAfter)
	r.RequestID = ae.RequestID
	r.Domain = ae.Domain
	r.Details = ae.Details
	for _, v := range ae.Violations {
		r.Violations = append(r.Violations, v.Field+": "+v.Description)
	}
	return r
}

func goType(err error) string {
	var ae *errdetails.ApplicationError
	if errors.As(err, &ae) {
		return "*errdetails.ApplicationError"
	}
	if _, ok := status.FromError(err); ok {
		return "*status.Error"
	}
	return "error"
}

// Summarize sums up results. attempts is the number of attempts that went
// on the wire, as counted by the client's innermost interceptor; elapsed
// is the wall time of the whole workload.
func Summarize(cfg Config, target, mode string, results []Result, attempts int64, elapsed time.Duration, transitions []Transition) Summary {
	method := cfg.Method
	if method == "" {
		method = Unary
	}
	s := Summary{
		Target:             target,
		Method:             method,
		Mode:               mode,
		Calls:              len(results),
		Codes:              map[string]int{},
		AppCodes:           map[string]int{},
		Attempts:           attempts,
		ElapsedMillis:      millis(elapsed),
		BreakerTransitions: transitions,
		Rejections:         map[string]int64{},
	}
	if s.BreakerTransitions == nil {
		s.BreakerTransitions = []Transition{}
	}
	lat := make([]time.Duration, 0, len(results))
	for _, r := range results {
		lat = append(lat, r.Latency)
		if r.Err == nil {
			s.OK++
			s.Codes["OK"]++
			continue
		}
		s.Codes[greeter.CodeName(status.Code(r.Err))]++
		if ae, ok := errdetails.FromError(r.Err); ok {
			s.AppCodes[ae.Code]++
		}
		if errors.Is(r.Err, retry.ErrBudgetExhausted) {
			s.Rejections[RetryBudget.String()]++
		}
		if s.FirstError == nil {
			s.FirstError = Report(r.Err)
		}
	}
	if s.Calls > 0 {
		s.AttemptsPerCall = round(float64(attempts)/float64(s.Calls), 100)
	}
	slices.Sort(lat)
	p50, p99 := Percentile(lat, 0.50), Percentile(lat, 0.99)
	s.P50Millis, s.P99Millis = millis(p50), millis(p99)
	s.P50, s.P99 = p50.Round(time.Microsecond).String(), p99.Round(time.Microsecond).String()
	return s
}

// AddRejections adds the counts of r to s.Rejections.
func (s *Summary) AddRejections(r *Rejections) {
	if s.Rejections == nil {
		s.Rejections = map[string]int64{}
	}
	for name, n := range r.Map() {
		s.Rejections[name] += n
	}
}

// Percentile returns the nearest-rank q-th percentile (0 < q <= 1) of
// sorted; 0 when it is empty.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// millis returns d in milliseconds, to the microsecond.
func millis(d time.Duration) float64 {
	return round(float64(d)/float64(time.Millisecond), 1000)
}

func round(x, scale float64) float64 { return math.Round(x*scale) / scale }

// Timeline renders breaker transitions compactly, times rounded to 10ms:
// "closed → open@1.03s → half_open@1.26s → closed@1.27s". Rounds of failed
// probes (half_open then open again), two or more in a row, are folded
// into one item: "half_open → open ×9 (probes failed, last at 3.33s)".
// It returns "closed throughout" when there is none.
func Timeline(ts []Transition) string {
	if len(ts) == 0 {
		return "closed throughout"
	}
	at := func(t Transition) time.Duration {
		return time.Duration(t.AtMillis * float64(time.Millisecond)).Round(10 * time.Millisecond)
	}
	parts := []string{ts[0].From}
	for i := 0; i < len(ts); {
		k := 0
		for i+2*k+1 < len(ts) && ts[i+2*k].To == "half_open" && ts[i+2*k+1].To == "open" {
			k++
		}
		if k >= 2 {
			parts = append(parts, fmt.Sprintf("half_open → open ×%d (probes failed, last at %v)", k, at(ts[i+2*k-1])))
			i += 2 * k
			continue
		}
		parts = append(parts, fmt.Sprintf("%s@%v", ts[i].To, at(ts[i])))
		i++
	}
	return strings.Join(parts, " → ")
}
