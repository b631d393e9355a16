package unregistered

import (
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMethod(t *testing.T) {
	bidi := &grpc.StreamServerInfo{FullMethod: "/x.Y/Z", IsClientStream: true, IsServerStream: true}
	if got := Method(nil, bidi); got != FullMethod {
		t.Errorf("Method(nil, bidi) = %q; want %q", got, FullMethod)
	}
	if got := Method(struct{}{}, bidi); got != "/x.Y/Z" {
		t.Errorf("Method(impl, bidi) = %q; want the method itself", got)
	}
	// UnknownServiceHandler serves every call as a bidi stream: a nil
	// implementation behind a one-way stream is a registered method.
	oneWay := &grpc.StreamServerInfo{FullMethod: "/x.Y/Z", IsServerStream: true}
	if got := Method(nil, oneWay); got != "/x.Y/Z" {
		t.Errorf("Method(nil, server stream) = %q; want the method itself", got)
	}
}
