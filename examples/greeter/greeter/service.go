package greeter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/bulwarkrpc/bulwark/errdetails"
	greeterv1 "github.com/bulwarkrpc/bulwark/examples/greeter/gen/greeter/v1"
)

// MaxNameLength is the longest name a request may carry; a longer one is
// refused with a VALIDATION_ERROR on the field "name".
const MaxNameLength = 100

// MaxCount is the most greetings SayHelloStream sends for one request.
const MaxCount = 1000

// Service implements greeter.v1.Greeter with fault injection (see Config
// and Fault). It is safe for concurrent use, and its Config may be replaced
// while it serves.
type Service struct {
	greeterv1.UnimplementedGreeterServer

	cfg      atomic.Pointer[Config]
	slots    slots
	requests atomic.Int64
	slowSeq  atomic.Uint64 // calls that asked slowDelay since the last SetConfig

	mu  sync.Mutex // guards rnd
	rnd *rand.Rand
}

// An Option configures a Service.
type Option interface {
	apply(*Service)
}

type optionFunc func(*Service)

func (f optionFunc) apply(s *Service) { f(s) }

// WithRand sets the source of the random failures (Config.FailRate), for
// deterministic tests. The Service locks around its use. nil keeps the
// default: a generator seeded at random.
func WithRand(r *rand.Rand) Option {
	return optionFunc(func(s *Service) {
		if r != nil {
			s.rnd = r
		}
	})
}

// WithSeed is WithRand with a PCG generator seeded with seed.
func WithSeed(seed uint64) Option {
	return WithRand(rand.New(rand.NewPCG(seed, seed)))
}

