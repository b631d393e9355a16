package outlier_test

import (
	"strings"
	"testing"
	"testing/synctest"

	"google.golang.org/grpc/balancer"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/bulwarkrpc/bulwark/balancer/outlier"
)

func TestNewRefusesInvalidOptions(t *testing.T) {
	_, err := outlier.New(nil, outlier.WithName(""), outlier.WithMetrics(nil), outlier.WithLogger(nil), outlier.WithClassifier(nil))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"outlier: nil Option",
		`outlier: WithName(""): must be a non-empty lower-case name`,
		"outlier: WithMetrics(nil): must not be nil",
		"outlier: WithLogger(nil): must not be nil",
		"outlier: WithClassifier(nil): must not be nil",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestMetricsExposition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startCluster(t, 3, 0, `{}`)
		c.backends[1].set(unavailable)
		c.runUntil(t, c.backends[1], 5)
		if problems, err := testutil.CollectAndLint(c.metrics); err != nil || len(problems) > 0 {
			t.Fatalf("lint: %v %v", err, problems)
		}
		want := `
# HELP bulwark_outlier_ejected_endpoints Endpoints currently ejected by the outlier detection policy.
# TYPE bulwark_outlier_ejected_endpoints gauge
bulwark_outlier_ejected_endpoints{target="outliertest:///svc"} 1
# HELP bulwark_outlier_ejections_total Endpoints ejected by the outlier detection policy, by rule.
# TYPE bulwark_outlier_ejections_total counter
bulwark_outlier_ejections_total{reason="consecutive_failures",target="outliertest:///svc"} 1
# HELP bulwark_outlier_endpoints Endpoints known to the outlier detection policy, ejected or not.
# TYPE bulwark_outlier_endpoints gauge
bulwark_outlier_endpoints{target="outliertest:///svc"} 3
`
		if err := testutil.CollectAndCompare(c.metrics, strings.NewReader(want)); err != nil {
			t.Fatal(err)
		}
		// Closing the channel takes its endpoints out of the gauges.
		if err := c.conn.Close(); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := c.ejected(t); got != 0 {
			t.Fatalf("ejected gauge after Close = %v", got)
		}
		if got := metricValue(t, c.metrics, "bulwark_outlier_endpoints", nil); got != 0 {
			t.Fatalf("endpoints gauge after Close = %v", got)
		}
	})
}

func TestMetricsAddressLabel(t *testing.T) {
	m := outlier.NewMetrics(true)
	if problems, err := testutil.CollectAndLint(m); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", err, problems)
	}
	bld, err := outlier.New(outlier.WithName("bulwark_outlier_detection_addr"), outlier.WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	balancer.Register(bld)
	synctest.Test(t, func(t *testing.T) {
		c := startClusterWith(t, 3, bld, m, `{}`)
		c.backends[0].set(unavailable)
		c.runUntil(t, c.backends[0], 5)
		if got := metricValue(t, m, "bulwark_outlier_ejections_total", map[string]string{"address": "backend-0"}); got != 1 {
			t.Fatalf("ejections{address=backend-0} = %v", got)
		}
	})
}
