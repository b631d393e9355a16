package errdetails_test

import (
	"strings"
	"testing"
	"time"

	rpcdetails "google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/internal/wire"
)

// FuzzFromStatus feeds arbitrary bytes as a marshalled google.rpc.Status (the
// grpc-status-details-bin trailer) to the decoder: it must never panic, and
// whatever it decodes must keep the status it came from.
func FuzzFromStatus(f *testing.F) {
	for _, e := range []*errdetails.ApplicationError{
		errdetails.Validation("email", "bad"),
		func() *errdetails.ApplicationError {
			e := errdetails.Database("", nil, errdetails.WithDetail("k", []any{1.0, "x"}))
			e.RetryAfter = time.Second
			e.RequestID = "r"
			return e
		}(),
		withParts(errdetails.ExternalService("svc", "m", nil)),
	} {
		b, _ := proto.Marshal(wire.DebugStatus(e).Proto())
		f.Add(b)
	}
	a, _ := anypb.New(&rpcdetails.ErrorInfo{Reason: "R"})
	b, _ := proto.Marshal(&spb.Status{Code: 14, Details: []*anypb.Any{a, {TypeUrl: "type.googleapis.com/bulwark.v1.ApplicationError", Value: []byte{0x0a, 0xff}}}})
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var p spb.Status
		if proto.Unmarshal(data, &p) != nil {
			return
		}
		st := status.FromProto(&p)
		e, ok := errdetails.FromError(st.Err())
		if !ok {
			return
		}
		// A negative delay is the server asking not to retry: never
		// retryable.
		if e.Code == "" || e.GRPCCode != st.Code() || e.GRPCStatus() != st || (e.RetryAfter < 0 && e.Retryable) {
			t.Fatalf("inconsistent decode: %+v from %v", e, st)
		}
		_ = e.Error()
	})
}

// withParts gives e a resource, a quota and a precondition.
func withParts(e *errdetails.ApplicationError) *errdetails.ApplicationError {
	e.Resource = &errdetails.Resource{Type: "t", Name: "n"}
	e.Quotas = []errdetails.QuotaViolation{{Subject: "s", Description: "d"}}
	e.Preconditions = []errdetails.PreconditionViolation{{Type: "a", Subject: "b", Description: "c"}}
	return e
}

// FuzzEncode builds errors from arbitrary strings: the encoding must stay
// within 4096 bytes and decode back to the same code, retryability and
// gRPC code (or to INTERNAL_ERROR for an invalid code).
func FuzzEncode(f *testing.F) {
	f.Add("DB_ERROR", "message", "key", "value", "domain", int64(time.Second), true, 3)
	f.Add("bad code", "\xff\xfe", "", "\x00", "", int64(-1), false, 0)
	f.Add("A", "0", "0", "0", "", int64(-1), true, 154) // a retryable error asking not to be retried
	f.Add("X", strings.Repeat("m", 5000), "k_k", strings.Repeat("v", 5000), strings.Repeat("d", 5000), int64(0), true, 40)
	f.Fuzz(func(t *testing.T, code, msg, key, val, domain string, after int64, retryable bool, n int) {
		var opts []errdetails.Option
		for i := range min(max(n, 0), 40) {
			opts = append(opts, errdetails.WithDetail(key+string(rune('a'+i%26))+strings.Repeat("z", i/26), val))
		}
		e := errdetails.New(code, msg, opts...)
		e.Domain, e.RetryAfter, e.Retryable, e.GRPCCode, e.RequestID = domain, time.Duration(after), retryable, codes.Unavailable, val
		for range min(max(n, 0), 40) {
			e.Violations = append(e.Violations, errdetails.FieldViolation{Field: key, Description: val})
		}
		for _, st := range []*status.Status{e.GRPCStatus(), wire.DebugStatus(e)} {
			if n := proto.Size(st.Proto()); n > 4096 {
				t.Fatalf("encoded %d bytes", n)
			}
			got, ok := errdetails.FromError(st.Err())
			if !ok {
				t.Fatalf("encoded status does not decode: %v", st)
			}
			// A negative delay asks callers to stop, so it is sent as not
			// retryable (see ApplicationError.RetryAfter).
			wantCode, wantRetryable := code, retryable && after >= 0
			if (&errdetails.ApplicationError{Code: code, GRPCCode: codes.Unavailable}).Validate() != nil {
				wantCode, wantRetryable = errdetails.CodeInternal, false
			}
			if got.Code != wantCode || got.Retryable != wantRetryable {
				t.Fatalf("decoded %q retryable %v; want %q %v", got.Code, got.Retryable, wantCode, wantRetryable)
			}
		}
	})
}
