package errdetails

import (
	"errors"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/internal/wire"
)

// ApplicationError is an application error that travels to remote callers:
// a code from a Registry, a message that is safe to show them, details,
// and whether they may retry. The cause is kept for the server's logs and
// never sent.
//
// Servers create one with New, Validation, Database or ExternalService and
// return it (or an error wrapping it) from a handler; the error boundary
// (package interceptors/boundary) encodes it as described in GRPCStatus.
// Clients get one back from FromError, or directly from a call when the
// boundary's client interceptor is installed.
//
// An ApplicationError is a value: the interceptors copy it rather than change
// it, so one may be shared (for example as a package-level error).
type ApplicationError struct {
	// Code is the application code, for example "DB_ERROR": UPPER_SNAKE_CASE,
	// at most 63 characters (see Validate).
	Code string
	// Message is shown to remote callers. It must not hold internals.
	Message string
	// GRPCCode is the status code the error is sent with; New sets it from
	// the registry.
	GRPCCode codes.Code
	// Retryable says whether a caller may retry the request; New sets it from
	// the registry.
	Retryable bool
	// Unprocessed says the server did not process the request, so that even
	// a method with side effects may be retried.
	Unprocessed bool
	// RetryAfter is the server's delay hint. Positive: sent as
	// google.rpc.RetryInfo and the grpc-retry-pushback-ms trailer when the
	// error is retryable. Negative: the server asks not to retry, sent as a
	// negative grpc-retry-pushback-ms and as retryable false in
	// bulwark.v1.ApplicationError. Zero: no hint.
	RetryAfter time.Duration
	// Domain is the service that produced the error (ErrorInfo.domain). When
	// empty, the error boundary fills in the gRPC service name.
	Domain string
	// Time is when the error was created.
	Time time.Time
	// Details are typed values keyed in lowerCamelCase: strings, booleans,
	// numbers, nil, and slices and maps of those. Sent as ErrorInfo.metadata
	// (as strings) and as typed values in bulwark.v1.ApplicationError.
	Details map[string]any
	// Violations are the fields a request got wrong, sent as
	// google.rpc.BadRequest.
	Violations []FieldViolation
	// Preconditions are the failed preconditions, sent as
	// google.rpc.PreconditionFailure.
	Preconditions []PreconditionViolation
	// Quotas are the exhausted quotas, sent as google.rpc.QuotaFailure.
	Quotas []QuotaViolation
	// Resource is the resource the error is about, sent as
	// google.rpc.ResourceInfo.
	Resource *Resource
	// RequestID identifies the request in the server's logs, sent as
	// google.rpc.RequestInfo. The error boundary fills it in.
	RequestID string
	// Debug is sent as google.rpc.DebugInfo, and only by the error boundary,
	// when the operator opts in (boundary.WithDebugInfo). On the client it
	// holds what such a server sent.
	Debug *Debug

	cause error
	wire  *status.Status // the status this error was decoded from
}

// FieldViolation is one field of a request that failed validation.
type FieldViolation struct {
	// Field is the path to the field, for example "user.email".
	Field string
	// Description says what is wrong with it.
	Description string
	// Reason is an optional UPPER_SNAKE_CASE code for the violation.
	Reason string
}

// PreconditionViolation is one failed precondition.
type PreconditionViolation struct {
	// Type is the kind of precondition, for example "TOS".
	Type string
	// Subject is what failed it.
	Subject string
	// Description says how to fix it.
	Description string
}

// QuotaViolation is one exhausted quota.
type QuotaViolation struct {
	// Subject is who ran out, for example "project:123".
	Subject string
	// Description says which quota and why.
	Description string
}

// Resource names the resource an error is about.
type Resource struct {
	// Type is the resource type, for example "user".
	Type string
	// Name is the resource's name or id.
	Name string
	// Owner is the owner of the resource, optional.
	Owner string
	// Description says what went wrong with it.
	Description string
}

// Debug is what the server sends as google.rpc.DebugInfo when its operator
// opts in: the cause and, for a panic, the stack.
type Debug struct {
	// Detail is the text of the cause.
	Detail string
	// Stack holds the lines of the stack trace.
	Stack []string
}

