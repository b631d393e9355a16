package limit

import (
	"fmt"
	"math"
)

// GradientConfig configures NewGradient. A zero field takes its default.
type GradientConfig struct {
	// Initial is the limit to start from. Default: 20, or Min when that is
	// larger.
	Initial int
	// Min is the lowest limit. Default: 1.
	Min int
	// Max is the highest limit. Default: 1000.
	Max int
	// Tolerance is how much slower than the baseline calls may get before
	// the limit shrinks; at least 1. Default: 1.25, the 25% buffer over the
	// minimum latency of Envoy's adaptive concurrency filter (Netflix's
	// Gradient2 uses 1.5, which lets a saturated server's calls take about
	// 1.6 times their unloaded latency instead of 1.35).
	Tolerance float64
	// Smoothing is the weight of each window's new estimate against the
	// previous one, in (0, 1]; lower values react more slowly. Default: 0.2.
	Smoothing float64
	// Headroom is how many calls the limit grows by after a window whose
	// latency was within tolerance, and the slack it keeps above what
	// latency alone allows, so that it finds out whether more calls would
	// be served as fast. 0 means the square root of the limit, at most
	// limit/(4×Tolerance) and at least 1. Default: 0.
	Headroom int
	// BaselineSmoothing is the weight of each quiet window's latency in the
	// baseline (see the package documentation), in (0, 1]. Default: 0.2.
	BaselineSmoothing float64
	// ProbeEvery is how many windows in a row may be busy (more than half
	// the limit in flight) before the algorithm lowers the limit (to two
	// fifths of it at the default tolerance; see Limit) until it sees a window that is
	// not, to measure the baseline again. The first
	// probe, and each probe after one that found the baseline moved by more
	// than 10%, comes after a tenth of it. Negative: never probe. Default: 50.
	ProbeEvery int
}

// gradient adapts the limit to latency; see the package documentation.
type gradient struct {
	cfg      GradientConfig
	estimate float64
	baseline float64 // nanoseconds; 0 until the first sample with a latency
	busy     int     // windows in a row with more than half the limit in flight
	probing  bool    // the limit is lowered until a quiet window measures the baseline
	probeAge int     // windows since the probe began
	soon     bool    // the next probe comes after a tenth of ProbeEvery
}

// probeWindows is how many windows a probe waits for a quiet one before it
// gives up.
const probeWindows = 4

// NewGradient returns the gradient algorithm (see the package
// documentation), or an error naming the field of c that is invalid.
func NewGradient(c GradientConfig) (Algorithm, error) {
	if c.Min == 0 {
		c.Min = 1
	}
	if c.Max == 0 {
		c.Max = max(1000, c.Min)
	}
	if c.Initial == 0 {
		c.Initial = min(max(20, c.Min), c.Max)
	}
	if c.Tolerance == 0 {
		c.Tolerance = 1.25
	}
	if c.Smoothing == 0 {
		c.Smoothing = 0.2
	}
	if c.BaselineSmoothing == 0 {
		c.BaselineSmoothing = 0.2
	}
	if c.ProbeEvery == 0 {
		c.ProbeEvery = 50
	}
	if err := checkBounds("GradientConfig", c.Initial, c.Min, c.Max); err != nil {
		return nil, err
	}
	switch {
	case !(c.Tolerance >= 1) || math.IsInf(c.Tolerance, 1):
		return nil, fmt.Errorf("limit: GradientConfig.Tolerance %v: must be at least 1", c.Tolerance)
	case !(c.Smoothing > 0 && c.Smoothing <= 1):
		return nil, fmt.Errorf("limit: GradientConfig.Smoothing %v: must be in (0, 1]", c.Smoothing)
	case !(c.BaselineSmoothing > 0 && c.BaselineSmoothing <= 1):
		return nil, fmt.Errorf("limit: GradientConfig.BaselineSmoothing %v: must be in (0, 1]", c.BaselineSmoothing)
	case c.Headroom < 0:
		return nil, fmt.Errorf("limit: GradientConfig.Headroom %d: must not be negative", c.Headroom)
	}
	return &gradient{cfg: c, estimate: float64(c.Initial), soon: true}, nil
}

