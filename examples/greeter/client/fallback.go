package main

import (
	"context"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	greeterv1 "github.com/bulwarkrpc/bulwark/examples/greeter/gen/greeter/v1"
)

// maxCachedNames bounds the -fallback cache: replies for names beyond it
// are not kept.
const maxCachedNames = 1024

// replyCache is the client's -fallback: it keeps the last SayHello reply
// the server sent for each name, and answers a SayHello call that the
// circuit breaker refuses with it (circuit.WithFallback). A call for a name
// never answered before still fails with the breaker's error. Served
// counts the calls it answered, so that the summary can tell cached
// answers from live ones. It is safe for concurrent use.
type replyCache struct {
	mu      sync.RWMutex
	replies map[string]*greeterv1.HelloReply
	served  atomic.Int64
}

func newReplyCache() *replyCache {
	return &replyCache{replies: make(map[string]*greeterv1.HelloReply)}
}

// UnaryClientInterceptor keeps every successful SayHello reply. Installed
// inside the circuit breaker, it sees only the replies that came from the
// server, never the fallback's own answers.
func (c *replyCache) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if name, out, ok := sayHello(method, req, reply); ok && err == nil {
			c.store(name, out)
		}
		return err
	}
}

// sayHello returns the name asked for and the reply of a SayHello call, and
// false for any other call.
func sayHello(method string, req, reply any) (string, *greeterv1.HelloReply, bool) {
	in, ok1 := req.(*greeterv1.HelloRequest)
	out, ok2 := reply.(*greeterv1.HelloReply)
	if method != greeterv1.Greeter_SayHello_FullMethodName || !ok1 || !ok2 {
		return "", nil, false
	}
	return in.GetName(), out, true
}

func (c *replyCache) store(name string, reply *greeterv1.HelloReply) {
	kept := proto.Clone(reply).(*greeterv1.HelloReply)
	c.mu.Lock()
	if _, ok := c.replies[name]; ok || len(c.replies) < maxCachedNames {
		c.replies[name] = kept
	}
	c.mu.Unlock()
}

// Fallback is the circuit.Fallback: it copies the cached reply for the
// request's name into reply, or returns err when there is none.
func (c *replyCache) Fallback(_ context.Context, method string, req, reply any, err error) error {
	name, out, ok := sayHello(method, req, reply)
	if !ok {
		return err
	}
	c.mu.RLock()
	cached, ok := c.replies[name]
	c.mu.RUnlock()
	if !ok {
		return err
	}
	proto.Reset(out)
	proto.Merge(out, cached)
	c.served.Add(1)
	return nil
}

// Served returns how many calls the cache answered.
func (c *replyCache) Served() int64 { return c.served.Load() }
