package errdetails

import (
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/codes"
)

// The seed application codes. Every Registry made by NewRegistry knows them.
const (
	// CodeValidation is a request that failed validation: INVALID_ARGUMENT,
	// not retryable. Its status carries a google.rpc.BadRequest.
	CodeValidation = "VALIDATION_ERROR"
	// CodeDatabase is a failed database operation: UNAVAILABLE, retryable.
	CodeDatabase = "DB_ERROR"
	// CodeExternalService is a failed call to another service: UNAVAILABLE,
	// retryable. Its details name the service.
	CodeExternalService = "EXTERNAL_SERVICE_ERROR"
	// CodeInternal is what every unknown error and every panic becomes at the
	// server's error boundary: INTERNAL, not retryable.
	CodeInternal = "INTERNAL_ERROR"
	// CodeServerOverloaded is a server's load-shedding rejection, sent before
	// the handler ran: UNAVAILABLE, retryable, marked unprocessed.
	CodeServerOverloaded = "SERVER_OVERLOADED"
	// CodeCircuitOpen is a call refused by an open circuit breaker without
	// reaching its target: UNAVAILABLE, retryable after the open time.
	CodeCircuitOpen = "CIRCUIT_OPEN"
	// CodeClientConcurrencyLimit is a call a client's own concurrency limiter
	// refused before it reached the network: RESOURCE_EXHAUSTED, not
	// retryable (it is a local reject, see interceptors/outcome).
	CodeClientConcurrencyLimit = "CLIENT_CONCURRENCY_LIMIT"
	// CodeDeadlineTooShort is a request refused by a server because too little
	// of its deadline remained to do any work: DEADLINE_EXCEEDED, not
	// retryable.
	CodeDeadlineTooShort = "DEADLINE_TOO_SHORT"
)

// maxCodeLength is the longest application code accepted, the limit AIP-193
// sets on google.rpc.ErrorInfo.reason.
const maxCodeLength = 63

// errInvalidCode is matched (with errors.Is) by every error that reports an
// application code that is not UPPER_SNAKE_CASE or is too long.
var errInvalidCode = errors.New("errdetails: invalid application code")

// kind is what a Registry knows of an application code: the gRPC code it is
// sent with and whether a caller may retry it by default.
type kind struct {
	// GRPCCode is the status code the error is sent with. Never codes.OK.
	GRPCCode codes.Code
	// Retryable is the default retryability of errors with this code; an
	// error may override it by setting its Retryable field.
	Retryable bool
}

// Registry maps application codes to the gRPC code they are sent with
// and their default retryability. Lookups take no lock and
// allocate nothing; Register may be called concurrently with them. The zero
// Registry is empty and ready to use; NewRegistry returns one that knows the
// seed codes.
type Registry struct {
	mu    sync.Mutex // serialises writers
	kinds atomic.Pointer[map[string]kind]
}

// Default is the registry that New, Validation, Database and
// ExternalService use, and that FromError consults for the default
// retryability of a code sent without a Bulwark ApplicationError.
var Default = NewRegistry()

// NewRegistry returns a registry that knows the seed codes (CodeValidation,
// CodeDatabase, CodeExternalService, CodeInternal, CodeServerOverloaded,
// CodeCircuitOpen, CodeClientConcurrencyLimit and CodeDeadlineTooShort).
func NewRegistry() *Registry {
	r := &Registry{}
	seed := map[string]kind{
		CodeValidation:             {GRPCCode: codes.InvalidArgument},
		CodeDatabase:               {GRPCCode: codes.Unavailable, Retryable: true},
		CodeExternalService:        {GRPCCode: codes.Unavailable, Retryable: true},
		CodeInternal:               {GRPCCode: codes.Internal},
		CodeServerOverloaded:       {GRPCCode: codes.Unavailable, Retryable: true},
		CodeCircuitOpen:            {GRPCCode: codes.Unavailable, Retryable: true},
		CodeClientConcurrencyLimit: {GRPCCode: codes.ResourceExhausted},
		CodeDeadlineTooShort:       {GRPCCode: codes.DeadlineExceeded},
	}
	r.kinds.Store(&seed)
	return r
}

// Register adds code to r. It fails, and changes nothing, when code is not
// a valid application code (UPPER_SNAKE_CASE, at most 63 characters), when grpcCode is codes.OK or
// not a gRPC code, or when code is already registered with another gRPC code or
// retryability. Registering the same code the same way again is not an
// error.
func (r *Registry) Register(code string, grpcCode codes.Code, retryable bool) error {
	if err := validateCode(code); err != nil {
		return fmt.Errorf("errdetails: Register(%q): %w", code, err)
	}
	if grpcCode == codes.OK || grpcCode > codes.Unauthenticated {
		return fmt.Errorf("errdetails: Register(%q): gRPC code %v: must be an error code (1 to 16)", code, grpcCode)
	}
	k := kind{GRPCCode: grpcCode, Retryable: retryable}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.kinds.Load()
	if old != nil {
		if prev, ok := (*old)[code]; ok {
			if prev == k {
				return nil
			}
			return fmt.Errorf("errdetails: Register(%q): already registered as %v (retryable %t)", code, prev.GRPCCode, prev.Retryable)
		}
	}
	next := make(map[string]kind, 1)
	if old != nil {
		next = maps.Clone(*old)
	}
	next[code] = k
	r.kinds.Store(&next)
	return nil
}

// lookup returns the kind registered for code.
func (r *Registry) lookup(code string) (kind, bool) {
	m := r.kinds.Load()
	if m == nil {
		return kind{}, false
	}
	k, ok := (*m)[code]
	return k, ok
}

// validateCode reports whether code is a valid application code:
// UPPER_SNAKE_CASE (A to Z, 0 to 9 and single underscores, starting with a
// letter, not ending with an underscore) and at most maxCodeLength
// characters. The error says which rule code breaks.
func validateCode(code string) error {
	switch {
	case code == "":
		return fmt.Errorf("%w: empty", errInvalidCode)
	case len(code) > maxCodeLength:
		return fmt.Errorf("%w: %d characters, at most %d", errInvalidCode, len(code), maxCodeLength)
	case code[0] < 'A' || code[0] > 'Z':
		return fmt.Errorf("%w: must start with a letter A to Z", errInvalidCode)
	case code[len(code)-1] == '_':
		return fmt.Errorf("%w: must not end with an underscore", errInvalidCode)
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_':
			if code[i-1] == '_' {
				return fmt.Errorf("%w: two underscores in a row at byte %d", errInvalidCode, i)
			}
		default:
			return fmt.Errorf("%w: byte %d (%q) is not A to Z, 0 to 9 or an underscore", errInvalidCode, i, c)
		}
	}
	return nil
}
