package grpctest

import (
	"context"
	"errors"
	"io"
	"strconv"
	"sync/atomic"

	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// Service is a TestService whose methods tests can replace. A nil func gets
// the default behaviour: Unary and UnaryUnsafe echo the text, ServerStream
// sends Count messages, ClientStream counts what it reads, and BidiStream
// echoes each message. Service counts the calls that reach each method.
type Service struct {
	testpb.UnimplementedTestServiceServer

	UnaryFunc        func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error)
	UnaryUnsafeFunc  func(context.Context, *testpb.UnaryUnsafeRequest) (*testpb.UnaryUnsafeResponse, error)
	ServerStreamFunc func(*testpb.ServerStreamRequest, grpc.ServerStreamingServer[testpb.ServerStreamResponse]) error
	ClientStreamFunc func(grpc.ClientStreamingServer[testpb.ClientStreamRequest, testpb.ClientStreamResponse]) error
	BidiStreamFunc   func(grpc.BidiStreamingServer[testpb.BidiStreamRequest, testpb.BidiStreamResponse]) error

	unary, unaryUnsafe, serverStream, clientStream, bidiStream atomic.Int64
}

// Calls reports how many calls reached each method, by method name
// ("Unary", "UnaryUnsafe", "ServerStream", "ClientStream", "BidiStream").
func (s *Service) Calls(method string) int64 {
	switch method {
	case "Unary":
		return s.unary.Load()
	case "UnaryUnsafe":
		return s.unaryUnsafe.Load()
	case "ServerStream":
		return s.serverStream.Load()
	case "ClientStream":
		return s.clientStream.Load()
	case "BidiStream":
		return s.bidiStream.Load()
	}
	panic("grpctest: no method " + method)
}

// Unary implements TestService.
func (s *Service) Unary(ctx context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
	s.unary.Add(1)
	if s.UnaryFunc != nil {
		return s.UnaryFunc(ctx, req)
	}
	return &testpb.UnaryResponse{Text: req.GetText()}, nil
}

// UnaryUnsafe implements TestService.
func (s *Service) UnaryUnsafe(ctx context.Context, req *testpb.UnaryUnsafeRequest) (*testpb.UnaryUnsafeResponse, error) {
	s.unaryUnsafe.Add(1)
	if s.UnaryUnsafeFunc != nil {
		return s.UnaryUnsafeFunc(ctx, req)
	}
	return &testpb.UnaryUnsafeResponse{Text: req.GetText()}, nil
}

// ServerStream implements TestService.
func (s *Service) ServerStream(req *testpb.ServerStreamRequest, stream grpc.ServerStreamingServer[testpb.ServerStreamResponse]) error {
	s.serverStream.Add(1)
	if s.ServerStreamFunc != nil {
		return s.ServerStreamFunc(req, stream)
	}
	for i := range req.GetCount() {
		if err := stream.Send(&testpb.ServerStreamResponse{Text: req.GetText() + " " + strconv.Itoa(int(i)), Index: i}); err != nil {
			return err
		}
	}
	return nil
}

// ClientStream implements TestService.
func (s *Service) ClientStream(stream grpc.ClientStreamingServer[testpb.ClientStreamRequest, testpb.ClientStreamResponse]) error {
	s.clientStream.Add(1)
	if s.ClientStreamFunc != nil {
		return s.ClientStreamFunc(stream)
	}
	var n int32
	var text string
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&testpb.ClientStreamResponse{Count: n, Text: text})
		}
		if err != nil {
			return err
		}
		n++
		text += m.GetText()
	}
}

// BidiStream implements TestService.
func (s *Service) BidiStream(stream grpc.BidiStreamingServer[testpb.BidiStreamRequest, testpb.BidiStreamResponse]) error {
	s.bidiStream.Add(1)
	if s.BidiStreamFunc != nil {
		return s.BidiStreamFunc(stream)
	}
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&testpb.BidiStreamResponse{Text: m.GetText()}); err != nil {
			return err
		}
	}
}
