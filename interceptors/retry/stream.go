package retry

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/internal/attempt"
	"github.com/bulwarkrpc/bulwark/internal/endpoint"
)

// StreamClientInterceptor returns the client-side stream interceptor, for
// server-streaming, client-streaming and bidirectional calls. A stream is
// retried only before it commits (gRFC A6): until a response header or
// message arrives, the messages it sends are kept (up to WithBufferLimit)
// and replayed on each new attempt. Once committed, its errors pass
// through; so the caller sees every response message exactly once.
// Failures to open the stream are retried like unary failures.
func (r *Retrier) StreamClientInterceptor() grpc.StreamClientInterceptor {
	return r.stream
}

func (r *Retrier) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if endpoint.Active() {
		ctx, _ = endpoint.WithSlot(ctx) // see UnaryClientInterceptor
	}
	cfg := r.cfg.Load()
	p, opts, err := cfg.resolve(method, opts)
	if err != nil {
		return nil, &callOptionError{err: err}
	}
	if p.maxAttempts <= 1 {
		return streamer(ctx, desc, cc, method, opts...)
	}
	t := r.target(cc)
	t.call()
	s := &clientStream{ctx: ctx, desc: desc, cc: cc, method: method, streamer: streamer, opts: opts, p: *p, t: t}
	s.c = call{r: r, cfg: cfg, method: method, cc: cc, t: t, p: &s.p}
	a, err := s.open(1)
	for n := 1; err != nil; {
		delay, stop := s.c.next(ctx, n, result{err: err, pushback: noPushback})
		if stop != nil {
			return nil, stop
		}
		if stop := s.c.wait(ctx, n, delay); stop != nil {
			return nil, stop
		}
		n++
		s.c.setLaterID(ctx, err)
		a, err = s.open(n)
	}
	s.cur = a
	return s, nil
}

// streamAttempt is one attempt of a stream.
type streamAttempt struct {
	n      int
	cs     grpc.ClientStream
	cancel context.CancelFunc

	// Guarded by the stream's mu.
	sendBroken bool          // a SendMsg returned io.EOF: the attempt has ended
	receiving  bool          // a goroutine is in cs.RecvMsg
	resolving  bool          // a goroutine is deciding what follows its failure
	resolved   chan struct{} // closed once that is decided, or the stream ended
	closed     bool          // resolved is closed
}

// clientStream is a stream that can move to a new attempt until it
// commits.
type clientStream struct {
	ctx      context.Context
	desc     *grpc.StreamDesc
	cc       *grpc.ClientConn
	method   string
	streamer grpc.Streamer
	opts     []grpc.CallOption
	p        policy
	t        *target
	c        call // used only by the goroutine resolving a failure

	// sendMu serialises the senders (SendMsg, CloseSend) with the replay
	// of the buffer on a new attempt.
	sendMu sync.Mutex

	mu         sync.Mutex
	cur        *streamAttempt
	committed  bool
	settled    atomic.Pointer[streamAttempt] // s.cur, once committed: read without mu
	buf        []kept                        // the messages sent, until commit
	bufBytes   int                           // their wire bytes; also held in t.buffered, until dropBufferLocked
	stopDrop   func() bool                   // stops the drop of the buffer when ctx ends; nil until a message is kept
	closedSend bool
	final      error // set when the stream has ended: io.EOF or its error
}

// open starts attempt n; after the first, s.c.setLaterID must have run.
func (s *clientStream) open(n int) (*streamAttempt, error) {
	actx := s.ctx
	if n > 1 {
		actx = laterAttempt(s.ctx, n, s.c.laterID)
	}
	actx, cancel := context.WithCancel(actx)
	cs, err := s.streamer(actx, s.desc, s.cc, s.method, s.opts...)
	if err != nil {
		cancel()
		return nil, err
	}
	return &streamAttempt{n: n, cs: cs, cancel: cancel, resolved: make(chan struct{})}, nil
}

// current returns the attempt in use.
func (s *clientStream) current() *streamAttempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// Context returns the context of the current attempt.
func (s *clientStream) Context() context.Context { return s.current().cs.Context() }

// Trailer returns the trailer of the current attempt; after RecvMsg has
// returned an error, that is the last attempt.
func (s *clientStream) Trailer() metadata.MD { return s.current().cs.Trailer() }

