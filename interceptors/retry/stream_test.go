package retry_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/retrystate"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
	"github.com/bulwarkrpc/bulwark/internal/wire"
)

var errUnavailable = status.Error(codes.Unavailable, "down")

// recvAll reads a server stream to its end and returns the indexes it saw.
func recvAll(s grpc.ServerStreamingClient[testpb.ServerStreamResponse]) ([]int32, error) {
	var got []int32
	for {
		m, err := s.Recv()
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = append(got, m.GetIndex())
	}
}

func TestServerStream(t *testing.T) {
	const count = 5
	tests := []struct {
		name string
		// handler of attempt 1; later attempts send count messages
		first    func(grpc.ServerStreamingServer[testpb.ServerStreamResponse]) error
		opts     []grpc.CallOption
		want     []int32
		code     codes.Code
		attempts int
		commit   string
		reason   string
	}{
		{
			name:  "fails before the first message: retried, every message once",
			first: func(grpc.ServerStreamingServer[testpb.ServerStreamResponse]) error { return errUnavailable },
			want:  []int32{0, 1, 2, 3, 4}, code: codes.OK, attempts: 2, commit: "message", reason: "succeeded",
		},
		{
			name: "fails after the first message: not retried",
			first: func(s grpc.ServerStreamingServer[testpb.ServerStreamResponse]) error {
				if err := s.Send(&testpb.ServerStreamResponse{Index: 0}); err != nil {
					return err
				}
				return errUnavailable
			},
			want: []int32{0}, code: codes.Unavailable, attempts: 1, commit: "message", reason: "committed",
		},
		{
			name: "fails after sending headers: committed (gRFC A6)",
			first: func(s grpc.ServerStreamingServer[testpb.ServerStreamResponse]) error {
				if err := s.SendHeader(metadata.Pairs("attempt", "1")); err != nil {
					return err
				}
				return errUnavailable
			},
			want: nil, code: codes.Unavailable, attempts: 1, commit: "header", reason: "committed",
		},
		{
			name:  "not safe for this call: not retried",
			first: func(grpc.ServerStreamingServer[testpb.ServerStreamResponse]) error { return errUnavailable },
			opts:  []grpc.CallOption{retry.WithSafeToRetry(false)},
			want:  nil, code: codes.Unavailable, attempts: 1, commit: "", reason: "not_safe",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newAttempts()
				svc := &grpctest.Service{ServerStreamFunc: func(req *testpb.ServerStreamRequest, s grpc.ServerStreamingServer[testpb.ServerStreamResponse]) error {
					if rec.add(s.Context()) == 1 {
						return tc.first(s)
					}
					for i := range req.GetCount() {
						if err := s.Send(&testpb.ServerStreamResponse{Index: i}); err != nil {
							return err
						}
					}
					return nil
				}}
				obs := &events{}
				env, _ := start(t, svc, setup{retry: []retry.Option{retry.WithObserver(obs.observer())}})
				stream, err := env.Client.ServerStream(t.Context(), &testpb.ServerStreamRequest{Count: count}, tc.opts...)
				if err != nil {
					t.Fatal(err)
				}
				got, err := recvAll(stream)
				if status.Code(err) != tc.code {
					t.Errorf("stream ended with %v; want %v", err, tc.code)
				}
				if len(got) != len(tc.want) || (len(got) > 0 && !equalInt32(got, tc.want)) {
					t.Errorf("received indexes %v; want %v", got, tc.want)
				}
				if rec.count() != tc.attempts {
					t.Errorf("attempts = %d; want %d", rec.count(), tc.attempts)
				}
				_, commits, ends := obs.snapshot()
				if tc.commit != "" && (len(commits) != 1 || commits[0].Reason != tc.commit || commits[0].Attempt != tc.attempts) {
					t.Errorf("OnCommit = %+v; want one, %v on attempt %d", commits, tc.commit, tc.attempts)
				}
				if len(ends) != 1 || ends[0].Reason != tc.reason {
					t.Errorf("OnFinish = %+v; want %v", ends, tc.reason)
				}
			})
		})
	}
}

