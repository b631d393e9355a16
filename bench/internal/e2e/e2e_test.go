package e2e

import (
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/bulwarkrpc/bulwark/bench/internal/stacks"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRunSmoke runs a tiny load through every stack: the calls succeed and
// every implementation gets its ratios. It asserts nothing about speed.
func TestRunSmoke(t *testing.T) {
	cfg := Config{
		Impls: stacks.Impls, Log: true, Rounds: 2, Calls: 200, InFlight: []int{4},
		Streams: 4, Messages: 10, StreamsOpen: 2, Warmup: 10,
	}
	res, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	rows := res.Rows()
	if want := len(stacks.Impls) + 2; len(rows) != want { // streams: bare and bulwark
		t.Fatalf("got %d rows, want %d", len(rows), want)
	}
	for _, row := range rows {
		if row.Rounds != cfg.Rounds {
			t.Errorf("%s %s: %d rounds, want %d", row.Workload, row.Impl, row.Rounds, cfg.Rounds)
		}
		if row.ThroughputRatio.Median <= 0 || row.P50Ratio.Median <= 0 || row.P99Ratio.Median <= 0 {
			t.Errorf("%s %s: ratios not computed: %+v", row.Workload, row.Impl, row)
		}
		if row.Impl == "bare" && (row.ThroughputRatio != Ratio{1, 1, 1} || row.AllocsDelta != Ratio{}) {
			t.Errorf("%s bare: ratios to itself %+v, allocs %+v; want 1 and 0", row.Workload, row.ThroughputRatio, row.AllocsDelta)
		}
	}
	var md strings.Builder
	res.Markdown(&md)
	if got := strings.Count(md.String(), "\n"); got != len(rows)+2 {
		t.Errorf("markdown has %d lines, want %d:\n%s", got, len(rows)+2, md.String())
	}
}

// TestRunAlone runs one implementation without bare: figures, no ratios.
func TestRunAlone(t *testing.T) {
	res, err := Run(t.Context(), Config{Impls: []string{"bulwark"}, Rounds: 1, Calls: 20, InFlight: []int{2}, Warmup: 2})
	if err != nil {
		t.Fatal(err)
	}
	rows := res.Rows()
	if len(rows) != 1 || rows[0].Rounds != 1 || rows[0].Throughput <= 0 || rows[0].ThroughputRatio != (Ratio{}) {
		t.Errorf("rows %+v: want one with figures and no ratios", rows)
	}
}

func TestConfigRefused(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no impl":     {Rounds: 1, Calls: 1, InFlight: []int{1}, Warmup: 1},
		"no calls":    {Impls: []string{"bare"}, Rounds: 1, InFlight: []int{1}, Warmup: 1},
		"no workload": {Impls: []string{"bare"}, Rounds: 1, Calls: 1, Warmup: 1},
		"no callers":  {Impls: []string{"bare"}, Rounds: 1, Calls: 1, InFlight: []int{0}, Warmup: 1},
		"no messages": {Impls: []string{"bare"}, Rounds: 1, Calls: 1, InFlight: []int{1}, Warmup: 1, Streams: 1, StreamsOpen: 1},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Run(t.Context(), cfg); err == nil {
				t.Error("Run accepted the configuration")
			}
		})
	}
}
