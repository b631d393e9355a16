package opentelemetry_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// point is one data point of an instrument, reduced to what two
// implementations can share: its attributes, count (a counter's value or a
// histogram's count), sum and bucket boundaries.
type point struct {
	attrs  string // k=v,k=v sorted
	keys   string // the keys alone
	count  int64
	sum    float64
	bounds []float64
}

// instrument is one instrument as a reader saw it.
type instrument struct {
	unit   string
	points map[string]point // by attrs
}

// collect reads every instrument of r by name.
func collect(t *testing.T, r *sdkmetric.ManualReader) map[string]instrument {
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	out := map[string]instrument{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			in := instrument{unit: m.Unit, points: map[string]point{}}
			add := func(set attribute.Set, p point) {
				p.attrs, p.keys = attrString(set)
				in.points[p.attrs] = p
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					add(dp.Attributes, point{count: dp.Value, sum: float64(dp.Value)})
				}
			case metricdata.Sum[float64]:
				for _, dp := range d.DataPoints {
					add(dp.Attributes, point{count: int64(dp.Value), sum: dp.Value})
				}
			case metricdata.Gauge[int64]:
				for _, dp := range d.DataPoints {
					add(dp.Attributes, point{count: dp.Value, sum: float64(dp.Value)})
				}
			case metricdata.Gauge[float64]:
				for _, dp := range d.DataPoints {
					add(dp.Attributes, point{sum: dp.Value})
				}
			case metricdata.Histogram[int64]:
				for _, dp := range d.DataPoints {
					add(dp.Attributes, point{count: int64(dp.Count), sum: float64(dp.Sum), bounds: dp.Bounds})
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					add(dp.Attributes, point{count: int64(dp.Count), sum: dp.Sum, bounds: dp.Bounds})
				}
			default:
				t.Fatalf("%s: unexpected data %T", m.Name, m.Data)
			}
			out[m.Name] = in
		}
	}
	return out
}

func attrString(set attribute.Set) (attrs, keys string) {
	var kv, ks []string
	for _, a := range set.ToSlice() {
		kv = append(kv, string(a.Key)+"="+a.Value.String())
		ks = append(ks, string(a.Key))
	}
	sort.Strings(kv)
	sort.Strings(ks)
	return strings.Join(kv, ","), strings.Join(ks, ",")
}

// keySets returns the distinct attribute key sets of in's points.
func (in instrument) keySets() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range in.points {
		if !seen[p.keys] {
			seen[p.keys] = true
			out = append(out, p.keys)
		}
	}
	sort.Strings(out)
	return out
}

// only returns the single point of in, failing when it has another number.
func (in instrument) only(t *testing.T, name string) point {
	if len(in.points) != 1 {
		t.Fatalf("%s: %d points, want 1: %v", name, len(in.points), in.points)
	}
	for _, p := range in.points {
		return p
	}
	return point{}
}