func equalInt32(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestStreamHeaderAfterRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newAttempts()
		svc := &grpctest.Service{ServerStreamFunc: func(req *testpb.ServerStreamRequest, s grpc.ServerStreamingServer[testpb.ServerStreamResponse]) error {
			n := rec.add(s.Context())
			if n == 1 {
				return errUnavailable
			}
			if err := s.SendHeader(metadata.Pairs("attempt", "2")); err != nil {
				return err
			}
			return s.Send(&testpb.ServerStreamResponse{Index: 7})
		}}
		env, _ := start(t, svc, setup{})
		stream, err := env.Client.ServerStream(t.Context(), &testpb.ServerStreamRequest{})
		if err != nil {
			t.Fatal(err)
		}
		md, err := stream.Header()
		if err != nil || strings.Join(md.Get("attempt"), ",") != "2" {
			t.Fatalf("Header = %v, %v; want the second attempt's", md, err)
		}
		got, err := recvAll(stream)
		if err != nil || !equalInt32(got, []int32{7}) {
			t.Errorf("received %v, %v; want [7]", got, err)
		}
		if rec.count() != 2 {
			t.Errorf("attempts = %d; want 2", rec.count())
		}
	})
}

func TestStreamPushback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newAttempts()
		svc := &grpctest.Service{ServerStreamFunc: func(req *testpb.ServerStreamRequest, s grpc.ServerStreamingServer[testpb.ServerStreamResponse]) error {
			if rec.add(s.Context()) == 1 {
				s.SetTrailer(metadata.Pairs(wire.PushbackTrailer, "250"))
				return errUnavailable
			}
			return nil
		}}
		env, _ := start(t, svc, setup{retry: []retry.Option{noJitter}})
		stream, err := env.Client.ServerStream(t.Context(), &testpb.ServerStreamRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := recvAll(stream); err != nil {
			t.Fatal(err)
		}
		if got, want := rec.offsets(), []time.Duration{0, 250 * time.Millisecond}; !equalDurations(got, want) {
			t.Errorf("attempts at %v; want %v", got, want)
		}
	})
}

// clientStreamServer reads the whole stream and fails attempt 1 with
// UNAVAILABLE after reading it; later attempts answer with what they read.
func clientStreamServer(rec *attempts, seen *[]string) func(grpc.ClientStreamingServer[testpb.ClientStreamRequest, testpb.ClientStreamResponse]) error {
	return func(s grpc.ClientStreamingServer[testpb.ClientStreamRequest, testpb.ClientStreamResponse]) error {
		n := rec.add(s.Context())
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
		rec.mu.Lock()
		*seen = append(*seen, strings.Join(texts, ""))
		rec.mu.Unlock()
		if n == 1 {
			return errUnavailable
		}
		return s.SendAndClose(&testpb.ClientStreamResponse{Count: int32(len(texts)), Text: strings.Join(texts, "")})
	}
}

func TestClientStream(t *testing.T) {
	tests := []struct {
		name     string
		limit    int
		code     codes.Code
		attempts int
		seen     []string // what each attempt read
		commit   bool
	}{
		{"within the buffer: replayed", 1 << 10, codes.OK, 2, []string{"abcde", "abcde"}, true},
		{"past the buffer: committed, not retried", 8, codes.Unavailable, 1, []string{"abcde"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newAttempts()
				var seen []string
				svc := &grpctest.Service{ClientStreamFunc: clientStreamServer(rec, &seen)}
				obs := &events{}
				env, _ := start(t, svc, setup{retry: []retry.Option{retry.WithObserver(obs.observer())}})
				stream, err := env.Client.ClientStream(t.Context(), retry.WithBufferLimit(tc.limit))
				if err != nil {
					t.Fatal(err)
				}
				req := &testpb.ClientStreamRequest{} // reused, as callers may
				for _, text := range []string{"a", "b", "c", "d", "e"} {
					req.Text = text
					if err := stream.Send(req); err != nil {
						t.Fatalf("Send(%s) = %v", text, err)
					}
				}
				resp, err := stream.CloseAndRecv()
				if status.Code(err) != tc.code {
					t.Fatalf("CloseAndRecv = %v, %v; want %v", resp, err, tc.code)
				}
				if tc.code == codes.OK && (resp.GetCount() != 5 || resp.GetText() != "abcde") {
					t.Errorf("response %v; want 5 messages abcde", resp)
				}
				if rec.count() != tc.attempts || strings.Join(seen, ",") != strings.Join(tc.seen, ",") {
					t.Errorf("attempts %d read %q; want %d reading %q", rec.count(), seen, tc.attempts, tc.seen)
				}
				_, commits, _ := obs.snapshot()
				wantReason := "message"
				if tc.limit < 10 {
					wantReason = "buffer"
				}
				if len(commits) != 1 || commits[0].Reason != wantReason {
					t.Errorf("OnCommit = %+v; want one, %v", commits, wantReason)
				}
			})
		})
	}
}

