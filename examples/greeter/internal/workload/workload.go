package workload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"google.golang.org/grpc/metadata"

	greeterv1 "github.com/bulwarkrpc/bulwark/examples/greeter/gen/greeter/v1"
	"github.com/bulwarkrpc/bulwark/examples/greeter/greeter"
)

// The methods a workload can call.
const (
	// Unary calls SayHello.
	Unary = "unary"
	// Stream calls SayHelloStream and reads every message.
	Stream = "stream"
	// Bidi calls Chat, sending Count greetings one at a time and reading each
	// reply.
	Bidi = "bidi"
)

// MaxCalls bounds Config.Calls, so that every run ends.
const MaxCalls = 1_000_000

// MaxRate bounds Config.Rate.
const MaxRate = 100_000

// Config is one workload: Calls calls of one method, Concurrency at a time
// (a closed loop: each caller starts its next call when the last one
// ends), or started at a fixed Rate (an open loop: calls arrive on
// schedule, whether or not the earlier ones have ended).
type Config struct {
	// Calls is how many calls to make. At least 1, at most MaxCalls.
	Calls int
	// Concurrency is how many calls run at once. At least 1. With Rate, it
	// bounds the calls in flight: when that many are running, the next
	// call starts late, when one ends.
	Concurrency int
	// Rate, when positive, starts the calls at this many per second, on a
	// fixed schedule (call i at i/Rate seconds), so that slow or failing
	// calls do not slow the arrivals down as they do in a closed loop. At
	// most MaxRate. Zero: a closed loop.
	Rate float64
	// Deadline is each call's deadline. Zero: none.
	Deadline time.Duration
	// Method is Unary, Stream or Bidi. Empty means Unary.
	Method string
	// Name is who to greet.
	Name string
	// Count is the greetings each Stream or Bidi call asks for. Zero means
	// 3.
	Count int
	// Fault is sent as the greeter-fault metadata when not empty.
	Fault string
}

// Validate reports the first field of c that is out of range.
func (c Config) Validate() error {
	switch {
	case c.Calls < 1 || c.Calls > MaxCalls:
		return fmt.Errorf("workload: %d calls: must be from 1 to %d", c.Calls, MaxCalls)
	case c.Concurrency < 1:
		return fmt.Errorf("workload: concurrency %d: must be at least 1", c.Concurrency)
	case c.Deadline < 0:
		return fmt.Errorf("workload: deadline %v: must not be negative", c.Deadline)
	case math.IsNaN(c.Rate) || c.Rate < 0 || c.Rate > MaxRate:
		return fmt.Errorf("workload: rate %v: must be from 0 to %d calls per second", c.Rate, MaxRate)
	case c.Count < 0 || c.Count > greeter.MaxCount:
		return fmt.Errorf("workload: count %d: must be from 0 to %d", c.Count, greeter.MaxCount)
	}
	switch c.Method {
	case "", Unary, Stream, Bidi:
	default:
		return fmt.Errorf("workload: method %q: must be %s, %s or %s", c.Method, Unary, Stream, Bidi)
	}
	return nil
}

// Result is the outcome of one call.
type Result struct {
	// Err is the error the call ended with, as the client's interceptors
	// returned it; nil on success.
	Err error
	// Latency is how long the call took, all its messages included.
	Latency time.Duration
	// Replies holds the messages received.
	Replies []string
}

// Run makes the calls of cfg on client and returns their results in the
// order the calls were started. It stops starting calls when ctx ends.
func Run(ctx context.Context, client greeterv1.GreeterClient, cfg Config) ([]Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Count == 0 {
		cfg.Count = 3
	}
	if cfg.Fault != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, greeter.FaultKey, cfg.Fault)
	}
	if cfg.Rate > 0 {
		return openLoop(ctx, client, cfg)
	}
	results := make([]Result, cfg.Calls)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(cfg.Concurrency, cfg.Calls) {
		wg.Go(func() {
			for i := range next {
				results[i] = call(ctx, client, cfg)
			}
		})
	}
	started := 0
feed:
	for ; started < cfg.Calls; started++ {
		select {
		case next <- started:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return results[:started], ctx.Err()
}

// openLoop starts call i at i/cfg.Rate seconds from now, with at most
// cfg.Concurrency in flight.
func openLoop(ctx context.Context, client greeterv1.GreeterClient, cfg Config) ([]Result, error) {
	results := make([]Result, cfg.Calls)
	slots := make(chan struct{}, cfg.Concurrency)
	var wg sync.WaitGroup
	begin := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	started := 0
feed:
	for ; started < cfg.Calls; started++ {
		at := begin.Add(time.Duration(float64(started) / cfg.Rate * float64(time.Second)))
		if wait := time.Until(at); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				break feed
			}
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			break feed
		}
		i := started
		wg.Go(func() {
			defer func() { <-slots }()
			results[i] = call(ctx, client, cfg)
		})
	}
	wg.Wait()
	return results[:started], ctx.Err()
}

// call makes one call of cfg.Method.
func call(ctx context.Context, client greeterv1.GreeterClient, cfg Config) Result {
	begin := time.Now()
	if cfg.Deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Deadline)
		defer cancel()
	}
	var r Result
	switch cfg.Method {
	case Stream:
		r.Replies, r.Err = serverStream(ctx, client, cfg)
	case Bidi:
		r.Replies, r.Err = bidi(ctx, client, cfg)
	default:
		reply, err := client.SayHello(ctx, &greeterv1.HelloRequest{Name: cfg.Name})
		if err == nil {
			r.Replies = []string{reply.GetMessage()}
		}
		r.Err = err
	}
	r.Latency = time.Since(begin)
	return r
}

func serverStream(ctx context.Context, client greeterv1.GreeterClient, cfg Config) ([]string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream if we stop reading early
	stream, err := client.SayHelloStream(ctx, &greeterv1.HelloStreamRequest{Name: cfg.Name, Count: int32(cfg.Count)})
	if err != nil {
		return nil, err
	}
	var replies []string
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return replies, nil
		}
		if err != nil {
			return replies, err
		}
		replies = append(replies, m.GetMessage())
	}
}

func bidi(ctx context.Context, client greeterv1.GreeterClient, cfg Config) ([]string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.Chat(ctx)
	if err != nil {
		return nil, err
	}
	base := cfg.Name
	if base == "" {
		base = "world"
	}
	var replies []string
	for i := range cfg.Count {
		name := fmt.Sprintf("%s #%d", base, i+1)
		if err := stream.Send(&greeterv1.HelloRequest{Name: name}); err != nil {
			break // the server ended the stream: Recv says how
		}
		m, err := stream.Recv()
		if err != nil {
			return replies, err
		}
		replies = append(replies, m.GetMessage())
	}
	if err := stream.CloseSend(); err != nil {
		return replies, err
	}
	for {
		_, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return replies, nil
		}
		if err != nil {
			return replies, err
		}
	}
}