// SendMsg sends m on the current attempt and, until the stream commits,
// keeps its encoding to replay on a new attempt (see kept). A message that
// would take the buffer past its limit, or that is not a proto.Message,
// commits the stream. While the current attempt has ended and a retry may follow, the
// message is only kept, and SendMsg returns nil (gRPC allows SendMsg to
// succeed for a message that is never delivered; RecvMsg reports how the
// stream ended).
func (s *clientStream) SendMsg(m any) error {
	if a := s.settled.Load(); a != nil {
		return a.cs.SendMsg(m) // committed: nothing is kept or replayed
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	a := s.cur
	if s.committed {
		s.mu.Unlock()
		return a.cs.SendMsg(m)
	}
	if !s.keepLocked(a, m) {
		broken := a.sendBroken || a.resolving
		s.commitLocked()
		s.mu.Unlock()
		if s.c.cfg.opts.observer.OnCommit != nil {
			s.c.cfg.opts.observer.OnCommit(s.ctx, CommitEvent{Method: s.method, Target: s.t.name, Attempt: a.n, Reason: commitBuffer})
		}
		if broken {
			return io.EOF // RecvMsg returns the attempt's status
		}
		return a.cs.SendMsg(m)
	}
	broken := a.sendBroken || a.resolving
	s.mu.Unlock()
	if broken {
		return nil
	}
	err := a.cs.SendMsg(m)
	if err == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.committed && (err == io.EOF || s.cur != a || a.resolving) {
		// The attempt ended (or is being replaced): the message is kept
		// for the next one, and RecvMsg will say whether there is one.
		a.sendBroken = true
		return nil
	}
	return err
}

// keepLocked keeps m, about to be sent on attempt a, to replay on a new
// attempt. It reports false, keeping nothing, when m is not a
// proto.Message, cannot be encoded, or would take the stream's buffer or
// the target's past its limit.
func (s *clientStream) keepLocked(a *streamAttempt, m any) bool {
	pm, ok := m.(proto.Message)
	if !ok {
		return false
	}
	size := proto.Size(pm)
	if s.bufBytes+size > s.p.bufferLimit || !s.t.reserveBuffer(int64(size), s.c.cfg.opts.targetBufferLimit) {
		return false
	}
	k, ok := keep(a.cs, pm)
	if !ok {
		s.t.buffered.Add(-int64(size))
		return false
	}
	s.buf = append(s.buf, k)
	s.bufBytes += size
	if s.stopDrop == nil {
		// A caller may walk away from a stream by ending its context,
		// without reading it to the end: give the target's buffer back
		// then too.
		s.stopDrop = context.AfterFunc(s.ctx, s.dropBuffer)
	}
	return true
}

// CloseSend closes the sending side of the current attempt, and of every
// attempt after it.
func (s *clientStream) CloseSend() error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	s.closedSend = true
	a := s.cur
	broken := !s.committed && (a.sendBroken || a.resolving)
	s.mu.Unlock()
	if broken {
		return nil
	}
	return a.cs.CloseSend()
}

// Header returns the response header of the stream. Headers commit the
// stream. When an attempt ends without headers (a trailers-only response),
// Header learns how it ended and, if it is retried, returns the header of
// the next attempt.
func (s *clientStream) Header() (metadata.MD, error) {
	for {
		a := s.current()
		md, err := a.cs.Header()
		if err != nil || md != nil {
			if md != nil {
				s.commit(a, commitHeader)
			}
			return md, err
		}
		// The attempt ended without headers, so no message will follow:
		// its status is what RecvMsg returns at once.
		s.mu.Lock()
		switch {
		case s.final != nil || s.committed:
			s.mu.Unlock()
			return nil, nil
		case s.cur != a:
			s.mu.Unlock()
			continue
		case a.receiving || a.resolving:
			ch := a.resolved
			s.mu.Unlock()
			<-ch
			continue
		}
		a.receiving = true
		s.mu.Unlock()
		rerr := a.cs.RecvMsg(new(emptypb.Empty))
		s.mu.Lock()
		a.receiving = false
		s.mu.Unlock()
		switch {
		case rerr == nil:
			// Not possible after a response without headers; keep the
			// stream as it is.
			s.commit(a, commitMessage)
			return nil, nil
		case rerr == io.EOF:
			s.end(a, io.EOF)
			return nil, nil
		}
		if !s.fail(a, rerr) {
			return nil, nil
		}
	}
}

