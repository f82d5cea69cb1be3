package clock_test

import (
	"testing"
	"time"

	"github.com/confab/confab/internal/clock"
)

func TestFakeRunsDueTimersInOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := clock.NewFake(t0)
	var got []string
	c.AfterFunc(3*time.Second, func() { got = append(got, "c") })
	c.AfterFunc(1*time.Second, func() { got = append(got, "a") })
	stopped := c.AfterFunc(2*time.Second, func() { got = append(got, "stopped") })
	c.AfterFunc(2*time.Second, func() {
		got = append(got, "b")
		// A timer scheduled by a callback that falls within the advance runs too.
		c.AfterFunc(500*time.Millisecond, func() { got = append(got, "b2") })
	})
	if !stopped.Stop() {
		t.Fatal("Stop on a pending timer reported false")
	}
	c.Advance(2500 * time.Millisecond)
	if want := "a b b2"; join(got) != want {
		t.Fatalf("after 2.5s ran %q, want %q", join(got), want)
	}
	if now := c.Now(); !now.Equal(t0.Add(2500 * time.Millisecond)) {
		t.Fatalf("Now = %v, want t0+2.5s", now)
	}
	c.Advance(time.Second)
	if want := "a b b2 c"; join(got) != want {
		t.Fatalf("after 3.5s ran %q, want %q", join(got), want)
	}
	if c.Pending() != 0 {
		t.Fatalf("Pending = %d, want 0", c.Pending())
	}
}

func TestFakeReset(t *testing.T) {
	c := clock.NewFake(time.Unix(0, 0))
	fired := 0
	tm := c.AfterFunc(time.Second, func() { fired++ })
	c.Advance(900 * time.Millisecond)
	if !tm.Reset(time.Second) {
		t.Fatal("Reset of a pending timer reported false")
	}
	c.Advance(900 * time.Millisecond)
	if fired != 0 {
		t.Fatalf("fired %d times before the reset deadline", fired)
	}
	c.Advance(200 * time.Millisecond)
	if fired != 1 {
		t.Fatalf("fired %d times, want 1", fired)
	}
	if tm.Stop() {
		t.Fatal("Stop after firing reported true")
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}