// New returns an ApplicationError with the given code and safe message.
// Its gRPC code and retryability come from the Default registry; a code it
// does not know is sent as codes.Unknown and not retryable unless its
// GRPCCode or Retryable field is set otherwise. A code that Validate refuses
// is sent as CodeInternal, so register your codes with Default.Register to
// catch a bad one early.
func New(code, message string, opts ...Option) *ApplicationError {
	e := &ApplicationError{Code: code, Message: message, GRPCCode: codes.Unknown, Time: time.Now()}
	if k, ok := Default.lookup(code); ok {
		e.GRPCCode, e.Retryable = k.GRPCCode, k.Retryable
	}
	for _, o := range opts {
		o.apply(e)
	}
	return e
}

// Validation returns a VALIDATION_ERROR (INVALID_ARGUMENT, not retryable)
// about one field of the request. Its message is "invalid <field>:
// <description>" and its status carries a google.rpc.BadRequest naming the
// field; append more fields to its Violations.
func Validation(field, description string, opts ...Option) *ApplicationError {
	e := New(CodeValidation, "invalid "+field+": "+description, opts...)
	e.Violations = append([]FieldViolation{{Field: field, Description: description}}, e.Violations...)
	e.Details = withDetail(e.Details, "field", field)
	return e
}

// Database returns a DB_ERROR (UNAVAILABLE, retryable). message is shown to
// callers ("database unavailable" when empty); cause stays on the server.
func Database(message string, cause error, opts ...Option) *ApplicationError {
	if message == "" {
		message = "database unavailable"
	}
	e := New(CodeDatabase, message, opts...)
	if e.cause == nil {
		e.cause = cause
	}
	return e
}

// ExternalService returns an EXTERNAL_SERVICE_ERROR (UNAVAILABLE, retryable)
// naming the service that failed (detail "service"). message is shown to
// callers ("<service> unavailable" when empty); cause stays on the server.
func ExternalService(service, message string, cause error, opts ...Option) *ApplicationError {
	if message == "" {
		message = service + " unavailable"
	}
	e := New(CodeExternalService, message, opts...)
	e.Details = withDetail(e.Details, "service", service)
	if e.cause == nil {
		e.cause = cause
	}
	return e
}

// Error returns the code and message, and the cause when there is one. It
// is meant for the server's logs: callers only ever see Message.
func (e *ApplicationError) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.cause != nil {
		b.WriteString(": ")
		b.WriteString(e.cause.Error())
	}
	return b.String()
}

// Unwrap returns the cause, so errors.Is and errors.As see through an
// ApplicationError to the error it was made from.
func (e *ApplicationError) Unwrap() error { return e.cause }

// remote reports whether e was decoded from a status another process sent
// (by FromError, or the client chain's decoder), rather than
// made in this one. A server's error boundary re-encodes a remote error
// that a handler passes on with its downstream policy, instead of
// forwarding it as it came.
func (e *ApplicationError) remote() bool { return e.wire != nil }

func init() {
	wire.RetryDelay = retryDelay
	wire.KnownCode = func(registry any, code string) bool {
		_, ok := registry.(*Registry).lookup(code)
		return ok
	}
	wire.Remote = func(err error) bool {
		e, ok := err.(*ApplicationError)
		return ok && e != nil && e.remote()
	}
	wire.DebugStatus = func(err error) *status.Status {
		if e, ok := err.(*ApplicationError); ok && e != nil {
			return e.debugStatus()
		}
		return nil
	}
}

// Is reports whether target is an *ApplicationError with the same Code, so
// that errors.Is(err, errdetails.New("USER_NOT_FOUND", "")) matches any
// USER_NOT_FOUND error.
func (e *ApplicationError) Is(target error) bool {
	var t *ApplicationError
	if !errors.As(target, &t) || t == nil {
		return false
	}
	return t.Code != "" && t.Code == e.Code
}

// Validate reports whether e can be sent as it is: its code is valid
// (UPPER_SNAKE_CASE: A to Z, 0 to 9 and single underscores, starting with a
// letter, not ending with an underscore, at most 63 characters) and its
// gRPC code is an error code. The error says which rule e breaks.
func (e *ApplicationError) Validate() error {
	if err := validateCode(e.Code); err != nil {
		return err
	}
	if e.GRPCCode == codes.OK || e.GRPCCode > codes.Unauthenticated {
		return errors.New("errdetails: gRPC code " + e.GRPCCode.String() + " of " + e.Code + " is not an error code")
	}
	return nil
}