// RecvMsg receives a message from the current attempt. The first message
// commits the stream. When the attempt fails before the stream committed,
// RecvMsg retries it if the Retrier allows, and receives from the new
// attempt; otherwise it returns the error.
func (s *clientStream) RecvMsg(m any) error {
	if a := s.settled.Load(); a != nil && s.desc.ServerStreams {
		// Committed: this attempt is the stream's last, and no other
		// goroutine replaces it; receive without taking the lock.
		err := a.cs.RecvMsg(m)
		if err == nil {
			return nil
		}
		if err, again := s.recvFailed(a, err); !again {
			return err
		}
	}
	for {
		s.mu.Lock()
		if s.final != nil {
			err := s.final
			s.mu.Unlock()
			return err
		}
		a := s.cur
		if a.receiving || a.resolving {
			ch := a.resolved
			s.mu.Unlock()
			<-ch
			continue
		}
		a.receiving = true
		s.mu.Unlock()

		err := a.cs.RecvMsg(m)

		s.mu.Lock()
		a.receiving = false
		s.mu.Unlock()
		if err == nil {
			s.commit(a, commitMessage)
			if !s.desc.ServerStreams {
				s.end(a, io.EOF) // the one response has arrived
			}
			return nil
		}
		if err, again := s.recvFailed(a, err); !again {
			return err
		}
	}
}

// recvFailed handles the error RecvMsg got from attempt a: the stream's
// end (io.EOF), or a failure that is retried (again is true: receive from
// the new attempt) or ends the stream with its final error.
func (s *clientStream) recvFailed(a *streamAttempt, err error) (final error, again bool) {
	if err == io.EOF {
		s.end(a, io.EOF)
		return io.EOF, false
	}
	if s.fail(a, err) {
		return nil, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.final, false
}

func (s *clientStream) isCommitted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.committed
}

// commit commits the stream on attempt a, unless it already has.
func (s *clientStream) commit(a *streamAttempt, reason string) {
	s.mu.Lock()
	if s.committed || s.cur != a {
		s.mu.Unlock()
		return
	}
	s.commitLocked()
	s.mu.Unlock()
	if s.c.cfg.opts.observer.OnCommit != nil {
		s.c.cfg.opts.observer.OnCommit(s.ctx, CommitEvent{Method: s.method, Target: s.t.name, Attempt: a.n, Reason: reason})
	}
}

func (s *clientStream) commitLocked() {
	s.committed = true
	s.settled.Store(s.cur)
	s.dropBufferLocked()
}

// dropBufferLocked lets go of the kept messages and gives their bytes back
// to the target. It is called when the stream commits or ends, or its
// context ends; the first time empties the buffer, so that later calls do
// nothing.
func (s *clientStream) dropBufferLocked() {
	if s.bufBytes > 0 {
		s.t.buffered.Add(-int64(s.bufBytes))
	}
	s.buf, s.bufBytes = nil, 0
	if s.stopDrop != nil {
		s.stopDrop()
	}
}

// finalLocked ends the stream with err (io.EOF for success). With no
// attempt to come, it is committed: later messages are sent as they are,
// not kept.
func (s *clientStream) finalLocked(err error) {
	s.final = err
	s.commitLocked()
}

// dropBuffer is dropBufferLocked for the stream's context ending: the
// stream can make no more attempts, so it is committed too.
func (s *clientStream) dropBuffer() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commitLocked()
}

// end ends the stream on attempt a with err (io.EOF for success).
func (s *clientStream) end(a *streamAttempt, err error) {
	s.mu.Lock()
	first := s.final == nil
	if first {
		s.finalLocked(err)
	}
	s.closeResolvedLocked(a)
	s.mu.Unlock()
	a.cancel()
	if !first {
		return
	}
	if err == io.EOF {
		s.t.succeeded()
		if a.n > 1 {
			s.c.finish(s.ctx, a.n, nil, stopSucceeded)
		}
	}
}

func (s *clientStream) closeResolvedLocked(a *streamAttempt) {
	if !a.closed {
		a.closed = true
		close(a.resolved)
	}
}

