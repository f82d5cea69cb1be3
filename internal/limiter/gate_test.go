package limiter

import (
	"testing"
	"time"
)

// TestGate checks the report gate on a made-up timeline: a burst per
// period, the held-back events counted and handed to the next that passes.
func TestGate(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	g := &Gate{Every: time.Second, Burst: 2}
	for _, tc := range []struct {
		at         time.Duration
		ok         bool
		suppressed int64
	}{
		{0, true, 0},
		{100 * time.Millisecond, true, 0},
		{200 * time.Millisecond, false, 0},
		{999 * time.Millisecond, false, 0},
		{time.Second, true, 2},
		{1100 * time.Millisecond, true, 0},
		{1200 * time.Millisecond, false, 0},
		{5 * time.Second, true, 1},
	} {
		ok, n := g.Allow(t0.Add(tc.at))
		if ok != tc.ok || n != tc.suppressed {
			t.Errorf("at %v: Allow = %v, %d; want %v, %d", tc.at, ok, n, tc.ok, tc.suppressed)
		}
	}
	var z Gate // defaults: 10 a second
	n := 0
	for i := range 50 {
		if ok, _ := z.Allow(t0.Add(time.Duration(i) * time.Millisecond)); ok {
			n++
		}
	}
	if n != 10 {
		t.Errorf("zero Gate let %d of 50 through in 50 ms, want 10", n)
	}
}
