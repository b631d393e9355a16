package concurrency

import "testing"

func TestReasonAndCriticalityText(t *testing.T) {
	want := []string{"limit", "shed_priority", "queue_full", "queue_timeout", "deadline", "canceled"}
	for i, w := range want {
		if got := reason(i + 1).String(); got != w {
			t.Errorf("reason(%d) = %q; want %q", i+1, got, w)
		}
	}
	if reason(0).String() != "unknown" || reason(99).String() != "unknown" {
		t.Error("unknown reasons")
	}
	for _, c := range []Criticality{DefaultCriticality, Critical, Sheddable} {
		if got, ok := parseCriticality(c.String()); !ok || got != c {
			t.Errorf("parseCriticality(%q) = %v, %v", c.String(), got, ok)
		}
	}
	if _, ok := parseCriticality("CRITICAL"); ok {
		t.Error("parseCriticality accepted upper case")
	}
}
