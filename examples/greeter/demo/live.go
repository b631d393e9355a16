package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/examples/greeter/greeter"
	"github.com/bulwarkrpc/bulwark/examples/greeter/internal/workload"
)

// The live part's workload: about liveRate × liveLatency = 4 calls in
// flight, well within the limit of 8 and twice the lowered limit of 2.
const (
	liveLatency  = 100 * time.Millisecond
	liveCalls    = 40
	liveRate     = 40
	liveLowLimit = 2
	// liveMargin is how much more of the calls the lowered limit must shed
	// than the limit of 8, before and after: about half of them against
	// none, on an idle machine.
	liveMargin = 0.2
)

// liveConfig is the Bulwark server's -config file, at the start and after
// the demo rewrites it.
const liveConfig = `{"limit": 8}` + "\n"

// writeLiveFile writes the Bulwark server's -config file into a new
// temporary directory and returns its path and a function that removes it.
func writeLiveFile() (string, func(), error) {
	dir, err := os.MkdirTemp("", "greeter-demo-")
	if err != nil {
		return "", nil, err
	}
	path := filepath.Join(dir, "bulwark.json")
	if err := os.WriteFile(path, []byte(liveConfig), 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, err
	}
	return path, func() { _ = os.RemoveAll(dir) }, nil
}

// liveDemo is part 3: the Bulwark server's limit changed while it serves.
type liveDemo struct {
	w    io.Writer
	bin  string
	srv  *server
	path string // the server's -config file
	http *http.Client
}

// reconfigure runs part 3 against srv, started with -config path, and
// returns how many checks were not as expected.
func reconfigure(ctx context.Context, w io.Writer, bin string, srv *server, path string) int {
	d := &liveDemo{w: w, bin: bin, srv: srv, path: path, http: &http.Client{Timeout: 5 * time.Second}}
	defer d.http.CloseIdleConnections()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Part 3: live reconfiguration. The Bulwark server read its load-shedding limit from a file")
	fmt.Fprintln(w, "(-config); POST /config changes it while it serves, and so does SIGHUP once the file is edited.")
	fmt.Fprintf(w, "Every call now takes %v (/faults?latency=%v), so %d calls at %d/s keep about %d in flight.\n",
		liveLatency, liveLatency, liveCalls, liveRate, int(liveRate*liveLatency.Seconds()))
	fmt.Fprintln(w, "The bare client sends each call once, so what it gets is the server's shedding as it is")
	fmt.Fprintln(w, "(shed: refused at once with SERVER_OVERLOADED):")
	fmt.Fprintf(w, "  $ greeter-client %s\n", joinArgs(d.clientArgs()))
	fmt.Fprintf(w, "  %s: %s\n", path, strings.TrimSpace(liveConfig))

	err := srv.setFaults(ctx, d.http, resetFaults) // what the scenarios left
	if err == nil {
		err = srv.setFaults(ctx, d.http, "latency="+liveLatency.String())
	}
	if err != nil {
		fmt.Fprintf(w, "  -> NOT AS EXPECTED: %v\n", err)
		return 1
	}
	defer func() {
		// Later parts, if any, run without the latency.
		if err := srv.setFaults(context.WithoutCancel(ctx), d.http, resetFaults); err != nil {
			fmt.Fprintf(w, "  (resetting the faults: %v)\n", err)
		}
	}()
	problems, err := d.steps(ctx)
	if err != nil {
		problems = append(problems, err.Error())
	}
	for _, p := range problems {
		fmt.Fprintf(w, "  -> NOT AS EXPECTED: %s\n", p)
	}
	return len(problems)
}

