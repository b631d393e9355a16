package loadreport_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/balancer/loadreport"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

func TestNewValidates(t *testing.T) {
	_, err := loadreport.New(nil, nil, loadreport.WithWindow(0), loadreport.WithMinReportingInterval(-time.Second))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"loadreport: New: nil Limiter",
		"loadreport: nil Option",
		"loadreport: WithWindow(0s): must be positive",
		"loadreport: WithMinReportingInterval(-1s): must not be negative",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestServerMetricsUtilization(t *testing.T) {
	l, err := concurrency.New(concurrency.WithLimit(4))
	if err != nil {
		t.Fatal(err)
	}
	r, err := loadreport.New(l)
	if err != nil {
		t.Fatal(err)
	}
	for want := range []int{0, 1, 2, 3, 4} {
		if got := r.ServerMetrics().AppUtilization; got != float64(want)/4 {
			t.Fatalf("%d of 4 permits held: utilization %v", want, got)
		}
		if want < 4 {
			holdCalls(t, l, 1)
		}
	}
	if sm := r.ServerMetrics(); sm.CPUUtilization != -1 || sm.MemUtilization != -1 {
		t.Fatalf("CPU and memory must be unset: %+v", sm)
	}

	// Method limits alone: no utilization.
	lm, err := concurrency.New(concurrency.WithMethodLimit("/svc/M", 1))
	if err != nil {
		t.Fatal(err)
	}
	rm, err := loadreport.New(lm)
	if err != nil {
		t.Fatal(err)
	}
	if got := rm.ServerMetrics().AppUtilization; got != -1 {
		t.Fatalf("method limits only: utilization %v, want unset (-1)", got)
	}
}

// Rates are those of the last full window; the window ends at exactly its
// length.
func TestServerMetricsRates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := concurrency.New(concurrency.WithLimit(10))
		if err != nil {
			t.Fatal(err)
		}
		r, err := loadreport.New(l, loadreport.WithWindow(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		svc := &grpctest.Service{UnaryFunc: func(_ context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			if req.GetText() == "fail" {
				return nil, status.Error(codes.Internal, "bug")
			}
			return &testpb.UnaryResponse{}, nil
		}}
		env := grpctest.Start(t, svc, grpctest.Options{Server: r.ServerOptions()})
		call := func(n int, text string) {
			for range n {
				_, _ = env.Client.Unary(t.Context(), &testpb.UnaryRequest{Text: text})
			}
		}
		check := func(when string, qps, eps float64) {
			t.Helper()
			sm := r.ServerMetrics()
			if sm.QPS != qps || sm.EPS != eps {
				t.Fatalf("%s: qps %v eps %v, want %v %v", when, sm.QPS, sm.EPS, qps, eps)
			}
		}
		call(8, "")
		call(2, "fail")
		check("first window, under way", 10, 2)
		time.Sleep(time.Second)
		check("first window over", 10, 2)
		call(20, "")
		time.Sleep(999 * time.Millisecond)
		check("1ms before the second window ends", 10, 2)
		time.Sleep(time.Millisecond)
		check("second window over", 20, 0)
	})
}
