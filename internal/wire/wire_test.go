package wire

import (
	"testing"
	"time"
)

func TestPushbackValue(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "", -1: "-1", -time.Hour: "-1", time.Nanosecond: "1", time.Millisecond: "1",
		1500 * time.Microsecond: "2", 250 * time.Millisecond: "250", 3 * time.Second: "3000",
	} {
		if got := PushbackValue(d); got != want {
			t.Errorf("PushbackValue(%v) = %q; want %q", d, got, want)
		}
	}
}