// Limit returns the current limit: while probing, the estimate divided by
// twice the tolerance (two fifths of it at the default tolerance).
func (g *gradient) Limit() int {
	if g.probing {
		return max(g.cfg.Min, int(g.estimate/(2*g.cfg.Tolerance)))
	}
	return int(g.estimate)
}

// Update records the sample of one window and returns the new limit.
func (g *gradient) Update(s Sample) int {
	if s.Calls <= 0 {
		return g.Limit()
	}
	// A window with at most half the estimate in flight did not use the
	// limit: it says nothing about a larger one. A quiet window, with at
	// most estimate/(2×Tolerance) in flight, cannot have queued even if the
	// estimate is Tolerance times the capacity: its latency is the
	// baseline's to learn from. Probes make quiet windows.
	idle := float64(s.InFlight)*2 <= g.estimate
	quiet := float64(s.InFlight)*2*g.cfg.Tolerance <= g.estimate
	rtt := float64(s.RTT)
	if rtt > 0 {
		g.learnBaseline(rtt, quiet)
	}
	if idle {
		g.busy = 0
	} else {
		g.busy++
	}
	if g.probing {
		g.probeAge++
		if quiet || g.probeAge >= probeWindows {
			g.probing, g.probeAge = false, 0
		}
		return g.Limit()
	}
	if idle && s.Drops == 0 {
		return g.Limit() // nothing learnt about a larger limit
	}
	g.step(s, rtt)
	if every := g.probeEvery(); every > 0 && g.busy >= every && g.baseline > 0 {
		g.busy, g.probing, g.probeAge = 0, true, 0
	}
	return g.Limit()
}

// learnBaseline takes a window's latency into the baseline: the first one;
// a probe's that is lower, at once; a quiet window's (or any at the
// minimum limit), smoothed.
func (g *gradient) learnBaseline(rtt float64, quiet bool) {
	switch {
	case g.baseline == 0:
		g.baseline = rtt
	case g.probing && quiet && rtt < g.baseline:
		// A probe that finds the baseline lower takes it at once, and the
		// next probe comes soon if it was much lower: the baseline was
		// learnt while calls queued.
		g.soon = rtt < 0.8*g.baseline
		g.baseline = rtt
	case quiet || g.estimate <= float64(g.cfg.Min):
		if g.probing {
			g.soon = false
		}
		g.baseline += (rtt - g.baseline) * g.cfg.BaselineSmoothing
	}
}

// step moves the estimate by the window's gradient: grown by the headroom
// when the latency is within the tolerance of the baseline and nothing was
// dropped, shrunk (smoothed) otherwise.
func (g *gradient) step(s Sample, rtt float64) {
	gradient := 1.0
	if rtt > 0 {
		gradient = g.cfg.Tolerance * g.baseline / rtt
	}
	if s.Drops > 0 {
		gradient = min(gradient, 1-float64(min(s.Drops, s.Calls))/float64(s.Calls))
	}
	gradient = max(0.5, min(1, gradient))
	headroom := float64(g.cfg.Headroom)
	if headroom == 0 {
		// The square root, but small enough next to a small limit that a
		// probe still gets below the capacity the limit settles on.
		headroom = max(1, min(math.Sqrt(g.estimate), g.estimate/(4*g.cfg.Tolerance)))
	}
	if gradient >= 1 {
		g.estimate += headroom // grow at once; only shrinking is smoothed
	} else {
		next := g.estimate * gradient
		g.estimate = g.estimate*(1-g.cfg.Smoothing) + next*g.cfg.Smoothing
	}
	g.estimate = clamp(g.estimate, g.cfg.Min, g.cfg.Max)
}

// probeEvery returns how many busy windows the next probe waits for.
func (g *gradient) probeEvery() int {
	if g.cfg.ProbeEvery < 0 {
		return 0
	}
	if g.soon {
		return max(1, g.cfg.ProbeEvery/10)
	}
	return g.cfg.ProbeEvery
}
