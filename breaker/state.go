package breaker

import "strconv"

// State is where a breaker stands. The first three are the states of the
// automatic state machine; StateForcedOpen and StateDisabled are the states
// of the manual modes ModeForcedOpen and ModeDisabled.
type State uint8

// The states.
const (
	// StateClosed lets every call through and records its outcome.
	StateClosed State = iota
	// StateOpen refuses every call with an *OpenError until the open time
	// has passed.
	StateOpen
	// StateHalfOpen lets a bounded number of probe calls through; their
	// outcomes close the breaker again or reopen it.
	StateHalfOpen
	// StateForcedOpen refuses every call until the mode changes.
	StateForcedOpen
	// StateDisabled lets every call through and records nothing.
	StateDisabled
)

var stateNames = [...]string{"closed", "open", "half_open", "forced_open", "disabled"}

// String returns the state in snake_case ("half_open"), as used in metric
// labels.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// Mode is how a breaker is operated: automatically, or pinned by an operator.
type Mode uint8

// The modes. SetMode switches between them.
const (
	// ModeNormal runs the state machine: closed, open, half-open.
	ModeNormal Mode = iota
	// ModeForcedOpen refuses every call (StateForcedOpen), for example to
	// take a dependency out of service.
	ModeForcedOpen
	// ModeDisabled lets every call through and records nothing
	// (StateDisabled).
	ModeDisabled
	// ModeMetricsOnly runs the state machine and reports its transitions to
	// the state-change hooks, but never refuses a call: a dry run of the
	// breaker's settings. While its state machine is open, calls are let
	// through and not recorded; while it is half-open, the first calls are
	// its probes and the others are let through and not recorded.
	ModeMetricsOnly
)

var modeNames = [...]string{"normal", "forced_open", "disabled", "metrics_only"}

// String returns the mode in snake_case ("metrics_only").
func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return "mode(" + strconv.Itoa(int(m)) + ")"
}

// Verdict is what a call says about the dependency's health, as reported
// to a Permit.
type Verdict uint8

// The verdicts.
const (
	// Succeeded: the dependency answered (the call may still have failed for
	// a reason that does not concern its health).
	Succeeded Verdict = iota
	// Failed: the dependency failed; it counts towards tripping.
	Failed
	// Skipped: the call says nothing about the dependency (for example the
	// caller gave up). Its permit is released and nothing is counted.
	Skipped
)
