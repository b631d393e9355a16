package greeter_test

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/examples/greeter/greeter"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestParseFault(t *testing.T) {
	tests := []struct {
		in      []string
		want    greeter.Fault
		wantErr string
	}{
		{in: nil, want: greeter.Fault{}},
		{in: []string{""}, want: greeter.Fault{}},
		{in: []string{"error=DB_ERROR"}, want: greeter.Fault{Error: "DB_ERROR"}},
		{in: []string{" error = UNAVAILABLE , delay=250ms "}, want: greeter.Fault{Error: "UNAVAILABLE", Delay: 250 * time.Millisecond}},
		{in: []string{"plain-error", "after=3"}, want: greeter.Fault{PlainError: true, After: 3}},
		{in: []string{"panic,,"}, want: greeter.Fault{Panic: true}},
		{in: []string{"error=DB_ERROR,retry-after=1s"}, want: greeter.Fault{Error: "DB_ERROR", RetryAfter: time.Second}},
		{in: []string{"explode"}, wantErr: `"explode": unknown fault`},
		{in: []string{"error"}, wantErr: "needs a value"},
		{in: []string{"panic=yes"}, wantErr: "takes no value"},
		{in: []string{"error=db_error"}, wantErr: "invalid application code"},
		{in: []string{"error=OK"}, wantErr: "OK is not a failure"},
		{in: []string{"delay=soon"}, wantErr: "not a duration"},
		{in: []string{"delay=2h"}, wantErr: "must be between"},
		{in: []string{"delay=-1s"}, wantErr: "must be between"},
		{in: []string{"after=-1"}, wantErr: "integer from 0"},
		{in: []string{"delay=1s", "delay=2s"}, wantErr: "given twice"},
		{in: []string{"panic,plain-error"}, wantErr: "at most one of"},
		{in: []string{strings.Repeat("panic,", 50)}, wantErr: "longer than"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.in, "|"), func(t *testing.T) {
			f, err := greeter.ParseFault(tc.in...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "greeter: greeter-fault: ") {
					t.Fatalf("ParseFault = %+v, %v; want an error with %q", f, err, tc.wantErr)
				}
				return
			}
			if err != nil || f != tc.want {
				t.Fatalf("ParseFault = %+v, %v; want %+v", f, err, tc.want)
			}
			if back, err := greeter.ParseFault(f.String()); err != nil || back != f {
				t.Errorf("ParseFault(%q) = %+v, %v; want %+v", f.String(), back, err, f)
			}
		})
	}
}

// FuzzParseFault checks that ParseFault never panics, and that what it
// accepts prints in a form it reads back the same.
func FuzzParseFault(f *testing.F) {
	for _, s := range []string{
		"", "error=DB_ERROR", "plain-error", "panic", "delay=250ms", "error=UNAVAILABLE,after=2,retry-after=1s",
		" error = VALIDATION_ERROR , delay=1m ", "after=99999999999999999999", "delay=1e9", "error==", ",,,", "panic,panic",
		"error=\xff", "delay=-0s",
	} {
		f.Add(s, "")
	}
	f.Add("error=DB_ERROR", "delay=1s")
	f.Fuzz(func(t *testing.T, a, b string) {
		fault, err := greeter.ParseFault(a, b)
		if err != nil {
			if fault != (greeter.Fault{}) {
				t.Fatalf("ParseFault returned %+v with error %v", fault, err)
			}
			return
		}
		if fault.Delay < 0 || fault.Delay > greeter.MaxDelay || fault.RetryAfter < 0 || fault.After < 0 || fault.After > greeter.MaxAfter {
			t.Fatalf("ParseFault(%q, %q) = %+v: out of range", a, b, fault)
		}
		back, err := greeter.ParseFault(fault.String())
		if err != nil || back != fault {
			t.Fatalf("ParseFault(%q) = %+v, %v; want %+v", fault.String(), back, err, fault)
		}
	})
}

func TestErrorFor(t *testing.T) {
	tests := []struct {
		code      string
		wantCode  codes.Code
		wantApp   string
		retryable bool
	}{
		{"VALIDATION_ERROR", codes.InvalidArgument, "VALIDATION_ERROR", false},
		{"DB_ERROR", codes.Unavailable, "DB_ERROR", true},
		{"EXTERNAL_SERVICE_ERROR", codes.Unavailable, "EXTERNAL_SERVICE_ERROR", true},
		{"PAYMENT_DECLINED", codes.Unknown, "PAYMENT_DECLINED", false},
		{"UNAVAILABLE", codes.Unavailable, "", false},
		{"RESOURCE_EXHAUSTED", codes.ResourceExhausted, "", false},
		{"not a code", codes.InvalidArgument, "VALIDATION_ERROR", false},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			err := greeter.ErrorFor(tc.code, 0)
			if status.Code(err) != tc.wantCode {
				t.Fatalf("code = %v; want %v", status.Code(err), tc.wantCode)
			}
			var ae *errdetails.ApplicationError
			if got := errors.As(err, &ae); got != (tc.wantApp != "") {
				t.Fatalf("ApplicationError: %t; want %t", got, tc.wantApp != "")
			}
			if ae != nil && (ae.Code != tc.wantApp || ae.Retryable != tc.retryable) {
				t.Errorf("got %s retryable %t; want %s retryable %t", ae.Code, ae.Retryable, tc.wantApp, tc.retryable)
			}
		})
	}
}

func TestCodeNames(t *testing.T) {
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		name := greeter.CodeName(c)
		if c == codes.OK {
			if name != "OK" {
				t.Errorf("CodeName(OK) = %q", name)
			}
			continue
		}
		if back, ok := greeter.ParseCode(name); !ok || back != c {
			t.Errorf("ParseCode(CodeName(%v) = %q) = %v, %t", c, name, back, ok)
		}
	}
	if got := greeter.CodeName(codes.Canceled); got != "CANCELLED" {
		t.Errorf("CodeName(Canceled) = %q; want the canonical CANCELLED", got)
	}
	if got := greeter.CodeName(99); got != "CODE_99" {
		t.Errorf("CodeName(99) = %q", got)
	}
}
