package retry

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	rpcerrdetails "google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/internal/wire"
)

func TestParsePushback(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   time.Duration
	}{
		{"absent", nil, noPushback},
		{"delay", []string{"200"}, 200 * time.Millisecond},
		{"zero: retry at once", []string{"0"}, 0},
		{"largest int32", []string{"2147483647"}, 2147483647 * time.Millisecond},
		{"negative: stop", []string{"-1"}, -1},
		{"very negative: stop", []string{"-2147483648"}, -1},
		{"beyond int32: stop", []string{"2147483648"}, -1},
		{"not a number: stop", []string{"soon"}, -1},
		{"empty: stop", []string{""}, -1},
		{"spaces: stop", []string{" 5"}, -1},
		{"fraction: stop", []string{"1.5"}, -1},
		{"two values: stop", []string{"1", "2"}, -1},
		{"plus sign, as strconv reads it", []string{"+5"}, 5 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := parsePushback(tc.values); got != tc.want {
				t.Errorf("parsePushback(%q) = %v; want %v", tc.values, got, tc.want)
			}
		})
	}
}

func TestRetryInfoDelay(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want time.Duration
		ok   bool
	}{
		{"no status", errors.New("x"), 0, false},
		{"status without details", status.Error(codes.Unavailable, "x"), 0, false},
		{"bulwark error with a delay", func() *errdetails.ApplicationError {
			e := errdetails.Database("", nil)
			e.RetryAfter = 1500 * time.Millisecond
			return e
		}(), 1500 * time.Millisecond, true},
		{"bulwark error without a delay", errdetails.Database("", nil), 0, false},
		{"wrapped", &budgetError{err: func() *errdetails.ApplicationError {
			e := errdetails.Database("", nil)
			e.RetryAfter = time.Second
			return e
		}()}, time.Second, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Send the error through its wire form, as a client sees it.
			err := tc.err
			if st, ok := status.FromError(err); ok {
				err = status.FromProto(st.Proto()).Err()
			}
			got, ok := wire.RetryDelay(err)
			if got != tc.want || ok != tc.ok {
				t.Errorf("RetryDelay = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// FuzzParsePushback checks the pushback trailer parser on any value: it
// never panics, never reports the trailer absent, and agrees with strconv.
func FuzzParsePushback(f *testing.F) {
	for _, s := range []string{"0", "200", "-1", "2147483647", "2147483648", "abc", "", "+7", "007", "-0", " 1", "1e3", "\x00"} {
		f.Add(s, "")
	}
	f.Add("1", "2")
	f.Fuzz(func(t *testing.T, a, b string) {
		one := parsePushback([]string{a})
		if one == noPushback {
			t.Fatalf("parsePushback(%q) reported no pushback", a)
		}
		ms, err := strconv.ParseInt(a, 10, 32)
		switch {
		case err == nil && ms >= 0:
			if one != time.Duration(ms)*time.Millisecond {
				t.Fatalf("parsePushback(%q) = %v; want %dms", a, one, ms)
			}
		default:
			if one >= 0 {
				t.Fatalf("parsePushback(%q) = %v; want a stop (negative)", a, one)
			}
		}
		if two := parsePushback([]string{a, b}); two >= 0 {
			t.Fatalf("parsePushback(%q, %q) = %v; want a stop", a, b, two)
		}
		// Through metadata, as the trailer arrives.
		if got := pushbackOf(metadata.Pairs(wire.PushbackTrailer, a)); got != one {
			t.Fatalf("pushbackOf = %v; want %v", got, one)
		}
	})
}

// TestOversizedDetailsAreNotDecoded: status details come from the network,
// so the Retrier decodes them within (64 << 10). A status
// past the bound yields neither its RetryInfo nor its RequestInfo; the same
// details one byte within it yield both.
func TestOversizedDetailsAreNotDecoded(t *testing.T) {
	build := func(pad int) error {
		st, err := status.New(codes.Unavailable, "busy").WithDetails(
			&rpcerrdetails.RetryInfo{RetryDelay: durationpb.New(500 * time.Millisecond)},
			&rpcerrdetails.RequestInfo{RequestId: "req-1"},
			&rpcerrdetails.DebugInfo{Detail: strings.Repeat("x", pad)},
		)
		if err != nil {
			t.Fatal(err)
		}
		// Through the wire form, as a client sees it.
		return status.FromProto(st.Proto()).Err()
	}
	// Find the padding that takes the status to exactly the bound.
	pad := (64 << 10) - 200
	for proto.Size(status.Convert(build(pad)).Proto()) < (64 << 10) {
		pad++
	}
	if got := proto.Size(status.Convert(build(pad)).Proto()); got != (64 << 10) {
		t.Fatalf("the status takes %d bytes; the test needs exactly %d", got, (64 << 10))
	}
	for _, tc := range []struct {
		name string
		pad  int
		want bool
	}{
		{"at the bound: decoded", pad, true},
		{"one byte past it: not decoded", pad + 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := build(tc.pad)
			if size := proto.Size(status.Convert(err).Proto()); (size <= (64 << 10)) != tc.want {
				t.Fatalf("the status takes %d bytes", size)
			}
			d, ok := wire.RetryDelay(err)
			if ok != tc.want || (ok && d != 500*time.Millisecond) {
				t.Errorf("RetryDelay = %v, %v; want decoded: %v", d, ok, tc.want)
			}
			id, ok := requestInfoID(err)
			if ok != tc.want || (ok && id != "req-1") {
				t.Errorf("requestInfoID = %q, %v; want decoded: %v", id, ok, tc.want)
			}
			if _, _, _, ok := serverDelay(err, noPushback); ok != tc.want {
				t.Errorf("serverDelay reports a delay: %v; want %v", ok, tc.want)
			}
		})
	}
}
