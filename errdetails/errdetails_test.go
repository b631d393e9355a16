package errdetails_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	rpcdetails "google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/internal/wire"
	bulwarkv1 "github.com/bulwarkrpc/bulwark/proto/bulwark/v1"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		code    string
		wantErr string // "" when valid
	}{
		{"DB_ERROR", ""},
		{"A", ""},
		{"HTTP2_ERROR", ""},
		{strings.Repeat("A", 63), ""},
		{"", "empty"},
		{strings.Repeat("A", 64), "64 characters, at most 63"},
		{"db_error", "must start with a letter A to Z"},
		{"DB-ERROR", `byte 2 ('-')`},
		{"DB__ERROR", "two underscores"},
		{"DB_", "must not end with an underscore"},
		{"9LIVES", "must start with a letter"},
		{"DB ERROR", `byte 2 (' ')`},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			err := (&errdetails.ApplicationError{Code: tc.code, GRPCCode: codes.Internal}).Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate(%q) = %v; want nil", tc.code, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "errdetails: invalid application code") {
				t.Fatalf("Validate(%q) = %v; want an invalid application code saying %q", tc.code, err, tc.wantErr)
			}
		})
	}
}

func TestRegistry(t *testing.T) {
	r := errdetails.NewRegistry()
	if k, ok := r.Lookup(errdetails.CodeDatabase); !ok || k.GRPCCode != codes.Unavailable || !k.Retryable {
		t.Errorf("seed DB_ERROR = %+v, %v; want Unavailable retryable", k, ok)
	}
	if err := r.Register("PAYMENT_DECLINED", codes.FailedPrecondition, false); err != nil {
		t.Fatal(err)
	}
	if err := r.Register("PAYMENT_DECLINED", codes.FailedPrecondition, false); err != nil {
		t.Errorf("registering the same kind again = %v; want nil", err)
	}
	for _, tc := range []struct {
		code    string
		grpc    codes.Code
		wantErr string
	}{
		{"PAYMENT_DECLINED", codes.Aborted, "already registered as FailedPrecondition"},
		{"bad", codes.Internal, `Register("bad")`},
		{"OK_CODE", codes.OK, "must be an error code"},
		{"BIG_CODE", codes.Code(99), "must be an error code"},
	} {
		if err := r.Register(tc.code, tc.grpc, false); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("Register(%q, %v) = %v; want error containing %q", tc.code, tc.grpc, err, tc.wantErr)
		}
	}
	if k, _ := r.Lookup("PAYMENT_DECLINED"); k.GRPCCode != codes.FailedPrecondition {
		t.Errorf("a refused re-registration changed the kind to %v", k.GRPCCode)
	}
	if err := errdetails.Default.Register("TEST_PAYMENT_DECLINED", codes.FailedPrecondition, false); err != nil {
		t.Fatal(err)
	}
	e := errdetails.New("TEST_PAYMENT_DECLINED", "card declined")
	if e.GRPCCode != codes.FailedPrecondition || e.Retryable {
		t.Errorf("New = %v retryable %v; want FailedPrecondition, not retryable", e.GRPCCode, e.Retryable)
	}
	var zero errdetails.Registry
	if _, ok := zero.Lookup(errdetails.CodeDatabase); ok {
		t.Error("the zero Registry knows DB_ERROR; want empty")
	}
	if err := zero.Register("X", codes.Internal, false); err != nil {
		t.Errorf("zero Registry Register = %v", err)
	}
	if u := errdetails.New("NOT_REGISTERED", "m"); u.GRPCCode != codes.Unknown || u.Retryable {
		t.Errorf("unregistered code = %v retryable %v; want Unknown, not retryable", u.GRPCCode, u.Retryable)
	}
}