// fail handles the failure of attempt a with err: it retries the stream if
// it has not committed and the Retrier allows, or ends it. It reports
// whether there is a new attempt to use. Only one goroutine resolves a
// failure; others wait for it.
func (s *clientStream) fail(a *streamAttempt, err error) bool {
	s.mu.Lock()
	switch {
	case s.final != nil:
		s.mu.Unlock()
		return false
	case s.cur != a:
		s.mu.Unlock()
		return true
	case a.resolving:
		ch := a.resolved
		s.mu.Unlock()
		<-ch
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.final == nil
	}
	a.resolving = true
	committed := s.committed
	s.mu.Unlock()

	pushback := pushbackOf(a.cs.Trailer())
	s.c.sawPushback(pushback)
	if !committed {
		// gRFC A6: a stream that received response headers has committed,
		// even if the caller never asked for them.
		if md, _ := a.cs.Header(); md != nil {
			committed = true
			s.commit(a, commitHeader)
		}
	}
	var next *streamAttempt
	final := err
	if committed {
		o := s.c.cfg.opts.classifier(s.ctx, outcome.Attempt{Err: err, Pushback: pushback, HasPushback: pushback != noPushback})
		if _, _, stop, _ := serverDelay(err, pushback); attempt.Retryable(o) || stop {
			s.t.failed()
		}
		s.c.finish(s.ctx, a.n, err, stopCommitted)
	} else {
		next, final = s.retry(a, err, pushback)
	}

	s.mu.Lock()
	if next == nil && s.final == nil {
		s.finalLocked(final)
	}
	a.resolving = false
	s.closeResolvedLocked(a)
	s.mu.Unlock()
	a.cancel()
	return next != nil
}

// retry makes new attempts after a, which failed with err, until one opens
// or the Retrier stops. It returns the new attempt, already current with
// the buffer replayed on it, or the error that ends the stream.
func (s *clientStream) retry(a *streamAttempt, err error, pushback time.Duration) (*streamAttempt, error) {
	for n := a.n; ; {
		delay, stop := s.c.next(s.ctx, n, result{err: err, pushback: pushback})
		if stop != nil {
			return nil, stop
		}
		if stop := s.c.wait(s.ctx, n, delay); stop != nil {
			return nil, stop
		}
		if s.isCommitted() {
			// The buffer overflowed while we waited: no more attempts.
			return nil, s.c.finish(s.ctx, n, err, stopCommitted)
		}
		n++
		s.c.setLaterID(s.ctx, err)
		next, oerr := s.open(n)
		if oerr != nil {
			err, pushback = oerr, noPushback
			continue
		}
		s.sendMu.Lock()
		s.mu.Lock()
		if s.committed { // it overflowed while the attempt opened
			s.mu.Unlock()
			s.sendMu.Unlock()
			next.cancel()
			return nil, s.c.finish(s.ctx, n, err, stopCommitted)
		}
		msgs, closed := s.buf, s.closedSend
		s.mu.Unlock()
		rerr := replay(next.cs, msgs, closed)
		s.mu.Lock()
		if rerr == io.EOF {
			next.sendBroken = true // it ended already; RecvMsg learns how
		}
		if rerr == nil || rerr == io.EOF {
			s.cur = next
		}
		s.mu.Unlock()
		s.sendMu.Unlock()
		if rerr != nil && rerr != io.EOF {
			next.cancel()
			return nil, s.c.finish(s.ctx, n, rerr, stopNotRetryable)
		}
		return next, nil
	}
}

// replay sends msgs on cs, and closes its sending side if closed.
func replay(cs grpc.ClientStream, msgs []kept, closed bool) error {
	for _, k := range msgs {
		m, err := k.message()
		if err != nil {
			return err
		}
		if err := cs.SendMsg(m); err != nil {
			return err
		}
	}
	if closed {
		return cs.CloseSend()
	}
	return nil
}

// kept is a sent message held for replay, as the bytes that go on the
// wire, so that the buffer holds what it counts: gRPC's encoding of it (a
// grpc.PreparedMsg, made once and sent as it is on every new attempt), or,
// on a stream that cannot prepare messages (one that grpc-go did not make,
// such as a test's fake), its protobuf encoding and type, decoded again
// into a new message for each replay.
type kept struct {
	prepared *grpc.PreparedMsg
	wire     []byte
	typ      protoreflect.MessageType
}

// keep encodes m, sent on cs, for replay. It reports false when m cannot
// be encoded.
func keep(cs grpc.ClientStream, m proto.Message) (kept, bool) {
	p := new(grpc.PreparedMsg)
	if p.Encode(cs, m) == nil {
		return kept{prepared: p}, true
	}
	wire, err := proto.Marshal(m)
	if err != nil {
		return kept{}, false
	}
	return kept{wire: wire, typ: m.ProtoReflect().Type()}, true
}

// message returns what to send to replay k.
func (k kept) message() (any, error) {
	if k.prepared != nil {
		return k.prepared, nil
	}
	m := k.typ.New().Interface()
	return m, proto.Unmarshal(k.wire, m)
}
