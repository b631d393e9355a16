package greeter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
)

// Secret is held in the text of every injected internal failure: the cause
// of a DB_ERROR or EXTERNAL_SERVICE_ERROR, a plain-error and a panic. It
// must reach the server's log and never a caller; tests search for it.
const Secret = "hunter2"

// The texts of the injected internal failures. Each holds Secret.
const (
	plainErrorText = "greeter: query greetings: db password=" + Secret + " at 10.0.0.5:5432: connection reset by peer"
	panicText      = "greeter: injected panic: api key sk_live_" + Secret
	dbCauseText    = "dial tcp 10.0.0.5:5432: connect: connection refused (user=greeter password=" + Secret + ")"
	extCauseText   = "GET https://weather.internal/v2/today?key=" + Secret + ": 503 Service Unavailable"
)

// ExternalService is the service that injected EXTERNAL_SERVICE_ERRORs
// name.
const ExternalService = "weather-api"

// grpcCodes maps the canonical gRPC code names to their codes.
var grpcCodes = map[string]codes.Code{
	"CANCELLED":           codes.Canceled,
	"UNKNOWN":             codes.Unknown,
	"INVALID_ARGUMENT":    codes.InvalidArgument,
	"DEADLINE_EXCEEDED":   codes.DeadlineExceeded,
	"NOT_FOUND":           codes.NotFound,
	"ALREADY_EXISTS":      codes.AlreadyExists,
	"PERMISSION_DENIED":   codes.PermissionDenied,
	"RESOURCE_EXHAUSTED":  codes.ResourceExhausted,
	"FAILED_PRECONDITION": codes.FailedPrecondition,
	"ABORTED":             codes.Aborted,
	"OUT_OF_RANGE":        codes.OutOfRange,
	"UNIMPLEMENTED":       codes.Unimplemented,
	"INTERNAL":            codes.Internal,
	"UNAVAILABLE":         codes.Unavailable,
	"DATA_LOSS":           codes.DataLoss,
	"UNAUTHENTICATED":     codes.Unauthenticated,
}

// CodeName returns the canonical name of a gRPC code, such as
// "UNAVAILABLE", as other languages' gRPC libraries spell it.
func CodeName(c codes.Code) string {
	if c == codes.OK {
		return "OK"
	}
	for name, code := range grpcCodes {
		if code == c {
			return name
		}
	}
	return fmt.Sprintf("CODE_%d", uint32(c))
}

// ParseCode returns the gRPC code with the canonical name s
// ("UNAVAILABLE"); it reports false for "OK" and for anything else.
func ParseCode(s string) (codes.Code, bool) {
	c, ok := grpcCodes[s]
	return c, ok
}

// validateFailCode accepts what ErrorFor accepts.
func validateFailCode(code string) error {
	if _, ok := ParseCode(code); ok {
		return nil
	}
	if code == "OK" {
		return errors.New("OK is not a failure")
	}
	return (&errdetails.ApplicationError{Code: code, GRPCCode: codes.Unknown}).Validate()
}

// ErrorFor returns the error an injected failure with the given code
// returns. A gRPC code name such as "UNAVAILABLE" gives a plain status with
// no details, as a server that is not Bulwark would send. An application
// code gives an *errdetails.ApplicationError:
//   - VALIDATION_ERROR: errdetails.Validation about the field "name";
//   - DB_ERROR: errdetails.Database with a cause holding internal text;
//   - EXTERNAL_SERVICE_ERROR: errdetails.ExternalService naming
//     ExternalService, with a cause holding internal text;
//   - any other valid code: errdetails.New with that code (sent as UNKNOWN,
//     not retryable, unless registered in errdetails.Default).
//
// retryAfter, when positive, is the delay hint of a retryable error. An
// invalid code yields an error saying so (sent as INVALID_ARGUMENT).
func ErrorFor(code string, retryAfter time.Duration) error {
	if c, ok := ParseCode(code); ok {
		return status.Error(c, "greeter: injected "+code)
	}
	if err := validateFailCode(code); err != nil {
		return errdetails.Validation("greeter-fault", fmt.Sprintf("error=%s: %v", code, err))
	}
	var e *errdetails.ApplicationError
	switch code {
	case errdetails.CodeValidation:
		e = errdetails.Validation("name", "rejected by fault injection")
	case errdetails.CodeDatabase:
		e = errdetails.Database("greeting store unavailable", errors.New(dbCauseText))
	case errdetails.CodeExternalService:
		e = errdetails.ExternalService(ExternalService, "", errors.New(extCauseText))
	default:
		e = errdetails.New(code, "injected "+code)
	}
	if retryAfter > 0 {
		e.RetryAfter = retryAfter
	}
	return e
}

// plainError is the ordinary Go error of the plain-error fault.
func plainError() error { return errors.New(plainErrorText) }

// strictUnmarshal decodes one JSON value into v, refusing unknown fields and
// trailing data.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}