func TestConstructors(t *testing.T) {
	cause := errors.New("dial tcp 10.0.0.5:5432: connection refused")
	tests := []struct {
		name      string
		err       *errdetails.ApplicationError
		code      string
		grpc      codes.Code
		retryable bool
		message   string
		detail    map[string]any
	}{
		{"validation", errdetails.Validation("email", "must contain @"), errdetails.CodeValidation, codes.InvalidArgument, false,
			"invalid email: must contain @", map[string]any{"field": "email"}},
		{"database", errdetails.Database("", cause), errdetails.CodeDatabase, codes.Unavailable, true, "database unavailable", nil},
		{"external", errdetails.ExternalService("payments", "", cause), errdetails.CodeExternalService, codes.Unavailable, true,
			"payments unavailable", map[string]any{"service": "payments"}},
		{"generic", func() *errdetails.ApplicationError {
			e := errdetails.New("QUOTA_EXCEEDED", "too many", errdetails.WithDetail("limit_per_day", 100))
			e.GRPCCode = codes.ResourceExhausted
			e.Retryable = true
			return e
		}(), "QUOTA_EXCEEDED", codes.ResourceExhausted, true, "too many",
			map[string]any{"limitPerDay": 100}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.err
			if e.Code != tc.code || e.GRPCCode != tc.grpc || e.Retryable != tc.retryable || e.Message != tc.message {
				t.Errorf("got %s %v retryable=%v %q; want %s %v retryable=%v %q", e.Code, e.GRPCCode, e.Retryable, e.Message,
					tc.code, tc.grpc, tc.retryable, tc.message)
			}
			for k, v := range tc.detail {
				if e.Details[k] != v {
					t.Errorf("Details[%q] = %v; want %v", k, e.Details[k], v)
				}
			}
			if e.Time.IsZero() {
				t.Error("Time is not set")
			}
		})
	}
	db := errdetails.Database("", cause)
	if !errors.Is(db, cause) || db.Unwrap() != cause {
		t.Error("Database does not unwrap to its cause")
	}
	if !strings.Contains(db.Error(), "connection refused") {
		t.Errorf("Error() = %q; want the cause for server logs", db.Error())
	}
	if strings.Contains(db.GRPCStatus().String(), "10.0.0.5") {
		t.Error("the cause leaked into GRPCStatus")
	}
}

func TestIsMatchesCode(t *testing.T) {
	notFound := errdetails.New("USER_NOT_FOUND", "")
	err := fmt.Errorf("lookup: %w", errdetails.New("USER_NOT_FOUND", "user 7 not found"))
	if !errors.Is(err, notFound) {
		t.Error("errors.Is does not match an error with the same code")
	}
	if errors.Is(err, errdetails.New("OTHER", "")) {
		t.Error("errors.Is matches another code")
	}
	if ae, ok := errdetails.FromError(err); !ok || ae.Code != "USER_NOT_FOUND" {
		t.Error("FromError does not find the wrapped error")
	}
}

func TestDetailKeysBecomeLowerCamel(t *testing.T) {
	for in, want := range map[string]string{
		"userId": "userId", "user_id": "userId", "user-id": "userId", "User ID": "userID",
		"UserName": "userName", "__x__y": "xY", "x": "x", "": "", "___": "", "ünïcode_key": "ünïcodeKey",
	} {
		e := errdetails.New("X", "", errdetails.WithDetail(in, 1))
		if want == "" {
			if len(e.Details) != 0 {
				t.Errorf("WithDetail(%q) kept %v; want dropped", in, e.Details)
			}
			continue
		}
		if _, ok := e.Details[want]; !ok || len(e.Details) != 1 {
			t.Errorf("WithDetail(%q) = %v; want key %q", in, e.Details, want)
		}
	}
}

// details returns the type names of st's details in order.
func details(st *status.Status) []string {
	var names []string
	for _, a := range st.Proto().GetDetails() {
		names = append(names, string(a.MessageName()))
	}
	return names
}

