package metrics

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/internal/callclock"
	"github.com/bulwarkrpc/bulwark/internal/method"
	"github.com/bulwarkrpc/bulwark/internal/rpc"
	"github.com/bulwarkrpc/bulwark/internal/unregistered"
	"github.com/bulwarkrpc/bulwark/internal/wire"
)

// rpcVecs are the standard RPC metrics of one side, named and labelled as in
// go-grpc-middleware's Prometheus provider.
type rpcVecs struct {
	started, handled, msgReceived, msgSent *prometheus.CounterVec
	seconds                                *prometheus.HistogramVec // nil when off
	appErrors                              *prometheus.CounterVec
	registry                               *errdetails.Registry
	// countFinished is set on the client, whose finished calls feed the
	// attempts-per-call histogram; the server's are not counted twice.
	countFinished bool

	children sync.Map // full method -> *rpcChildren
}

func newRPCVecs(side string, o *options) *rpcVecs {
	labels := []string{"grpc_type", "grpc_service", "grpc_method"}
	withCode := []string{"grpc_type", "grpc_service", "grpc_method", "grpc_code"}
	help := rpcHelp[side]
	v := &rpcVecs{
		started:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "grpc_" + side + "_started_total", Help: help.started}, labels),
		handled:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "grpc_" + side + "_handled_total", Help: help.handled}, withCode),
		msgReceived: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "grpc_" + side + "_msg_received_total", Help: help.received}, labels),
		msgSent:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "grpc_" + side + "_msg_sent_total", Help: help.sent}, labels),
		appErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: o.namespace + "_" + side + "_application_errors_total",
			Help: "Application errors " + help.appVerb + ", by application code (codes the registry does not know are counted as OTHER).",
		}, []string{"grpc_service", "grpc_method", "grpc_code", "app_code"}),
		registry:      o.registry,
		countFinished: side == "client",
	}
	if o.buckets != nil {
		v.seconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "grpc_" + side + "_handling_seconds", Help: help.seconds, Buckets: o.buckets,
		}, labels)
	}
	return v
}

var rpcHelp = map[string]struct{ started, handled, received, sent, seconds, appVerb string }{
	"server": {
		started:  "Total number of RPCs started on the server.",
		handled:  "Total number of RPCs completed on the server, regardless of success or failure.",
		received: "Total number of RPC stream messages received on the server.",
		sent:     "Total number of gRPC stream messages sent by the server.",
		seconds:  "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
		appVerb:  "returned by the server's handlers",
	},
	"client": {
		started:  "Total number of RPCs started on the client.",
		handled:  "Total number of RPCs completed by the client, regardless of success or failure.",
		received: "Total number of RPC stream messages received by the client.",
		sent:     "Total number of gRPC stream messages sent by the client.",
		seconds:  "Histogram of response latency (seconds) of the gRPC until it is finished by the application.",
		appVerb:  "received by the client",
	},
}

func (v *rpcVecs) collectors() []prometheus.Collector {
	cs := []prometheus.Collector{v.started, v.handled, v.msgReceived, v.msgSent, v.appErrors}
	if v.seconds != nil {
		cs = append(cs, v.seconds)
	}
	return cs
}

// rpcChildren are the label children of one method, resolved once, so a
// call costs a map load and atomic adds rather than label hashing.
type rpcChildren struct {
	vecs                    *rpcVecs
	service, method         string
	started, received, sent prometheus.Counter
	seconds                 prometheus.Observer
	handled                 byCode
	finished                atomic.Uint64 // calls that ended, for the attempts histogram
}

func (v *rpcVecs) forMethod(fullMethod, typ string) *rpcChildren {
	if c, ok := v.children.Load(fullMethod); ok {
		return c.(*rpcChildren)
	}
	service, name := method.Split(fullMethod)
	c := &rpcChildren{
		vecs: v, service: service, method: name,
		started:  v.started.WithLabelValues(typ, service, name),
		received: v.msgReceived.WithLabelValues(typ, service, name),
		sent:     v.msgSent.WithLabelValues(typ, service, name),
		handled:  byCode{vec: v.handled, typ: typ, service: service, method: name},
	}
	if v.seconds != nil {
		c.seconds = v.seconds.WithLabelValues(typ, service, name)
	}
	actual, _ := v.children.LoadOrStore(fullMethod, c)
	return actual.(*rpcChildren)
}

