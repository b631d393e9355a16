package boundary

import (
	"context"
	"errors"
	"log/slog"

	"github.com/bulwarkrpc/bulwark/errdetails"
)

// An Option configures a Boundary.
type Option interface {
	apply(*options)
}

type options struct {
	logger     *slog.Logger
	debugInfo  bool
	domain     string
	downstream DownstreamPolicy
	errs       []error
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

// DownstreamPolicy decides what a server sends in place of an error that a
// handler passed on from one of its own outgoing calls, such as
// "if err != nil { return nil, err }" after calling another service. remote
// is that error as decoded from the downstream status. The policy returns
// an error made in this process (errdetails.New and its options); the
// boundary then sends it as this server's own answer, whatever the policy
// did: never marked unprocessed (the handler ran), without DebugInfo unless
// WithDebugInfo, with this hop's domain and request id where it has none,
// and within the size bound. A nil result gets Forward's.
type DownstreamPolicy func(ctx context.Context, remote *errdetails.ApplicationError) *errdetails.ApplicationError

// WithDownstreamPolicy sets the policy for errors that handlers pass on from
// their outgoing calls, for teams that translate them strictly (say, every
// downstream failure as EXTERNAL_SERVICE_ERROR naming the dependency). nil
// is refused. Default: Forward.
func WithDownstreamPolicy(p DownstreamPolicy) Option {
	return optionFunc(func(o *options) {
		if p == nil {
			o.errs = append(o.errs, errors.New("boundary: WithDownstreamPolicy(nil): the policy must not be nil"))
			return
		}
		o.downstream = p
	})
}

func newOptions(opts []Option) (options, error) {
	o := options{logger: slog.Default(), downstream: Forward}
	for _, opt := range opts {
		if opt == nil {
			o.errs = append(o.errs, errors.New("boundary: nil Option"))
			continue
		}
		opt.apply(&o)
	}
	return o, errors.Join(o.errs...)
}