func TestGRPCStatusContract(t *testing.T) {
	e := func() *errdetails.ApplicationError {
		e := errdetails.Database("read failed", errors.New("secret cause"), errdetails.WithDetail("table", "users"), errdetails.WithDetail("shard", 3))
		e.RetryAfter = 250 * time.Millisecond
		e.Domain = "users.example.com"
		e.RequestID = "req-1"
		return e
	}()
	e.Resource = &errdetails.Resource{Type: "user", Name: "42"}
	e.Quotas = []errdetails.QuotaViolation{{Subject: "project:1", Description: "reads per minute"}}
	e.Preconditions = []errdetails.PreconditionViolation{{Type: "TOS", Subject: "user:42", Description: "terms not accepted"}}
	e.Violations = []errdetails.FieldViolation{{Field: "id", Description: "must be positive"}}
	st := e.GRPCStatus()
	if st.Code() != codes.Unavailable || st.Message() != "read failed" {
		t.Fatalf("status = %v %q", st.Code(), st.Message())
	}
	want := []string{"google.rpc.ErrorInfo", "bulwark.v1.ApplicationError", "google.rpc.RetryInfo", "google.rpc.RequestInfo",
		"google.rpc.BadRequest", "google.rpc.PreconditionFailure", "google.rpc.QuotaFailure", "google.rpc.ResourceInfo"}
	if got := details(st); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("details = %v; want %v", got, want)
	}
	var info *rpcdetails.ErrorInfo
	var app *bulwarkv1.ApplicationError
	var retry *rpcdetails.RetryInfo
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *rpcdetails.ErrorInfo:
			info = d
		case *bulwarkv1.ApplicationError:
			app = d
		case *rpcdetails.RetryInfo:
			retry = d
		}
	}
	if info.GetReason() != "DB_ERROR" || info.GetDomain() != "users.example.com" ||
		info.GetMetadata()["table"] != "users" || info.GetMetadata()["shard"] != "3" {
		t.Errorf("ErrorInfo = %v", info)
	}
	if !app.GetRetryable() || app.GetCode() != "DB_ERROR" || app.GetDetails()["shard"].GetNumberValue() != 3 ||
		app.GetRetryDelay().AsDuration() != 250*time.Millisecond || !app.GetCreateTime().IsValid() {
		t.Errorf("ApplicationError = %v", app)
	}
	if retry.GetRetryDelay().AsDuration() != 250*time.Millisecond {
		t.Errorf("RetryInfo = %v", retry)
	}
	if strings.Contains(st.String(), "secret cause") {
		t.Error("GRPCStatus sent the cause")
	}
	dbg := wire.DebugStatus(e)
	if got := details(dbg); got[len(got)-1] != "google.rpc.DebugInfo" || !strings.Contains(fmt.Sprint(dbg.Proto()), "secret cause") {
		t.Errorf("DebugStatus details = %v; want DebugInfo with the cause last", got)
	}

	// A negative delay asks callers to stop: the status says not retryable.
	stop := func() *errdetails.ApplicationError {
		e := errdetails.New(errdetails.CodeServerOverloaded, "busy")
		e.RetryAfter = -1
		return e
	}()
	if got, _ := errdetails.FromError(stop.GRPCStatus().Err()); got.Retryable || !stop.Retryable {
		t.Errorf("a stop was sent as retryable=%v (in process %v); want false on the wire", got.Retryable, stop.Retryable)
	}

	// Not retryable: no RetryInfo even with a delay.
	v := func() *errdetails.ApplicationError {
		e := errdetails.Validation("name", "empty")
		e.RetryAfter = time.Second
		return e
	}()
	if got := details(v.GRPCStatus()); strings.Contains(strings.Join(got, ","), "RetryInfo") {
		t.Errorf("non-retryable error sent RetryInfo: %v", got)
	}
}

func TestInvalidCodeIsSentAsInternal(t *testing.T) {
	e := func() *errdetails.ApplicationError {
		e := errdetails.New("bad code", "details of the bad code")
		e.RequestID = "r"
		return e
	}()
	if e.Validate() == nil {
		t.Fatal("Validate accepted an invalid code")
	}
	st := e.GRPCStatus()
	got, ok := errdetails.FromError(st.Err())
	if st.Code() != codes.Internal || !ok || got.Code != errdetails.CodeInternal || got.Message != "internal error" || got.RequestID != "r" {
		t.Errorf("invalid code sent as %v %v; want INTERNAL INTERNAL_ERROR with the request id", st, got)
	}
}

