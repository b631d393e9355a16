package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bulwarkrpc/bulwark/examples/greeter/greeter"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// inProcess is a greeter server in this process, on loopback.
type inProcess struct {
	srv  *greeter.Server
	lis  net.Listener
	done chan struct{}
}

func startInProcess(t *testing.T, cfg greeter.Config) *inProcess {
	t.Helper()
	svc, err := greeter.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := greeter.NewServer(svc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &inProcess{srv: srv, lis: lis, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		_ = srv.GRPC.Serve(lis)
	}()
	return p
}

func (p *inProcess) address() string { return p.lis.Addr().String() }

func (p *inProcess) requests(context.Context) (int64, error) {
	return p.srv.Service.Stats().Requests, nil
}

func (p *inProcess) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p.srv.Shutdown(ctx)
	<-p.done
	return nil
}

// The three ways against in-process servers: only the run with ejection
// keeps the bad replica's share small.
func TestOneBadReplicaOfThree(t *testing.T) {
	reps := []replica{
		startInProcess(t, greeter.Config{}),
		startInProcess(t, greeter.Config{}),
		startInProcess(t, greeter.Config{FailRate: 1, FailCode: "UNAVAILABLE"}),
	}
	defer func() {
		for _, r := range reps {
			_ = r.stop()
		}
	}()
	var log bytes.Buffer
	ejectionLog.set(&log)
	defer ejectionLog.set(io.Discard)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	results, err := runAll(ctx, reps, 2, 1500, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	printTable(&out, results)
	t.Logf("\n%s", out.String())
	if err := check(results); err != nil {
		t.Fatal(err)
	}
	for _, r := range results[:2] {
		if r.badShare < 0.25 || r.success() > 0.75 {
			t.Errorf("%s: %.3f to the bad replica, %.3f success; want about a third and two thirds", r.way, r.badShare, r.success())
		}
	}
	if !strings.Contains(log.String(), `msg="outlier: endpoint ejected"`) || !strings.Contains(log.String(), reps[2].address()) {
		t.Errorf("no ejection of %s logged:\n%s", reps[2].address(), log.String())
	}
}
