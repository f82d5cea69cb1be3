package kpi_test

import (
	"testing"

	"github.com/confab/confab/internal/kpi"
)

// TestComputedCounters: a CounterFunc is reset like a cumulative counter
// (its value since the reset), a LabelledGauge reads its function, and
// a taken name returns the first counter.
func TestComputedCounters(t *testing.T) {
	s := kpi.New()
	var raw, live int64 = 5, 2
	c := s.CounterFunc("offers", "x_offers_total", "h", func() int64 { return raw })
	g := s.LabelledGauge("agents_ready", "x_agents", "state", "ready", "h", func() int64 { return live })
	if s.CounterFunc("offers", "y", "h", func() int64 { return 99 }) != c {
		t.Fatal("a taken name made a new counter")
	}
	if c.Value() != 5 || g.Value() != 2 {
		t.Fatalf("values %d %d", c.Value(), g.Value())
	}
	s.Reset()
	raw, live = 8, 3
	if c.Value() != 3 {
		t.Errorf("after a reset the counter is %d, want 3 (8 - 5)", c.Value())
	}
	if g.Value() != 3 {
		t.Errorf("gauge %d after a reset, want 3", g.Value())
	}
	r := s.NewReader()
	r.Changed()
	raw = 9
	if !r.Changed() {
		t.Error("a computed cumulative counter moving is not a change")
	}
}