func TestEncodedSizeStaysBounded(t *testing.T) {
	big := strings.Repeat("x", 10_000)
	opts := []errdetails.Option{errdetails.WithCause(errors.New(big))}
	for i := range 200 {
		opts = append(opts, errdetails.WithDetail(fmt.Sprintf("key%d", i), big))
	}
	e := errdetails.Database(big, nil, opts...)
	e.Domain, e.RequestID, e.RetryAfter = big, big, time.Second
	e.Resource = &errdetails.Resource{Type: big, Name: big}
	for range 200 {
		e.Violations = append(e.Violations, errdetails.FieldViolation{Field: big, Description: big})
		e.Quotas = append(e.Quotas, errdetails.QuotaViolation{Subject: big, Description: big})
		e.Preconditions = append(e.Preconditions, errdetails.PreconditionViolation{Type: big, Subject: big, Description: big})
	}
	e.Debug = &errdetails.Debug{Detail: big, Stack: []string{big, big, big}}
	for name, st := range map[string]*status.Status{"GRPCStatus": e.GRPCStatus(), "DebugStatus": wire.DebugStatus(e)} {
		p := st.Proto()
		if n := proto.Size(p); n > 4096 {
			t.Errorf("%s: %d bytes; want at most %d", name, n, 4096)
		}
		got, ok := errdetails.FromError(st.Err())
		if !ok || got.Code != errdetails.CodeDatabase || !got.Retryable || got.RetryAfter != time.Second || got.RequestID == "" {
			t.Errorf("%s: the essentials did not survive: %+v, %v", name, got, ok)
		}
		if len(got.Message) > 512 {
			t.Errorf("%s: message of %d bytes", name, len(got.Message))
		}
	}

	// A moderately large error keeps its optional parts, dropping only debug info.
	mid := errdetails.Database("m", nil)
	mid.Debug = &errdetails.Debug{Stack: []string{big}}
	if got := details(wire.DebugStatus(mid)); strings.Join(got, ",") != "google.rpc.ErrorInfo,bulwark.v1.ApplicationError,google.rpc.DebugInfo" {
		t.Errorf("details = %v; want the debug info cut, not dropped", got)
	}
	if n := proto.Size(wire.DebugStatus(mid).Proto()); n > 4096 {
		t.Errorf("short debug: %d bytes", n)
	}
}

func TestRoundTrip(t *testing.T) {
	e := func() *errdetails.ApplicationError {
		e := errdetails.ExternalService("payments", "payments slow", nil, errdetails.WithDetail("attempt", 2), errdetails.WithDetail("tags", []any{"a", "b"}))
		e.RetryAfter = 2 * time.Second
		e.Unprocessed = true
		e.RequestID = "rid"
		e.Domain = "shop"
		return e
	}()
	e.Violations = []errdetails.FieldViolation{{Field: "card", Description: "expired"}}
	e.Resource = &errdetails.Resource{Type: "order", Name: "9"}
	e.Quotas = []errdetails.QuotaViolation{{Subject: "user:1", Description: "q"}}
	e.Preconditions = []errdetails.PreconditionViolation{{Type: "T", Subject: "S", Description: "D"}}
	got, ok := errdetails.FromError(fmt.Errorf("call: %w", e.GRPCStatus().Err()))
	if !ok {
		t.Fatal("FromError did not decode")
	}
	if got.Code != e.Code || got.Message == "" || got.GRPCCode != codes.Unavailable || !got.Retryable || !got.Unprocessed ||
		got.RetryAfter != 2*time.Second || got.Domain != "shop" || got.RequestID != "rid" ||
		got.Details["service"] != "payments" || got.Details["attempt"] != float64(2) || fmt.Sprint(got.Details["tags"]) != "[a b]" ||
		len(got.Violations) != 1 || got.Violations[0].Field != "card" || got.Resource.Name != "9" ||
		len(got.Quotas) != 1 || len(got.Preconditions) != 1 || !got.Time.Equal(e.Time) {
		t.Errorf("round trip lost something:\n got %+v\nwant %+v", got, e)
	}
	if status.Code(got) != codes.Unavailable {
		t.Errorf("status.Code(decoded) = %v", status.Code(got))
	}
	if !errors.Is(got, errdetails.New(errdetails.CodeExternalService, "")) {
		t.Error("decoded error does not match its code with errors.Is")
	}
}