// finish counts a finished call: grpc_*_handled_total with its code, the
// handling time, and the application error if err carries one.
func (c *rpcChildren) finish(err error, start time.Time) {
	code := rpc.Code(err)
	if c.vecs.countFinished {
		c.finished.Add(1)
	}
	c.handled.get(code).Inc()
	if c.seconds != nil {
		c.seconds.Observe(time.Since(start).Seconds())
	}
	if err != nil {
		if ae, ok := errdetails.FromError(err); ok {
			app := ae.Code
			if !wire.KnownCode(c.vecs.registry, app) {
				app = "OTHER"
			}
			c.vecs.appErrors.WithLabelValues(c.service, c.method, code.String(), app).Inc()
		}
	}
}

// byCode is a counter vector's children for one method, one per code,
// resolved on first use.
type byCode struct {
	vec                  *prometheus.CounterVec
	typ, service, method string
	kids                 [codes.Unauthenticated + 1]atomic.Pointer[prometheus.Counter]
}

func (b *byCode) get(code codes.Code) prometheus.Counter {
	if int(code) >= len(b.kids) {
		return b.vec.WithLabelValues(b.typ, b.service, b.method, code.String())
	}
	if p := b.kids[code].Load(); p != nil {
		return *p
	}
	ctr := b.vec.WithLabelValues(b.typ, b.service, b.method, code.String())
	b.kids[code].Store(&ctr)
	return ctr
}

func (m *Metrics) unaryServer() grpc.UnaryServerInterceptor {
	v := m.server
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := callclock.Start(ctx)
		c := v.forMethod(info.FullMethod, rpc.Type(false, false))
		c.started.Inc()
		c.received.Inc()
		resp, err := handler(ctx, req)
		if err == nil {
			c.sent.Inc()
		}
		c.finish(err, start)
		return resp, err
	}
}

func (m *Metrics) streamServer() grpc.StreamServerInterceptor {
	v := m.server
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := callclock.Start(ss.Context())
		// Methods the server has not registered (grpc.UnknownServiceHandler)
		// share the labels grpc_service="other", grpc_method="other": their
		// names are the caller's to choose.
		c := v.forMethod(unregistered.Method(srv, info), rpc.Type(info.IsClientStream, info.IsServerStream))
		c.started.Inc()
		err := handler(srv, &serverStream{ServerStream: ss, c: c})
		c.finish(err, start)
		return err
	}
}

type serverStream struct {
	grpc.ServerStream
	c *rpcChildren
}

func (s *serverStream) SendMsg(m any) error {
	err := s.ServerStream.SendMsg(m)
	if err == nil {
		s.c.sent.Inc()
	}
	return err
}

func (s *serverStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil {
		s.c.received.Inc()
	}
	return err
}

func (m *Metrics) unaryClient() grpc.UnaryClientInterceptor {
	v := m.client
	return func(ctx context.Context, fullMethod string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		start := callclock.StartOf(opts)
		c := v.forMethod(fullMethod, rpc.Type(false, false))
		c.started.Inc()
		c.sent.Inc()
		err := invoker(ctx, fullMethod, req, reply, cc, opts...)
		if err == nil {
			c.received.Inc()
		}
		c.finish(err, start)
		return err
	}
}

func (m *Metrics) streamClient() grpc.StreamClientInterceptor {
	v := m.client
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, fullMethod string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		start := callclock.StartOf(opts)
		c := v.forMethod(fullMethod, rpc.Type(desc.ClientStreams, desc.ServerStreams))
		c.started.Inc()
		cs, err := streamer(ctx, desc, cc, fullMethod, opts...)
		if err != nil {
			c.finish(err, start)
			return nil, err
		}
		return rpc.WrapClient(cs, desc.ServerStreams, rpc.ClientHooks{
			Sent:     c.sent.Inc,
			Received: c.received.Inc,
			Finished: func(err error) { c.finish(err, start) },
		}), nil
	}
}