// New returns a Service that injects the faults cfg describes. It refuses a
// cfg that Validate refuses.
func New(cfg Config, opts ...Option) (*Service, error) {
	s := &Service{rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	for _, o := range opts {
		o.apply(s)
	}
	if err := s.SetConfig(cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// Config returns the fault injection in force.
func (s *Service) Config() Config { return *s.cfg.Load() }

// SetConfig replaces the fault injection. Calls already running keep the
// Config they started with, except that a new Capacity applies at once to
// calls waiting for a slot. It refuses a cfg that Validate refuses and then
// changes nothing.
func (s *Service) SetConfig(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	s.cfg.Store(&cfg)
	s.slowSeq.Store(0)
	s.slots.setCapacity(cfg.Capacity)
	return nil
}

// Update applies change to a copy of the Config in force and installs the
// result; see SetConfig. Concurrent Updates may overwrite each other's
// changes: the last one wins.
func (s *Service) Update(change func(*Config)) error {
	cfg := s.Config()
	change(&cfg)
	return s.SetConfig(cfg)
}

// Stats is what a Service has seen.
type Stats struct {
	// Requests counts the calls that reached the service (every attempt of
	// a retried call counts).
	Requests int64 `json:"requests"`
	// InFlight counts the calls holding a slot (see Config.Capacity).
	InFlight int `json:"in_flight"`
	// Waiting counts the calls waiting for a slot.
	Waiting int `json:"waiting"`
}

// Stats returns what s has seen so far.
func (s *Service) Stats() Stats {
	inUse, waiting := s.slots.stats()
	return Stats{Requests: s.requests.Load(), InFlight: inUse, Waiting: waiting}
}

// SayHello answers one greeting, after the faults in force.
func (s *Service) SayHello(ctx context.Context, req *greeterv1.HelloRequest) (*greeterv1.HelloReply, error) {
	cfg, f, err := s.start(ctx)
	if err != nil {
		return nil, err
	}
	release, err := s.work(ctx, cfg, f)
	if err != nil {
		return nil, err
	}
	defer release()
	if err := s.randomFailure(cfg); err != nil {
		return nil, err
	}
	if f.Fails() {
		return nil, injected(f)
	}
	if err := validateName(req.GetName()); err != nil {
		return nil, err
	}
	return &greeterv1.HelloReply{Message: greeting(req.GetName())}, nil
}

// SayHelloStream sends count greetings (1 when count is 0 or less), after
// the faults in force; the after= fault fails it after that many messages.
func (s *Service) SayHelloStream(req *greeterv1.HelloStreamRequest, stream grpc.ServerStreamingServer[greeterv1.HelloReply]) error {
	ctx := stream.Context()
	cfg, f, err := s.start(ctx)
	if err != nil {
		return err
	}
	release, err := s.work(ctx, cfg, f)
	if err != nil {
		return err
	}
	defer release()
	if err := s.randomFailure(cfg); err != nil {
		return err
	}
	if err := validateName(req.GetName()); err != nil {
		return err
	}
	count := int(req.GetCount())
	switch {
	case count > MaxCount:
		return errdetails.Validation("count", fmt.Sprintf("must be at most %d", MaxCount))
	case count <= 0:
		count = 1
	}
	for i := 0; ; i++ {
		if f.Fails() && (i == f.After || i == count) {
			return injected(f)
		}
		if i == count {
			return nil
		}
		msg := fmt.Sprintf("%s (%d/%d)", greeting(req.GetName()), i+1, count)
		if err := stream.Send(&greeterv1.HelloReply{Message: msg}); err != nil {
			return err
		}
	}
}

// Chat answers each greeting of the stream, after the faults in force; the
// after= fault fails it after that many replies.
func (s *Service) Chat(stream grpc.BidiStreamingServer[greeterv1.HelloRequest, greeterv1.HelloReply]) error {
	ctx := stream.Context()
	cfg, f, err := s.start(ctx)
	if err != nil {
		return err
	}
	release, err := s.work(ctx, cfg, f)
	if err != nil {
		return err
	}
	defer release()
	if err := s.randomFailure(cfg); err != nil {
		return err
	}
	for i := 0; ; i++ {
		if f.Fails() && i == f.After {
			return injected(f)
		}
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			if f.Fails() {
				return injected(f)
			}
			return nil
		}
		if err != nil {
			return err
		}
		if err := validateName(req.GetName()); err != nil {
			return err
		}
		if err := stream.Send(&greeterv1.HelloReply{Message: greeting(req.GetName())}); err != nil {
			return err
		}
	}
}

// start counts the call and reads its Config and, with chaos on, its
// Fault.
func (s *Service) start(ctx context.Context) (Config, Fault, error) {
	s.requests.Add(1)
	cfg := s.Config()
	if !cfg.Chaos {
		return cfg, Fault{}, nil
	}
	f, err := parseFault(metadata.ValueFromIncomingContext(ctx, FaultKey))
	if err != nil {
		return cfg, Fault{}, errdetails.Validation(FaultKey, err.Error())
	}
	return cfg, f, nil
}

// work takes a slot and waits out the latency, a slow call's extra latency
// and the fault's delay, all honouring ctx. On success the caller must call release.
func (s *Service) work(ctx context.Context, cfg Config, f Fault) (release func(), err error) {
	if err := s.slots.acquire(ctx); err != nil {
		return nil, err
	}
	if err := wait(ctx, cfg.Latency+s.slowDelay(cfg)+f.Delay); err != nil {
		s.slots.release()
		return nil, err
	}
	return s.slots.release, nil
}

// slowDelay returns Config.SlowLatency for the share Config.SlowRate of
// calls, spread evenly: call n (from 1, since the last SetConfig) is slow
// when it takes floor(n×SlowRate) past floor((n−1)×SlowRate).
func (s *Service) slowDelay(cfg Config) time.Duration {
	if cfg.SlowRate <= 0 || cfg.SlowLatency <= 0 {
		return 0
	}
	n := float64(s.slowSeq.Add(1))
	if math.Floor(n*cfg.SlowRate) == math.Floor((n-1)*cfg.SlowRate) {
		return 0
	}
	return cfg.SlowLatency
}

// randomFailure returns the failure Config.FailRate injects, or nil.
func (s *Service) randomFailure(cfg Config) error {
	if cfg.FailRate <= 0 {
		return nil
	}
	s.mu.Lock()
	r := s.rnd.Float64()
	s.mu.Unlock()
	if r >= cfg.FailRate {
		return nil
	}
	return ErrorFor(cfg.failCode(), cfg.RetryAfter)
}

// injected returns the failure f asks for, or panics if it asks for one.
func injected(f Fault) error {
	switch {
	case f.Panic:
		panic(panicText)
	case f.PlainError:
		return plainError()
	case f.Error != "":
		return ErrorFor(f.Error, f.RetryAfter)
	}
	return nil
}

// wait waits for d or until ctx ends.
func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func validateName(name string) error {
	if len(name) > MaxNameLength {
		return errdetails.Validation("name", fmt.Sprintf("must be at most %d bytes", MaxNameLength))
	}
	return nil
}

func greeting(name string) string {
	if name == "" {
		name = "world"
	}
	return "Hello, " + name + "!"
}
