package interceptors_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	rpcdetails "google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
	"github.com/bulwarkrpc/bulwark/internal/wire"
	bulwarkv1 "github.com/bulwarkrpc/bulwark/proto/bulwark/v1"
)

// ipv4 finds a dotted IPv4 address.
var ipv4 = regexp.MustCompile(`\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}`)

// FuzzDownstreamStatus feeds arbitrary downstream statuses (random details
// and sizes, DebugInfo, unprocessed flags) and transport failures through
// a frontend whose handler passes on what its outgoing call returned, and
// checks what the outer caller receives: at most 8 KiB of status and
// trailers, no DebugInfo, never unprocessed (the handler ran), and no
// address from grpc-go's transport errors.
func FuzzDownstreamStatus(f *testing.F) {
	seed := func(p *spb.Status) []byte {
		b, err := proto.Marshal(p)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	anyOf := func(m proto.Message) *anypb.Any {
		a, err := anypb.New(m)
		if err != nil {
			f.Fatal(err)
		}
		return a
	}
	overloaded := func() *errdetails.ApplicationError {
		e := errdetails.New(errdetails.CodeServerOverloaded, "busy")
		e.Unprocessed = true
		e.RetryAfter = 50_000_000
		e.RequestID = "backend-id"
		return e
	}()
	f.Add(false, seed(overloaded.GRPCStatus().Proto()))
	f.Add(false, seed(wire.DebugStatus(errdetails.Database("db down", errors.New(secret))).Proto()))
	f.Add(false, seed(&spb.Status{Code: int32(codes.Internal), Message: "boom", Details: []*anypb.Any{
		anyOf(&rpcdetails.DebugInfo{Detail: secret, StackEntries: []string{strings.Repeat("frame ", 2000)}})}}))
	f.Add(false, seed(&spb.Status{Code: int32(codes.Unavailable), Message: strings.Repeat("é", 6000), Details: []*anypb.Any{
		anyOf(&rpcdetails.ErrorInfo{Reason: "STOCKOUT", Metadata: map[string]string{"k": strings.Repeat("v", 9000)}}),
		anyOf(&bulwarkv1.ApplicationError{Code: "STOCKOUT", Unprocessed: true, Retryable: true}),
		anyOf(&rpcdetails.RetryInfo{RetryDelay: durationpb.New(-1)})}}))
	huge := &rpcdetails.BadRequest{}
	for i := range 800 {
		huge.FieldViolations = append(huge.FieldViolations, &rpcdetails.BadRequest_FieldViolation{Field: fmt.Sprint("f", i), Description: strings.Repeat("d", 90)})
	}
	f.Add(false, seed(&spb.Status{Code: int32(codes.Unavailable), Message: "over the decode bound", Details: []*anypb.Any{
		anyOf(&rpcdetails.ErrorInfo{Reason: "SERVER_OVERLOADED", Domain: "inventory.internal"}),
		anyOf(&bulwarkv1.ApplicationError{Code: "SERVER_OVERLOADED", Unprocessed: true, Retryable: true}),
		anyOf(&rpcdetails.DebugInfo{Detail: secret}), anyOf(huge)}}))
	f.Add(false, seed(&spb.Status{Code: int32(codes.Unavailable), Message: "no reason", Details: []*anypb.Any{
		anyOf(&bulwarkv1.ApplicationError{Unprocessed: true, Retryable: true})}}))
	f.Add(false, seed(&spb.Status{Code: int32(codes.Unavailable), Message: `connection error: desc = "transport: Error while dialing: dial tcp 10.9.8.7:443: i/o timeout"`}))
	f.Add(true, []byte("10.20.30.40:8443"))
	f.Add(true, []byte{0xff, 0x01, 0x02, 0x03, 0x04, 0x05})

	var current atomic.Pointer[spb.Status]
	backend := grpctest.Start(f, &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
		return nil, status.ErrorProto(current.Load())
	}}, grpctest.Options{Dial: clientChain(f, nil).DialOptions()})

	var dialErr atomic.Value // string
	dialErr.Store("dial tcp 192.0.2.1:1: connect: connection refused")
	unreachable, err := grpc.NewClient("passthrough:///unreachable", append(clientChain(f, nil).DialOptions(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) {
			return nil, errors.New(dialErr.Load().(string))
		}))...)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = unreachable.Close() })
	unreachableClient := testpb.NewTestServiceClient(unreachable)

	var useUnreachable atomic.Bool
	front := serverChain(f, nil)
	frontend := grpctest.Start(f, &grpctest.Service{UnaryFunc: func(ctx context.Context, _ *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
		c := backend.Client
		if useUnreachable.Load() {
			c = unreachableClient
		}
		return c.Unary(ctx, &testpb.UnaryRequest{})
	}}, grpctest.Options{Server: front.ServerOptions(), Dial: clientChain(f, nil).DialOptions()})

	f.Fuzz(func(t *testing.T, transport bool, data []byte) {
		var address string
		if transport {
			// A dial error naming an address built from the input.
			var b [6]byte
			copy(b[:], data)
			address = fmt.Sprintf("%d.%d.%d.%d:%d", b[0], b[1], b[2], b[3], int(b[4])<<8|int(b[5]))
			dialErr.Store("dial tcp " + address + ": connect: connection refused")
		} else {
			var p spb.Status
			if proto.Unmarshal(data, &p) != nil || p.Code == int32(codes.OK) {
				return
			}
			current.Store(&p)
		}
		useUnreachable.Store(transport)

		var tr metadata.MD
		_, err := frontend.Client.Unary(t.Context(), &testpb.UnaryRequest{}, grpc.Trailer(&tr))
		if err == nil {
			t.Fatal("the call succeeded")
		}
		got := sent{err: err, st: status.Convert(err), trailer: tr}
		if n := got.wireBytes(); n > wireLimit {
			t.Fatalf("the caller's status and trailers take %d bytes; want at most %d", n, wireLimit)
		}
		for _, name := range detailNames(got.st) {
			if name == "google.rpc.DebugInfo" {
				t.Fatalf("the caller received DebugInfo: %v", detailNames(got.st))
			}
		}
		if ae, ok := errdetails.FromError(err); ok && ae.Unprocessed {
			t.Fatalf("the caller was told its request was unprocessed, but the handler ran: %+v", ae)
		}
		if transport {
			if msg := got.st.Message(); ipv4.MatchString(msg) || strings.Contains(msg, "dial") || strings.Contains(msg, "transport") {
				t.Fatalf("the caller learned the transport error: %q", msg)
			}
		}
	})
}
