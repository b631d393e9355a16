package limit_test

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency/limit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestAIMD(t *testing.T) {
	tests := []struct {
		name    string
		cfg     limit.AIMDConfig
		samples []limit.Sample
		want    []int
	}{
		{
			name:    "grows while at least half is used",
			cfg:     limit.AIMDConfig{Initial: 10},
			samples: []limit.Sample{{Calls: 5, InFlight: 5, RTT: time.Millisecond}, {Calls: 5, InFlight: 9}, {Calls: 5, InFlight: 4}},
			want:    []int{11, 12, 12},
		},
		{
			name:    "backs off after a drop, by at least one",
			cfg:     limit.AIMDConfig{Initial: 100, Min: 5},
			samples: []limit.Sample{{Calls: 5, Drops: 1}, {Calls: 5, Drops: 5}, {Calls: 1, Drops: 1}},
			want:    []int{90, 81, 72},
		},
		{
			name:    "small limits shrink by one and stop at Min",
			cfg:     limit.AIMDConfig{Initial: 4, Min: 2, Backoff: 0.99},
			samples: []limit.Sample{{Calls: 1, Drops: 1}, {Calls: 1, Drops: 1}, {Calls: 1, Drops: 1}},
			want:    []int{3, 2, 2},
		},
		{
			name:    "slow window counts as a drop with a timeout",
			cfg:     limit.AIMDConfig{Initial: 10, Timeout: 50 * time.Millisecond},
			samples: []limit.Sample{{Calls: 3, InFlight: 10, RTT: 60 * time.Millisecond}, {Calls: 3, InFlight: 10, RTT: 40 * time.Millisecond}},
			want:    []int{9, 10},
		},
		{
			name:    "stops at Max; empty windows change nothing",
			cfg:     limit.AIMDConfig{Initial: 3, Max: 4},
			samples: []limit.Sample{{Calls: 1, InFlight: 3}, {Calls: 1, InFlight: 4}, {}},
			want:    []int{4, 4, 4},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := limit.NewAIMD(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tc.samples {
				if got := a.Update(s); got != tc.want[i] || a.Limit() != got {
					t.Fatalf("Update #%d (%+v) = %d, Limit %d; want %d", i, s, got, a.Limit(), tc.want[i])
				}
			}
		})
	}
}

// saturated returns the sample of a window in which a server with the given
// capacity, each call taking base alone, runs inFlight calls at once: calls
// share the capacity, so latency grows with what runs beyond it.
func saturated(inFlight, capacity int, base time.Duration) limit.Sample {
	rtt := base
	if inFlight > capacity {
		rtt = base * time.Duration(inFlight) / time.Duration(capacity)
	}
	return limit.Sample{RTT: rtt, InFlight: inFlight, Calls: 20}
}

func TestGradientSettlesNearCapacity(t *testing.T) {
	tests := []struct {
		name     string
		initial  int
		capacity int
	}{
		{"starts above capacity", 100, 16},
		{"starts below capacity", 4, 64},
		{"small capacity", 20, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := limit.NewGradient(limit.GradientConfig{Initial: tc.initial})
			if err != nil {
				t.Fatal(err)
			}
			const base = 50 * time.Millisecond
			for range 300 {
				g.Update(saturated(g.Limit(), tc.capacity, base))
			}
			// Look at a whole probe cycle, not one window.
			lo, hi := g.Limit(), g.Limit()
			for range 60 {
				l := g.Update(saturated(g.Limit(), tc.capacity, base))
				lo, hi = min(lo, l), max(hi, l)
			}
			if lo*3 < tc.capacity || hi > 2*tc.capacity {
				t.Errorf("limit ranged over [%d, %d]; want within [capacity/3, 2×capacity] = [%d, %d]", lo, hi, tc.capacity/3, 2*tc.capacity)
			}
			if b := limit.Baseline(g); b < base*9/10 || b > base*11/10 {
				t.Errorf("Baseline = %v; want about %v", b, base)
			}
		})
	}
}

func TestGradientIdleWindowsKeepLimit(t *testing.T) {
	g, err := limit.NewGradient(limit.GradientConfig{Initial: 40})
	if err != nil {
		t.Fatal(err)
	}
	g.Update(limit.Sample{RTT: 10 * time.Millisecond, InFlight: 5, Calls: 10})
	for _, rtt := range []time.Duration{10, 100, 1} {
		if got := g.Update(limit.Sample{RTT: rtt * time.Millisecond, InFlight: 10, Calls: 10}); got != 40 {
			t.Fatalf("an idle window with latency %v moved the limit to %d; want 40", rtt, got)
		}
	}
}

