package limits_test

import (
	"errors"
	"testing"
	"time"

	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/kpi"
	"github.com/confab/confab/internal/limits"
)

type fixture struct {
	clk      *clock.Fake
	st       limits.Settings
	sessions int
	flex     int
	k        *kpi.Set
	c        *limits.Controller
}

func newFixture(st limits.Settings) *fixture {
	f := &fixture{clk: clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)), st: st, k: kpi.New()}
	f.c = limits.New(limits.Options{
		Clock: f.clk, Settings: func() limits.Settings { return f.st },
		Sessions: func() int { return f.sessions }, FlexUsers: func() int { return f.flex },
		Counters: f.k,
	})
	return f
}

func defaults() limits.Settings {
	return limits.Settings{Enabled: true, Sessions: 1000, FlexUsers: 1001, Interval: 15 * time.Second, RestorePercent: 80, Report: true}
}

// TestSeedExample is the administration guide's example: with
// limit-for-flex-users 400 and limits-restore-threshold 80 the node stops
// creating and restoring sessions at 400 flex users and returns to full
// service when they fall to 320.
func TestSeedExample(t *testing.T) {
	st := defaults()
	st.FlexUsers = 400
	f := newFixture(st)
	steps := []struct {
		flex    int
		limited bool
	}{
		{0, false}, {399, false}, {400, true}, {401, true}, {350, true}, {321, true}, {320, false}, {399, false}, {400, true}, {100, false},
	}
	for _, s := range steps {
		f.flex = s.flex
		err := f.c.Admit(false)
		if got := err != nil; got != s.limited {
			t.Fatalf("flex users %d: limited %v, want %v (err %v)", s.flex, got, s.limited, err)
		}
		if err != nil && !errors.Is(err, limits.ErrLimited) {
			t.Fatalf("flex users %d: error %v does not wrap ErrLimited", s.flex, err)
		}
		if err := f.c.Admit(true); (err != nil) != s.limited {
			t.Fatalf("flex users %d: restoration refused %v, want %v", s.flex, err != nil, s.limited)
		}
		if ready := f.c.Ready(); ready == s.limited {
			t.Fatalf("flex users %d: ready %v while limited %v", s.flex, ready, s.limited)
		}
	}
	// Each limited step refused one creation and one restoration: 400, 401, 350, 321, 400.
	if got := f.k.LimitRefusals[kpi.RefusedCreate].Value(); got != 5 {
		t.Errorf("create refusals = %d, want 5", got)
	}
	if got := f.k.LimitRefusals[kpi.RefusedRestore].Value(); got != 5 {
		t.Errorf("restore refusals = %d, want 5", got)
	}
	if got := f.k.LimitReached.Value(); got != 2 {
		t.Errorf("limit reached = %d, want 2", got)
	}
	if got := f.k.Limited.Value(); got != 0 {
		t.Errorf("limited gauge = %d after the last step, want 0", got)
	}
}

func TestSessionsAndSwitches(t *testing.T) {
	st := defaults()
	st.Sessions = 10
	f := newFixture(st)
	f.sessions = 10
	if f.c.Admit(false) == nil {
		t.Fatal("10 of 10 sessions admitted a new one")
	}
	f.sessions = 9 // above 80% of 10
	if f.c.Admit(false) == nil {
		t.Fatal("9 sessions: limit released above the restore threshold")
	}
	// limits-reached-report-scs false: still limited, but reported ready.
	f.st.Report = false
	if !f.c.Ready() {
		t.Error("report-scs false: not ready")
	}
	// Master switch off: everything is admitted.
	f.st.Enabled = false
	if err := f.c.Admit(false); err != nil {
		t.Fatalf("limits-control-enabled false: %v", err)
	}
	// 0 switches a limit off.
	f.st = defaults()
	f.st.Sessions = 0
	f.sessions = 1 << 20
	if err := f.c.Admit(false); err != nil {
		t.Fatalf("limit-for-sessions 0: %v", err)
	}
}

// TestReplyDelay averages request delays over limit-average-interval on
// the fake clock.
func TestReplyDelay(t *testing.T) {
	st := defaults()
	st.ReplyDelay = 100 * time.Millisecond
	st.Interval = 10 * time.Second
	f := newFixture(st)
	for i := 0; i < 10; i++ {
		f.c.ObserveDelay(50 * time.Millisecond)
		f.clk.Advance(time.Second)
	}
	if f.c.Admit(false) != nil {
		t.Fatal("average 50ms refused under a 100ms limit")
	}
	for i := 0; i < 10; i++ {
		f.c.ObserveDelay(200 * time.Millisecond)
		f.clk.Advance(time.Second)
	}
	if f.c.Admit(false) == nil {
		t.Fatal("average 200ms over the last 10s admitted under a 100ms limit")
	}
	// 90ms is under the limit but above 80% of it: still limited.
	for i := 0; i < 11; i++ {
		f.c.ObserveDelay(90 * time.Millisecond)
		f.clk.Advance(time.Second)
	}
	if f.c.Admit(false) == nil {
		t.Fatal("average 90ms released the limit above the 80ms restore point")
	}
	// Quiet for longer than the interval: no requests, no delay.
	f.clk.Advance(11 * time.Second)
	if err := f.c.Admit(false); err != nil {
		t.Fatalf("after a quiet interval: %v", err)
	}
}
