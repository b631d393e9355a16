package retry

import (
	"context"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// fakePlan is how a fake stream attempt behaves.
type fakePlan struct {
	sendLimit int        // the attempt ends (trailers-only) at this many sends; -1: never
	messages  int        // response messages it sends, each after headers
	failAfter int        // it fails after this many messages; -1: ends OK after all
	code      codes.Code // its failure code
}

// fakeStream is a grpc.ClientStream that never blocks: it plays a plan.
type fakeStream struct {
	ctx       context.Context
	n         int
	plan      fakePlan
	sent      []string
	closed    bool
	delivered int
	ended     bool
	endErr    error // io.EOF or a status error
	headers   bool
	// checkReplay is called when the caller first receives from the
	// attempt: by then every message sent must have been replayed on it.
	checkReplay func(*fakeStream)
	checked     bool
}

func (f *fakeStream) receiving() {
	if !f.checked {
		f.checked = true
		f.checkReplay(f)
	}
}

func (f *fakeStream) end(err error) { f.ended, f.endErr = true, err }

func (f *fakeStream) fail() error { return status.Error(f.plan.code, "attempt "+strconv.Itoa(f.n)) }

func (f *fakeStream) SendMsg(m any) error {
	if f.ended {
		return io.EOF
	}
	f.sent = append(f.sent, m.(*wrapperspb.StringValue).GetValue())
	if f.plan.sendLimit >= 0 && len(f.sent) >= f.plan.sendLimit && !f.headers {
		f.end(f.fail())
		return io.EOF
	}
	return nil
}

func (f *fakeStream) CloseSend() error { f.closed = true; return nil }

func (f *fakeStream) RecvMsg(m any) error {
	f.receiving()
	if f.ended {
		return f.endErr
	}
	if f.delivered == f.plan.failAfter {
		f.end(f.fail())
		return f.endErr
	}
	if f.delivered < f.plan.messages {
		f.headers = true
		m.(*wrapperspb.StringValue).Value = strconv.Itoa(f.n) + ":" + strconv.Itoa(f.delivered)
		f.delivered++
		return nil
	}
	f.end(io.EOF)
	return io.EOF
}

func (f *fakeStream) Header() (metadata.MD, error) {
	f.receiving()
	if !f.ended && (f.plan.messages > 0 && f.plan.failAfter != 0) {
		f.headers = true
	}
	if f.headers {
		return metadata.Pairs("attempt", strconv.Itoa(f.n)), nil
	}
	if !f.ended { // a trailers-only end
		if f.plan.failAfter == 0 {
			f.end(f.fail())
		} else {
			f.end(io.EOF)
		}
	}
	return nil, nil
}

func (f *fakeStream) Trailer() metadata.MD     { return nil }
func (f *fakeStream) Context() context.Context { return f.ctx }
func (f *fakeStream) sentString() string       { return join(f.sent) }
func (f *fakeStream) String() string           { return "attempt " + strconv.Itoa(f.n) }
func join(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}

// FuzzStream drives the retrying stream over fake attempts with any plan
// and any sequence of caller operations, and checks the commit rule: the
// caller sees messages of one attempt only, each once and in order; a new
// attempt starts only while nothing has reached the caller, with every
// message sent so far replayed on it; and attempts stay within the limit.
func FuzzStream(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3}, []byte{0, 0, 1, 2, 2, 2})
	f.Add([]byte{255, 2, 1, 0, 255, 3, 255, 0}, []byte{0, 0, 0, 3, 2, 2, 2, 2})
	f.Add([]byte{1, 0, 0, 0, 2, 0, 0, 0, 255, 1, 255, 1}, []byte{0, 0, 0, 0, 1, 2, 2})
	f.Add([]byte{255, 0, 0, 1}, []byte{3, 3, 2, 0, 2})
	f.Fuzz(func(t *testing.T, plans, ops []byte) {
		const maxAttempts = 4
		r, err := New(WithBudget(math.Inf(1), 0, 0), WithBackoff(0, 1, 0), WithMaxAttempts(maxAttempts), WithBufferLimit(24))
		if err != nil {
			t.Fatal(err)
		}
		var attempts []*fakeStream
		var userSent []string
		var cs grpc.ClientStream
		checkReplay := func(f *fakeStream) {
			s := cs.(*clientStream)
			s.mu.Lock()
			committed := s.committed
			s.mu.Unlock()
			want := userSent
			if f.ended && len(f.sent) < len(want) { // it ended while the messages were replayed
				want = want[:len(f.sent)]
			}
			if !committed && f.sentString() != join(want) {
				t.Fatalf("%v got %q; the caller sent %q", f, f.sentString(), join(userSent))
			}
		}
		delivered := []string{} // what the caller received
		sawHeader := false
		streamer := func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			n := len(attempts) + 1
			if n > maxAttempts {
				t.Fatalf("attempt %d; at most %d allowed", n, maxAttempts)
			}
			if len(delivered) > 0 || sawHeader {
				t.Fatalf("attempt %d started after the caller saw a message or header", n)
			}
			p := fakePlan{sendLimit: -1, failAfter: -1, code: codes.Unavailable}
			if i := (n - 1) * 4; i+3 < len(plans) {
				if plans[i] != 255 {
					p.sendLimit = int(plans[i] % 4)
				}
				p.messages = int(plans[i+1] % 4)
				if plans[i+2] != 255 {
					p.failAfter = int(plans[i+2] % 4)
				}
				if plans[i+3]%5 == 4 {
					p.code = codes.Internal
				}
			}
			fs := &fakeStream{ctx: ctx, n: n, plan: p, checkReplay: checkReplay}
			attempts = append(attempts, fs)
			return fs, nil
		}
		desc := &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}
		cs, err = r.StreamClientInterceptor()(t.Context(), desc, nil, "/fuzz.Service/Stream", streamer, WithSafeToRetry(true))
		if err != nil {
			t.Fatal(err)
		}
		var ended error
		for i, op := range ops {
			if ended != nil {
				break
			}
			switch op % 4 {
			case 0:
				text := strconv.Itoa(i)
				if err := cs.SendMsg(wrapperspb.String(text)); err == nil || err == io.EOF {
					userSent = append(userSent, text)
				} else {
					t.Fatalf("SendMsg = %v", err)
				}
			case 1:
				_ = cs.CloseSend()
			case 2:
				var m wrapperspb.StringValue
				err := cs.RecvMsg(&m)
				if err != nil {
					ended = err
					break
				}
				delivered = append(delivered, m.GetValue())
			case 3:
				md, err := cs.Header()
				if err != nil {
					t.Fatalf("Header = %v", err)
				}
				if md != nil {
					sawHeader = true
				}
			}
		}
		// Every message from one attempt, indexes 0, 1, 2... in order.
		for i, v := range delivered {
			first := delivered[0][:len(delivered[0])-len(":0")]
			if want := first + ":" + strconv.Itoa(i); v != want {
				t.Fatalf("caller received %q; want %q at %d (one attempt, each message once)", delivered, want, i)
			}
		}
		if ended != nil && ended != io.EOF {
			if c := status.Code(ended); c != codes.Unavailable && c != codes.Internal {
				t.Fatalf("stream ended with %v", ended)
			}
		}
		// The target's replay buffer holds exactly what the stream keeps,
		// and nothing once it has ended.
		s := cs.(*clientStream)
		s.mu.Lock()
		held, committed := s.bufBytes, s.committed
		s.mu.Unlock()
		if got, _ := (targetsOf{r}).BufferedBytes(""); got != int64(held) || (ended != nil || committed) && got != 0 {
			t.Fatalf("the target holds %d bytes, the stream keeps %d (ended: %v, committed: %v)", got, held, ended, committed)
		}
	})
}