func anyOf(t *testing.T, m proto.Message) *anypb.Any {
	t.Helper()
	a, err := anypb.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestFromStatusForeignAndMalformed(t *testing.T) {
	info := &rpcdetails.ErrorInfo{Reason: "STOCKOUT", Domain: "shop.example.com", Metadata: map[string]string{"sku": "A1"}}
	tests := []struct {
		name      string
		st        *spb.Status
		wantOK    bool
		code      string
		retryable bool
		after     time.Duration
	}{
		{"plain AIP-193 ErrorInfo", &spb.Status{Code: int32(codes.FailedPrecondition), Message: "out", Details: []*anypb.Any{anyOf(t, info)}},
			true, "STOCKOUT", false, 0},
		{"ErrorInfo on UNAVAILABLE is retryable", &spb.Status{Code: int32(codes.Unavailable), Details: []*anypb.Any{anyOf(t, info)}},
			true, "STOCKOUT", true, 0},
		{"ErrorInfo with RetryInfo", &spb.Status{Code: int32(codes.ResourceExhausted), Details: []*anypb.Any{anyOf(t, info),
			anyOf(t, &rpcdetails.RetryInfo{RetryDelay: durationpb.New(3 * time.Second)})}}, true, "STOCKOUT", true, 3 * time.Second},
		{"registered code gets registry retryability", &spb.Status{Code: int32(codes.Unavailable), Details: []*anypb.Any{
			anyOf(t, &rpcdetails.ErrorInfo{Reason: errdetails.CodeDatabase})}}, true, errdetails.CodeDatabase, true, 0},
		{"negative RetryInfo delay asks not to retry", &spb.Status{Code: int32(codes.Unavailable), Details: []*anypb.Any{anyOf(t, info),
			anyOf(t, &rpcdetails.RetryInfo{RetryDelay: &durationpb.Duration{Seconds: -5}})}}, true, "STOCKOUT", false, -5 * time.Second},
		{"mismatched ApplicationError is ignored", &spb.Status{Code: int32(codes.Unavailable), Details: []*anypb.Any{anyOf(t, info),
			anyOf(t, &bulwarkv1.ApplicationError{Code: "OTHER", Retryable: false})}}, true, "STOCKOUT", true, 0},
		{"first ErrorInfo wins", &spb.Status{Code: int32(codes.Internal), Details: []*anypb.Any{anyOf(t, info),
			anyOf(t, &rpcdetails.ErrorInfo{Reason: "SECOND"})}}, true, "STOCKOUT", false, 0},
		{"garbage ErrorInfo bytes", &spb.Status{Code: int32(codes.Internal), Details: []*anypb.Any{
			{TypeUrl: "type.googleapis.com/google.rpc.ErrorInfo", Value: []byte{0xff, 0xff, 0xff}}}}, false, "", false, 0},
		{"unknown detail type only", &spb.Status{Code: int32(codes.Internal), Details: []*anypb.Any{
			{TypeUrl: "type.googleapis.com/acme.Thing", Value: []byte("x")}}}, false, "", false, 0},
		{"empty reason", &spb.Status{Code: int32(codes.Internal), Details: []*anypb.Any{anyOf(t, &rpcdetails.ErrorInfo{})}}, false, "", false, 0},
		{"no details", &spb.Status{Code: int32(codes.Internal)}, false, "", false, 0},
		{"oversized", &spb.Status{Code: int32(codes.Internal), Message: strings.Repeat("m", 64<<10),
			Details: []*anypb.Any{anyOf(t, info)}}, false, "", false, 0},
		{"OK status", &spb.Status{Code: 0, Details: []*anypb.Any{anyOf(t, info)}}, false, "", false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := status.FromProto(tc.st)
			got, ok := errdetails.FromError(st.Err())
			if ok != tc.wantOK {
				t.Fatalf("FromStatus ok = %v; want %v (%+v)", ok, tc.wantOK, got)
			}
			if !ok {
				return
			}
			if got.Code != tc.code || got.Retryable != tc.retryable || got.RetryAfter != tc.after {
				t.Errorf("got code %q retryable %v after %v; want %q %v %v", got.Code, got.Retryable, got.RetryAfter, tc.code, tc.retryable, tc.after)
			}
			if got.GRPCStatus() != st {
				t.Error("a decoded error does not keep the status it came from")
			}
		})
	}
	if _, ok := errdetails.FromError(errors.New("plain")); ok {
		t.Error("FromError decoded a plain error")
	}
	if _, ok := errdetails.FromError(nil); ok {
		t.Error("FromError decoded nil")
	}
}