func TestGradientDropsShrink(t *testing.T) {
	g, err := limit.NewGradient(limit.GradientConfig{Initial: 100, Min: 10})
	if err != nil {
		t.Fatal(err)
	}
	prev := g.Limit()
	for range 50 {
		next := g.Update(limit.Sample{InFlight: 100, Calls: 10, Drops: 10})
		if next > prev {
			t.Fatalf("limit grew from %d to %d on a window of drops", prev, next)
		}
		prev = next
	}
	if prev != 10 {
		t.Errorf("limit after 50 windows of drops = %d; want Min 10", prev)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		err  func() error
		want string
	}{
		{func() error { _, e := limit.NewAIMD(limit.AIMDConfig{Min: -1}); return e }, "limit: AIMDConfig.Min -1: must be at least 1"},
		{func() error { _, e := limit.NewAIMD(limit.AIMDConfig{Min: 5, Max: 4}); return e }, "limit: AIMDConfig.Max 4: must be at least Min (5)"},
		{func() error { _, e := limit.NewAIMD(limit.AIMDConfig{Initial: 2000}); return e }, "limit: AIMDConfig.Initial 2000"},
		{func() error { _, e := limit.NewAIMD(limit.AIMDConfig{Backoff: 1}); return e }, "limit: AIMDConfig.Backoff 1: must be in (0, 1)"},
		{func() error { _, e := limit.NewAIMD(limit.AIMDConfig{Timeout: -1}); return e }, "limit: AIMDConfig.Timeout"},
		{func() error { _, e := limit.NewGradient(limit.GradientConfig{Tolerance: 0.9}); return e }, "limit: GradientConfig.Tolerance 0.9: must be at least 1"},
		{func() error { _, e := limit.NewGradient(limit.GradientConfig{Smoothing: 2}); return e }, "limit: GradientConfig.Smoothing 2"},
		{func() error { _, e := limit.NewGradient(limit.GradientConfig{BaselineSmoothing: -1}); return e }, "limit: GradientConfig.BaselineSmoothing -1"},
		{func() error { _, e := limit.NewGradient(limit.GradientConfig{Headroom: -1}); return e }, "limit: GradientConfig.Headroom -1"},
		{func() error {
			_, e := limit.NewGradient(limit.GradientConfig{Min: 0, Max: 0, Initial: 1, Tolerance: 1})
			return e
		}, ""},
	}
	for _, tc := range tests {
		err := tc.err()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("unexpected error %v", err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
			t.Errorf("error = %v; want prefix %q", err, tc.want)
		}
	}
}

// samples turns fuzz bytes into window samples, 7 bytes each.
func samples(data []byte) []limit.Sample {
	var out []limit.Sample
	for len(data) >= 7 {
		calls := int(data[0])
		out = append(out, limit.Sample{
			RTT:      time.Duration(binary.LittleEndian.Uint32(data[1:5])) * time.Microsecond,
			InFlight: int(data[5]) * 4,
			Calls:    calls,
			Drops:    min(calls, int(data[6])),
		})
		data = data[7:]
	}
	return out
}

func bounds(lo, span uint8) (int, int) {
	return 1 + int(lo), 1 + int(lo) + int(span)
}

func FuzzAIMD(f *testing.F) {
	f.Add(uint8(0), uint8(50), 0.9, []byte{10, 0, 1, 0, 0, 5, 0, 10, 0, 1, 0, 0, 5, 3})
	f.Add(uint8(4), uint8(0), 0.5, []byte{1, 255, 255, 255, 255, 255, 255})
	f.Fuzz(func(t *testing.T, lo, span uint8, backoff float64, data []byte) {
		mn, mx := bounds(lo, span)
		a, err := limit.NewAIMD(limit.AIMDConfig{Min: mn, Max: mx, Initial: mn, Backoff: backoff, Timeout: time.Second})
		if err != nil {
			return // invalid backoff
		}
		for _, s := range samples(data) {
			if got := a.Update(s); got < mn || got > mx || got != a.Limit() {
				t.Fatalf("Update(%+v) = %d (Limit %d); want within [%d, %d]", s, got, a.Limit(), mn, mx)
			}
		}
	})
}

func FuzzGradient(f *testing.F) {
	f.Add(uint8(0), uint8(100), 1.5, 0.2, []byte{20, 0x50, 0xc3, 0, 0, 5, 0, 20, 0xa0, 0x86, 1, 0, 30, 0, 20, 0, 0, 0, 0, 30, 20})
	f.Add(uint8(9), uint8(0), 1.0, 1.0, []byte{1, 1, 0, 0, 0, 255, 0})
	f.Add(uint8(0), uint8(255), 3.0, 0.01, []byte{255, 255, 255, 255, 255, 0, 0, 255, 1, 0, 0, 0, 255, 0})
	f.Fuzz(func(t *testing.T, lo, span uint8, tolerance, smoothing float64, data []byte) {
		mn, mx := bounds(lo, span)
		g, err := limit.NewGradient(limit.GradientConfig{Min: mn, Max: mx, Initial: mx, Tolerance: tolerance, Smoothing: smoothing, ProbeEvery: 5})
		if err != nil {
			return // invalid tolerance or smoothing
		}
		for _, s := range samples(data) {
			if got := g.Update(s); got < mn || got > mx || got != g.Limit() {
				t.Fatalf("Update(%+v) = %d (Limit %d); want within [%d, %d]", s, got, g.Limit(), mn, mx)
			}
			if limit.Baseline(g) < 0 {
				t.Fatalf("Baseline = %v", limit.Baseline(g))
			}
		}
	})
}
