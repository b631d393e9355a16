package boundary

import (
	"errors"
	"log/slog"
)

// An Option configures a Boundary.
type Option interface {
	apply(*options)
}

type options struct {
	logger    *slog.Logger
	debugInfo bool
	domain    string
	errs      []error
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithLogger sets the logger that receives unknown errors, panics with their
// stacks, and the causes of application errors. nil is refused. Default:
// slog.Default().
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(o *options) {
		if l == nil {
			o.errs = append(o.errs, errors.New("boundary: WithLogger(nil): the logger must not be nil"))
			return
		}
		o.logger = l
	})
}

// WithDebugInfo, when true, sends the cause of each error and the stack of
// each panic to callers in google.rpc.DebugInfo. It exposes internals: turn
// it on only for development. Default: false.
func WithDebugInfo(on bool) Option {
	return optionFunc(func(o *options) { o.debugInfo = on })
}

// WithDomain sets ErrorInfo.domain for errors that have none, for example
// "greeter.example.com". Default: the gRPC service name of the method,
// such as "greeter.v1.Greeter".
func WithDomain(domain string) Option {
	return optionFunc(func(o *options) { o.domain = domain })
}

func newOptions(opts []Option) (options, error) {
	o := options{logger: slog.Default()}
	for _, opt := range opts {
		opt.apply(&o)
	}
	return o, errors.Join(o.errs...)
}
