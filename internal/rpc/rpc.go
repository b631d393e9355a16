// Package rpc holds what several interceptors need to know about a call:
// its code as gRPC reports it, its type label, and when a client stream has
// finished.
package rpc

import (
	"errors"
	"io"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Code returns the status code of err as gRPC itself reports it, context
// errors included: OK for nil.
func Code(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	if st, ok := status.FromError(err); ok {
		return st.Code()
	}
	return status.FromContextError(err).Code()
}

// Type returns the grpc_type label of a method, as go-grpc-middleware
// spells it: unary, client_stream, server_stream or bidi_stream.
func Type(clientStreams, serverStreams bool) string {
	switch {
	case clientStreams && serverStreams:
		return "bidi_stream"
	case clientStreams:
		return "client_stream"
	case serverStreams:
		return "server_stream"
	}
	return "unary"
}

// ClientHooks are called by a client stream wrapped with WrapClient. Nil
// hooks are skipped.
type ClientHooks struct {
	// Sent is called after each successful SendMsg.
	Sent func()
	// Received is called after each successful RecvMsg.
	Received func()
	// Finished is called once, when the call ends: at the first RecvMsg
	// error (nil for io.EOF) or, for a call without a server stream, at the
	// RecvMsg of its reply.
	Finished func(err error)
}

// WrapClient returns cs with h attached. serverStreams is the method's
// StreamDesc.ServerStreams.
func WrapClient(cs grpc.ClientStream, serverStreams bool, h ClientHooks) grpc.ClientStream {
	return &clientStream{ClientStream: cs, serverStreams: serverStreams, h: h}
}

type clientStream struct {
	grpc.ClientStream
	serverStreams bool
	h             ClientHooks
	done          atomic.Bool
}

func (s *clientStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err == nil && s.h.Sent != nil {
		s.h.Sent()
	}
	return err
}

func (s *clientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err == nil {
		if s.h.Received != nil {
			s.h.Received()
		}
		if s.serverStreams {
			return nil
		}
	}
	if s.h.Finished != nil && s.done.CompareAndSwap(false, true) {
		final := err
		if errors.Is(err, io.EOF) {
			final = nil
		}
		s.h.Finished(final)
	}
	return err
}