// steps runs the three phases and the changes between them. It returns
// the checks that failed, and an error when it could not go on.
func (d *liveDemo) steps(ctx context.Context) (problems []string, err error) {
	shed := make([]float64, 0, 3)
	phase := func(label string) error {
		s, err := d.load(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		n := s.AppCodes[errdetails.CodeServerOverloaded]
		if other := s.Calls - s.OK - n; other != 0 {
			problems = append(problems, fmt.Sprintf("%s: %d calls failed otherwise than by shedding: %v", label, other, s.Codes))
		}
		share := float64(n) / float64(max(1, s.Calls))
		shed = append(shed, share)
		fmt.Fprintf(d.w, "  [%d/3] %-29s %d calls -> %5s shed, p99 %s\n", len(shed), label, s.Calls, pct(share), ms(s.P99Millis))
		return nil
	}

	if err := phase("limit 8, from the file:"); err != nil {
		return problems, err
	}

	lower := fmt.Sprintf(`{"limit": %d}`, liveLowLimit)
	code, body, err := d.post(ctx, lower)
	if err != nil {
		return problems, err
	}
	fmt.Fprintf(d.w, "  POST /config %s -> %d %s\n", lower, code, body)
	if l, err := d.live(ctx); err != nil || code != http.StatusOK || l.Limit != liveLowLimit {
		return problems, fmt.Errorf("POST /config %s: %d %s; then GET /config: %+v, %v", lower, code, body, l, err)
	}

	if err := phase(fmt.Sprintf("limit %d, after POST /config:", liveLowLimit)); err != nil {
		return problems, err
	}

	// The demo's server has no breaker: the chain refuses to configure one.
	refused := fmt.Sprintf(`{"limit": %d, "breaker_failures": 3}`, liveLowLimit)
	code, body, err = d.post(ctx, refused)
	if err != nil {
		return problems, err
	}
	fmt.Fprintf(d.w, "  POST /config %s -> %d %s\n", refused, code, body)
	l, err := d.live(ctx)
	if err != nil {
		return problems, err
	}
	fmt.Fprintf(d.w, "     GET /config: limit %d still\n", l.Limit)
	if code != http.StatusBadRequest || !strings.Contains(body, "WithCircuitBreaker") || l.Limit != liveLowLimit {
		problems = append(problems, fmt.Sprintf("POST /config %s: %d %s, then limit %d; want 400 naming WithCircuitBreaker, and limit %d kept",
			refused, code, body, l.Limit, liveLowLimit))
	}

	took, err := d.hup(ctx)
	if err != nil {
		return problems, err
	}
	fmt.Fprintf(d.w, "  %s rewritten (%s), SIGHUP sent -> GET /config says limit 8 after %s\n",
		filepath.Base(d.path), strings.TrimSpace(liveConfig), ms(float64(took.Microseconds())/1000))

	if err := phase("limit 8, after SIGHUP:"); err != nil {
		return problems, err
	}

	ok, refusedN, err := d.reloads(ctx)
	if err != nil {
		return problems, err
	}
	fmt.Fprintf(d.w, "  /metrics: bulwark_config_reloads_total{result=\"ok\"} %g, {result=\"error\"} %g\n", ok, refusedN)

	if shed[1] < shed[0]+liveMargin {
		problems = append(problems, fmt.Sprintf("lowering the limit to %d shed %s of the calls against %s at 8; want at least %.0f points more",
			liveLowLimit, pct(shed[1]), pct(shed[0]), 100*liveMargin))
	}
	if shed[2] > shed[1]-liveMargin {
		problems = append(problems, fmt.Sprintf("raising the limit back to 8 shed %s of the calls against %s at %d; want at least %.0f points fewer",
			pct(shed[2]), pct(shed[1]), liveLowLimit, 100*liveMargin))
	}
	if ok != 2 || refusedN != 1 {
		problems = append(problems, fmt.Sprintf("bulwark_config_reloads_total: ok %g, error %g; want 2 (POST, SIGHUP) and 1 (the refused POST)", ok, refusedN))
	}
	if len(problems) == 0 {
		fmt.Fprintf(d.w, "  -> as expected: the limit of %d shed %s of the calls against %s and %s at 8, with no restart; the refused change changed nothing\n",
			liveLowLimit, pct(shed[1]), pct(shed[0]), pct(shed[2]))
	}
	return problems, nil
}

// clientArgs are the flags of each phase's client.
func (d *liveDemo) clientArgs() []string {
	return []string{"-bare", "-json", "-n", strconv.Itoa(liveCalls), "-rate", strconv.Itoa(liveRate), "-c", "100", "-deadline", "2s"}
}

// load runs the client once and returns its summary.
func (d *liveDemo) load(ctx context.Context) (*workload.Summary, error) {
	ctx, cancel := context.WithTimeout(ctx, clientTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(d.bin, "greeter-client"), append([]string{"-target", d.srv.Addr}, d.clientArgs()...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("the client failed: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var s workload.Summary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		return nil, fmt.Errorf("reading the client's JSON: %v: %q", err, stdout.String())
	}
	if s.Calls != liveCalls {
		return nil, fmt.Errorf("the client made %d calls; want %d", s.Calls, liveCalls)
	}
	return &s, nil
}

// post sends body to POST /config and returns the status and the answer.
func (d *liveDemo) post(ctx context.Context, body string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.srv.HTTPURL+"/config", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return resp.StatusCode, strings.TrimSpace(string(answer)), err
}

// live returns the settings GET /config shows.
func (d *liveDemo) live(ctx context.Context) (greeter.Live, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.srv.HTTPURL+"/config", nil)
	if err != nil {
		return greeter.Live{}, err
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return greeter.Live{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return greeter.Live{}, fmt.Errorf("GET /config: %s", resp.Status)
	}
	return greeter.ReadLive(resp.Body)
}

// hupWait bounds how long the server may take to apply its file after
// SIGHUP.
const hupWait = 5 * time.Second

// hup rewrites the server's file with liveConfig, sends it SIGHUP and waits
// until GET /config shows the file's limit; it returns how long that took.
func (d *liveDemo) hup(ctx context.Context) (time.Duration, error) {
	if err := os.WriteFile(d.path, []byte(liveConfig), 0o600); err != nil {
		return 0, err
	}
	begin := time.Now()
	if err := d.srv.Signal(syscall.SIGHUP); err != nil {
		return 0, fmt.Errorf("SIGHUP: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, hupWait)
	defer cancel()
	for {
		l, err := d.live(ctx)
		if err == nil && l.Limit == 8 {
			return time.Since(begin), nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("GET /config after SIGHUP: limit %d, %v; want 8 within %v\n%s", l.Limit, err, hupWait, d.srv.Stderr.String())
		case <-time.After(10 * time.Millisecond): // look again
		}
	}
}

// reloads reads bulwark_config_reloads_total from the server's /metrics.
func (d *liveDemo) reloads(ctx context.Context) (ok, refused float64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.srv.HTTPURL+"/metrics", nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	found := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), " ")
		var dst *float64
		switch name {
		case `bulwark_config_reloads_total{result="ok"}`:
			dst = &ok
		case `bulwark_config_reloads_total{result="error"}`:
			dst = &refused
		default:
			continue
		}
		if *dst, err = strconv.ParseFloat(value, 64); err != nil {
			return 0, 0, fmt.Errorf("/metrics: %q: %w", sc.Text(), err)
		}
		found++
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if found != 2 {
		return 0, 0, errors.New("/metrics has no bulwark_config_reloads_total{result=\"ok\"} and {result=\"error\"}")
	}
	return ok, refused, nil
}