// TestStreamKeepsPreparedMessages: on a stream made by grpc-go, the replay
// buffer holds each sent message as gRPC's encoding of it (a
// grpc.PreparedMsg), not a copy of the message, counts its wire bytes, and
// the new attempt receives every message as sent.
func TestStreamKeepsPreparedMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var attempt int
		svc := &grpctest.Service{ClientStreamFunc: func(s grpc.ClientStreamingServer[testpb.ClientStreamRequest, testpb.ClientStreamResponse]) error {
			attempt++
			var texts []string
			for {
				m, err := s.Recv()
				if err == io.EOF {
					break
				}
				if err != nil {
					return err
				}
				texts = append(texts, m.GetText())
			}
			if attempt == 1 {
				return status.Error(codes.Unavailable, "down")
			}
			return s.SendAndClose(&testpb.ClientStreamResponse{Count: int32(len(texts)), Text: strings.Join(texts, ",")})
		}}
		env := grpctest.Start(t, svc, grpctest.Options{})
		r, err := New(WithBudget(math.Inf(1), 0, 0), WithSafeToRetry(true), WithBackoff(0, 1, 0))
		if err != nil {
			t.Fatal(err)
		}
		streamer := func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			return cc.NewStream(ctx, desc, method, opts...)
		}
		desc := &grpc.StreamDesc{ClientStreams: true}
		cs, err := r.StreamClientInterceptor()(t.Context(), desc, env.Conn, testpb.TestService_ClientStream_FullMethodName, streamer)
		if err != nil {
			t.Fatal(err)
		}
		texts := []string{"one", strings.Repeat("two", 100), ""}
		wire := 0
		for _, text := range texts {
			m := &testpb.ClientStreamRequest{Text: text}
			wire += proto.Size(m)
			if err := cs.SendMsg(m); err != nil {
				t.Fatal(err)
			}
		}
		s := cs.(*clientStream)
		s.mu.Lock()
		for i, k := range s.buf {
			if k.prepared == nil || k.wire != nil {
				t.Errorf("message %d is kept as %+v; want a grpc.PreparedMsg only", i, k)
			}
		}
		if len(s.buf) != len(texts) || s.bufBytes != wire {
			t.Errorf("the buffer keeps %d messages, %d bytes; want %d, %d", len(s.buf), s.bufBytes, len(texts), wire)
		}
		s.mu.Unlock()
		if err := cs.CloseSend(); err != nil {
			t.Fatal(err)
		}
		var resp testpb.ClientStreamResponse
		if err := cs.RecvMsg(&resp); err != nil {
			t.Fatal(err)
		}
		if attempt != 2 || resp.GetText() != strings.Join(texts, ",") {
			t.Errorf("attempt %d read %q; want attempt 2 to read %q", attempt, resp.GetText(), strings.Join(texts, ","))
		}
	})
}