// TestClientStreamSendAfterAttemptEnded sends on an attempt that the server
// has already failed: gRPC returns io.EOF from SendMsg, the Retrier keeps
// the messages and replays them all on the next attempt.
func TestClientStreamSendAfterAttemptEnded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newAttempts()
		var seen []string
		read := clientStreamServer(rec, &seen)
		svc := &grpctest.Service{ClientStreamFunc: func(s grpc.ClientStreamingServer[testpb.ClientStreamRequest, testpb.ClientStreamResponse]) error {
			if attemptOf(s.Context()) == 1 {
				rec.add(s.Context())
				return errUnavailable // before reading anything
			}
			return read(s)
		}}
		env, _ := start(t, svc, setup{})
		stream, err := env.Client.ClientStream(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		for i := range 20 {
			text := string(rune('a' + i))
			texts = append(texts, text)
			if err := stream.Send(&testpb.ClientStreamRequest{Text: text}); err != nil {
				t.Fatalf("Send(%s) = %v; want nil while a retry may follow", text, err)
			}
			synctest.Wait() // let the first attempt's failure arrive
		}
		resp, err := stream.CloseAndRecv()
		if err != nil || resp.GetCount() != 20 || resp.GetText() != strings.Join(texts, "") {
			t.Fatalf("CloseAndRecv = %v, %v; want all 20 messages", resp, err)
		}
		if rec.count() != 2 {
			t.Errorf("attempts = %d; want 2", rec.count())
		}
	})
}

func TestBidiStream(t *testing.T) {
	tests := []struct {
		name       string
		echoFirst  bool // attempt 1 echoes its first message before failing
		wantEchoes []string
		code       codes.Code
		attempts   int
	}{
		{"fails before answering: retried, replayed", false, []string{"x", "y", "z"}, codes.OK, 2},
		{"fails after answering: committed", true, []string{"x"}, codes.Unavailable, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newAttempts()
				svc := &grpctest.Service{BidiStreamFunc: func(s grpc.BidiStreamingServer[testpb.BidiStreamRequest, testpb.BidiStreamResponse]) error {
					n := rec.add(s.Context())
					for i := 0; ; i++ {
						m, err := s.Recv()
						if err == io.EOF {
							return nil
						}
						if err != nil {
							return err
						}
						if n == 1 && (i == 1 || !tc.echoFirst) {
							return errUnavailable
						}
						if err := s.Send(&testpb.BidiStreamResponse{Text: m.GetText()}); err != nil {
							return err
						}
					}
				}}
				env, _ := start(t, svc, setup{})
				stream, err := env.Client.BidiStream(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				// Send from one goroutine and receive from another, as bidi
				// callers do.
				sent := make(chan error, 1)
				go func() {
					for _, text := range []string{"x", "y", "z"} {
						if err := stream.Send(&testpb.BidiStreamRequest{Text: text}); err != nil {
							if !errors.Is(err, io.EOF) {
								sent <- err
								return
							}
							break
						}
						synctest.Wait()
					}
					sent <- stream.CloseSend()
				}()
				var echoes []string
				for {
					m, err := stream.Recv()
					if err != nil {
						if (tc.code == codes.OK && err != io.EOF) || (tc.code != codes.OK && status.Code(err) != tc.code) {
							t.Errorf("Recv ended with %v; want %v", err, tc.code)
						}
						break
					}
					echoes = append(echoes, m.GetText())
				}
				if err := <-sent; err != nil {
					t.Errorf("sending: %v", err)
				}
				if strings.Join(echoes, ",") != strings.Join(tc.wantEchoes, ",") {
					t.Errorf("echoes %q; want %q (each exactly once)", echoes, tc.wantEchoes)
				}
				if rec.count() != tc.attempts {
					t.Errorf("attempts = %d; want %d", rec.count(), tc.attempts)
				}
			})
		})
	}
}

func TestStreamOpenRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opened := 0
		failFirstOpen := func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			opened++
			if opened == 1 {
				return nil, errUnavailable
			}
			return streamer(ctx, desc, cc, method, opts...)
		}
		rec := newAttempts()
		svc := &grpctest.Service{ServerStreamFunc: func(req *testpb.ServerStreamRequest, s grpc.ServerStreamingServer[testpb.ServerStreamResponse]) error {
			if n := rec.add(s.Context()); n != 2 {
				t.Errorf("the server saw attempt %d; want 2 (attempt 1 never left the client)", n)
			}
			return s.Send(&testpb.ServerStreamResponse{Index: 3})
		}}
		env, _ := start(t, svc, setup{retry: []retry.Option{noJitter}, innerStream: []grpc.StreamClientInterceptor{failFirstOpen}})
		begin := time.Now()
		stream, err := env.Client.ServerStream(t.Context(), &testpb.ServerStreamRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(begin) != 100*time.Millisecond {
			t.Errorf("stream opened after %v; want one backoff, 100ms", time.Since(begin))
		}
		got, err := recvAll(stream)
		if err != nil || !equalInt32(got, []int32{3}) {
			t.Errorf("received %v, %v; want [3]", got, err)
		}
	})
}

// TestStreamBufferOverflowsWhileBroken fills the buffer while the attempt
// has ended: the stream commits, Send reports io.EOF, and the stream ends
// with the attempt's error instead of being retried.
func TestStreamBufferOverflowsWhileBroken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newAttempts()
		svc := &grpctest.Service{ClientStreamFunc: func(s grpc.ClientStreamingServer[testpb.ClientStreamRequest, testpb.ClientStreamResponse]) error {
			rec.add(s.Context())
			return errUnavailable
		}}
		obs := &events{}
		env, _ := start(t, svc, setup{retry: []retry.Option{retry.WithObserver(obs.observer())}})
		stream, err := env.Client.ClientStream(t.Context(), retry.WithBufferLimit(10))
		if err != nil {
			t.Fatal(err)
		}
		var sendErr error
		for range 5 {
			synctest.Wait()
			if sendErr = stream.Send(&testpb.ClientStreamRequest{Text: "abc"}); sendErr != nil {
				break
			}
		}
		if sendErr != io.EOF {
			t.Errorf("Send past the buffer = %v; want io.EOF", sendErr)
		}
		if _, err := stream.CloseAndRecv(); status.Code(err) != codes.Unavailable {
			t.Errorf("CloseAndRecv = %v; want UNAVAILABLE", err)
		}
		if rec.count() != 1 {
			t.Errorf("attempts = %d; want 1", rec.count())
		}
		_, commits, ends := obs.snapshot()
		if len(commits) != 1 || commits[0].Reason != "buffer" || len(ends) != 1 || ends[0].Reason != "committed" {
			t.Errorf("OnCommit = %+v, OnFinish = %+v; want a buffer commit and StopCommitted", commits, ends)
		}
	})
}