// A negative google.rpc.RetryInfo is the server asking not to retry: it
// decodes as not retryable, whatever the ApplicationError beside it says.
func TestNegativeRetryInfoIsNotRetryable(t *testing.T) {
	st, err := status.New(codes.Unavailable, "stop").WithDetails(
		&rpcdetails.ErrorInfo{Reason: errdetails.CodeDatabase, Domain: "d"},
		&bulwarkv1.ApplicationError{Code: errdetails.CodeDatabase, Retryable: true},
		&rpcdetails.RetryInfo{RetryDelay: durationpb.New(-2 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	got, ok := errdetails.FromError(st.Err())
	if !ok || got.Retryable || got.RetryAfter != -2*time.Second {
		t.Fatalf("FromStatus = %+v, %v; want not retryable with RetryAfter -2s", got, ok)
	}
}

func TestRetryDelay(t *testing.T) {
	onlyRetryInfo, err := status.New(codes.ResourceExhausted, "slow down").WithDetails(&rpcdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	negative, err := status.New(codes.ResourceExhausted, "go away").WithDetails(&rpcdetails.RetryInfo{RetryDelay: durationpb.New(-time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
		want time.Duration
		ok   bool
	}{
		{"nil", nil, 0, false},
		{"negative RetryInfo asks not to retry", negative.Err(), -time.Second, false},
		{"in-process stop", func() *errdetails.ApplicationError {
			e := errdetails.New(errdetails.CodeServerOverloaded, "busy")
			e.RetryAfter = -1
			return e
		}(), -1, false},
		{"plain", errors.New("x"), 0, false},
		{"status without details", status.Error(codes.Unavailable, ""), 0, false},
		{"RetryInfo without ErrorInfo", onlyRetryInfo.Err(), time.Second, true},
		{"in-process retryable", func() *errdetails.ApplicationError {
			e := errdetails.Database("", nil)
			e.RetryAfter = time.Minute
			return e
		}(), time.Minute, true},
		{"in-process not retryable", func() *errdetails.ApplicationError {
			e := errdetails.Validation("f", "d")
			e.RetryAfter = time.Minute
			return e
		}(), time.Minute, false},
		{"from the wire", func() *errdetails.ApplicationError {
			e := errdetails.Database("", nil)
			e.RetryAfter = 3 * time.Second
			return e
		}().GRPCStatus().Err(), 3 * time.Second, true},
	} {
		got, ok := wire.RetryDelay(tc.err)
		if ok != tc.ok || ((ok || tc.want < 0) && got != tc.want) {
			t.Errorf("%s: RetryDelay = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
