package interceptors

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/internal/method"
)

// The services exempt by default: gRPC's health checking and server
// reflection. A kubelet or load balancer probing a busy server must get an
// answer, and a probe must never open a breaker.
var defaultExempt = []string{
	"grpc.health.v1.Health",
	"grpc.reflection.v1.ServerReflection",
	"grpc.reflection.v1alpha.ServerReflection",
}

// exemption decides which methods skip the chain's shedding, breaking,
// deadline and logging layers.
type exemption struct {
	methods  map[string]bool // full methods
	services map[string]bool // services, "package.Service"
	// serviceList holds the services too while they are few, in the order
	// added: comparing a few strings, which mostly differ in length, costs
	// less than hashing the name, and every call asks.
	serviceList []string
	funcs       []func(fullMethod string) bool
}

// maxServiceList is the most services match compares one by one; beyond
// it, it looks the name up in the map.
const maxServiceList = 8

func newExemption() *exemption {
	e := &exemption{methods: map[string]bool{}, services: map[string]bool{}}
	for _, s := range defaultExempt {
		e.addService(s)
	}
	return e
}

func (e *exemption) addService(s string) {
	if !e.services[s] {
		e.services[s] = true
		e.serviceList = append(e.serviceList, s)
	}
}

// add adds names, each a full method or a service, or returns an error
// naming the first that is neither.
func (e *exemption) add(names []string) error {
	for _, n := range names {
		switch {
		case strings.HasPrefix(n, "/"):
			if !method.Valid(n) {
				return fmt.Errorf("interceptors: WithExempt(%q): not a full method name (/package.Service/Method)", n)
			}
			e.methods[n] = true
		case n != "" && !strings.ContainsAny(n, "/ "):
			e.addService(n)
		default:
			return fmt.Errorf("interceptors: WithExempt(%q): want a full method (/package.Service/Method) or a service (package.Service)", n)
		}
	}
	return nil
}

// match reports whether fullMethod is exempt. It allocates nothing.
func (e *exemption) match(fullMethod string) bool {
	if e.methods[fullMethod] {
		return true
	}
	// As method.Parse has it, without its cost: the service lies between
	// the leading slash and the last one, which a non-empty method follows
	// (a service with a slash in it is never exempt).
	if i := strings.LastIndexByte(fullMethod, '/'); i > 0 && i < len(fullMethod)-1 && fullMethod[0] == '/' {
		svc := fullMethod[1:i]
		if len(e.serviceList) > maxServiceList {
			if e.services[svc] {
				return true
			}
		} else {
			for _, s := range e.serviceList {
				if s == svc {
					return true
				}
			}
		}
	}
	for _, f := range e.funcs {
		if f(fullMethod) {
			return true
		}
	}
	return false
}

// WithExempt takes methods out of shedding, breaking, deadline rejection
// and logging on both sides: their calls skip the chain's concurrency
// limiter, circuit breaker, deadline layer (on the server, its refusal of
// requests with too little time left; on the client, its default timeout)
// and logging interceptor, and keep the rest (request id, metrics, error
// boundary, retries). Each name is a full method ("/pkg.Service/Method")
// or a service ("pkg.Service"); a name that is neither is refused. The
// standard health service (grpc.health.v1.Health) and the reflection
// services are always exempt, so that probes of a busy server are
// answered and never open a breaker. Default: only those.
func WithExempt(names ...string) Option {
	return bothOption(func(c *config) {
		if c.exempt == nil {
			c.exempt = newExemption()
		}
		if err := c.exempt.add(names); err != nil {
			c.errs = append(c.errs, err)
		}
	})
}

// WithExemptFunc is WithExempt for the methods for which exempt returns
// true, in the spirit of go-grpc-middleware's selector. exempt is called
// with the full method of every call that no name given to WithExempt
// matches, and must be fast and safe for concurrent use. nil is refused.
// Default: none.
func WithExemptFunc(exempt func(fullMethod string) bool) Option {
	return bothOption(func(c *config) {
		if exempt == nil {
			c.errs = append(c.errs, fmt.Errorf("interceptors: WithExemptFunc(nil): the function must not be nil"))
			return
		}
		if c.exempt == nil {
			c.exempt = newExemption()
		}
		c.exempt.funcs = append(c.exempt.funcs, exempt)
	})
}

// chainLayers is a chain's interceptors, outermost first, with the ones that
// exempt methods skip marked.
type chainLayers[U, S any] struct {
	unary     []U
	stream    []S
	skippable []bool
}

// add adds a layer every call runs.
func (l *chainLayers[U, S]) add(u U, s S) {
	l.unary, l.stream, l.skippable = append(l.unary, u), append(l.stream, s), append(l.skippable, false)
}

// skip adds a layer exempt methods skip.
func (l *chainLayers[U, S]) skip(u U, s S) {
	l.unary, l.stream, l.skippable = append(l.unary, u), append(l.stream, s), append(l.skippable, true)
}

// exemptionOf returns the exemptions the options gave, or the default.
func exemptionOf(c *config) *exemption {
	if c.exempt != nil {
		return c.exempt
	}
	return newExemption()
}

// kept returns the interceptors that exempt methods run.
func kept[T any](all []T, skippable []bool) []T {
	var out []T
	for i, t := range all {
		if !skippable[i] {
			out = append(out, t)
		}
	}
	return out
}

// exemptUnaryClient runs short for exempt methods and full for the others.
func exemptUnaryClient(e *exemption, full, short grpc.UnaryClientInterceptor) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, m string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if e.match(m) {
			return short(ctx, m, req, reply, cc, invoker, opts...)
		}
		return full(ctx, m, req, reply, cc, invoker, opts...)
	}
}

func exemptStreamClient(e *exemption, full, short grpc.StreamClientInterceptor) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, m string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		if e.match(m) {
			return short(ctx, desc, cc, m, streamer, opts...)
		}
		return full(ctx, desc, cc, m, streamer, opts...)
	}
}

func exemptUnaryServer(e *exemption, full, short grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if e.match(info.FullMethod) {
			return short(ctx, req, info, handler)
		}
		return full(ctx, req, info, handler)
	}
}

func exemptStreamServer(e *exemption, full, short grpc.StreamServerInterceptor) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if e.match(info.FullMethod) {
			return short(srv, ss, info, handler)
		}
		return full(srv, ss, info, handler)
	}
}