// TestStreamCommitsDuringBackoff commits a stream while its receive side
// waits to retry it: the retry is abandoned.
func TestStreamCommitsDuringBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newAttempts()
		svc := &grpctest.Service{BidiStreamFunc: func(s grpc.BidiStreamingServer[testpb.BidiStreamRequest, testpb.BidiStreamResponse]) error {
			rec.add(s.Context())
			return errUnavailable
		}}
		env, _ := start(t, svc, setup{retry: []retry.Option{noJitter}})
		stream, err := env.Client.BidiStream(t.Context(), retry.WithBufferLimit(10))
		if err != nil {
			t.Fatal(err)
		}
		sent := make(chan error, 1)
		go func() {
			time.Sleep(50 * time.Millisecond) // inside the 100ms backoff
			sent <- stream.Send(&testpb.BidiStreamRequest{Text: "more than ten bytes"})
		}()
		begin := time.Now()
		if _, err := stream.Recv(); status.Code(err) != codes.Unavailable {
			t.Errorf("Recv = %v; want UNAVAILABLE", err)
		}
		if time.Since(begin) != 100*time.Millisecond {
			t.Errorf("Recv returned after %v; want at the end of the backoff, 100ms", time.Since(begin))
		}
		if err := <-sent; err != io.EOF {
			t.Errorf("Send = %v; want io.EOF", err)
		}
		if rec.count() != 1 {
			t.Errorf("attempts = %d; want 1", rec.count())
		}
	})
}

// TestStreamHeaderAndRecvConcurrently asks for the header and receives at
// the same time while the first attempt fails: one of them retries, the
// other waits for it, and both see the second attempt.
func TestStreamHeaderAndRecvConcurrently(t *testing.T) {
	for range 5 {
		synctest.Test(t, func(t *testing.T) {
			rec := newAttempts()
			svc := &grpctest.Service{ServerStreamFunc: func(req *testpb.ServerStreamRequest, s grpc.ServerStreamingServer[testpb.ServerStreamResponse]) error {
				n := rec.add(s.Context())
				if n == 1 {
					return errUnavailable
				}
				if err := s.SendHeader(metadata.Pairs("attempt", "2")); err != nil {
					return err
				}
				for i := range int32(3) {
					if err := s.Send(&testpb.ServerStreamResponse{Index: i}); err != nil {
						return err
					}
				}
				return nil
			}}
			env, _ := start(t, svc, setup{retry: []retry.Option{noJitter}})
			stream, err := env.Client.ServerStream(t.Context(), &testpb.ServerStreamRequest{})
			if err != nil {
				t.Fatal(err)
			}
			header := make(chan metadata.MD, 1)
			go func() {
				md, _ := stream.Header()
				header <- md
			}()
			got, err := recvAll(stream)
			if err != nil || !equalInt32(got, []int32{0, 1, 2}) {
				t.Errorf("received %v, %v; want [0 1 2]", got, err)
			}
			if md := <-header; strings.Join(md.Get("attempt"), "") != "2" {
				t.Errorf("Header = %v; want the second attempt's", md)
			}
			if rec.count() != 2 {
				t.Errorf("attempts = %d; want 2", rec.count())
			}
		})
	}
}

