package deploy

import (
	"testing"
	"time"
)

// TestPause: readiness waits look often at first, then at the interval.
func TestPause(t *testing.T) {
	tests := []struct {
		elapsed, interval, want time.Duration
	}{
		{0, time.Second, 100 * time.Millisecond},
		{1900 * time.Millisecond, time.Second, 100 * time.Millisecond},
		{2 * time.Second, time.Second, 250 * time.Millisecond},
		{4 * time.Second, time.Second, 250 * time.Millisecond},
		{5 * time.Second, time.Second, time.Second},
		{time.Minute, 2 * time.Second, 2 * time.Second},
		{0, 50 * time.Millisecond, 50 * time.Millisecond},
		{3 * time.Second, 50 * time.Millisecond, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := pause(tt.elapsed, tt.interval); got != tt.want {
			t.Errorf("pause(%s, %s) = %s, want %s", tt.elapsed, tt.interval, got, tt.want)
		}
	}
}