// TestTargetBufferLimit: the streams to one target share a replay buffer
// (WithTargetBufferLimit). A message that would take it past the limit
// commits its stream; a stream gives its share back when it ends, and when
// its context ends without anyone reading it to the end.
func TestTargetBufferLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := &grpctest.Service{} // reads each client stream to the end
		obs := &events{}
		env, r := start(t, svc, setup{retry: []retry.Option{retry.WithTargetBufferLimit(4), retry.WithObserver(obs.observer())}})
		msg := &testpb.ClientStreamRequest{Text: "a"} // 3 bytes
		buffered := func() int64 {
			synctest.Wait()
			n, _ := retrystate.Of(r).BufferedBytes("passthrough:///bufnet")
			return n
		}
		open := func(ctx context.Context) grpc.ClientStreamingClient[testpb.ClientStreamRequest, testpb.ClientStreamResponse] {
			s, err := env.Client.ClientStream(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Send(msg); err != nil {
				t.Fatal(err)
			}
			return s
		}

		a := open(t.Context())
		if n := buffered(); n != 3 {
			t.Fatalf("after one stream sent 3 bytes, the target keeps %d; want 3", n)
		}
		b := open(t.Context()) // 3 + 3 > 4: commits
		if _, commits, _ := obs.snapshot(); len(commits) != 1 || commits[0].Reason != "buffer" {
			t.Errorf("OnCommit = %+v; want one, for the target's buffer", commits)
		}
		if n := buffered(); n != 3 {
			t.Errorf("after the second stream committed, the target keeps %d; want 3", n)
		}
		for _, s := range []grpc.ClientStreamingClient[testpb.ClientStreamRequest, testpb.ClientStreamResponse]{a, b} {
			if resp, err := s.CloseAndRecv(); err != nil || resp.GetCount() != 1 {
				t.Fatalf("CloseAndRecv = %v, %v; want one message read", resp, err)
			}
		}
		if n := buffered(); n != 0 {
			t.Errorf("after both streams ended, the target keeps %d; want 0", n)
		}

		ctx, cancel := context.WithCancel(t.Context())
		open(ctx)
		if n := buffered(); n != 3 {
			t.Fatalf("a third stream keeps %d; want 3 (the buffer was given back)", n)
		}
		cancel() // the caller walks away without reading
		if n := buffered(); n != 0 {
			t.Errorf("after the stream's context ended, the target keeps %d; want 0", n)
		}
	})
}

// TestStreamBufferLimitBoundary pins the per-stream replay buffer at its
// exact boundary, in wire bytes: messages that total exactly 256 KiB
// (262144 bytes by proto.Size, the default limit) are kept and replayed;
// one byte more commits the stream, which is then not retried.
func TestStreamBufferLimitBoundary(t *testing.T) {
	const limit = 262144 // 256 KiB, written out: the figure is the contract
	// Four messages of 65536 wire bytes each: a 1-byte tag, a 3-byte
	// length and 65532 bytes of text.
	texts := func(extra int) []string {
		out := make([]string, 4)
		for i := range out {
			out[i] = strings.Repeat(string(rune('a'+i)), 65532)
		}
		out[3] += strings.Repeat("z", extra)
		return out
	}
	for _, tc := range []struct {
		name     string
		extra    int // bytes past the limit
		code     codes.Code
		attempts int
		commit   string
	}{
		{"exactly the limit: retried", 0, codes.OK, 2, "message"},
		{"one byte more: committed, not retried", 1, codes.Unavailable, 1, "buffer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				msgs := texts(tc.extra)
				wire := 0
				for _, m := range msgs {
					wire += proto.Size(&testpb.ClientStreamRequest{Text: m})
				}
				if wire != limit+tc.extra {
					t.Fatalf("the messages take %d wire bytes; the test needs %d", wire, limit+tc.extra)
				}
				rec := newAttempts()
				var seen []string
				svc := &grpctest.Service{ClientStreamFunc: clientStreamServer(rec, &seen)}
				obs := &events{}
				env, _ := start(t, svc, setup{retry: []retry.Option{retry.WithObserver(obs.observer())}})
				stream, err := env.Client.ClientStream(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range msgs {
					if err := stream.Send(&testpb.ClientStreamRequest{Text: m}); err != nil {
						t.Fatalf("Send = %v", err)
					}
				}
				resp, err := stream.CloseAndRecv()
				if status.Code(err) != tc.code {
					t.Fatalf("CloseAndRecv = %v; want %v", err, tc.code)
				}
				if tc.code == codes.OK && resp.GetText() != strings.Join(msgs, "") {
					t.Errorf("the second attempt read %d bytes of text; want all %d replayed", len(resp.GetText()), len(strings.Join(msgs, "")))
				}
				if rec.count() != tc.attempts {
					t.Errorf("attempts = %d; want %d", rec.count(), tc.attempts)
				}
				_, commits, _ := obs.snapshot()
				if len(commits) != 1 || commits[0].Reason != tc.commit {
					t.Errorf("OnCommit = %+v; want one, %v", commits, tc.commit)
				}
			})
		})
	}
}
