package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab/internal/store"
)

// TestOverlaps is the rule for two batches in flight: only pure batches
// (events and routing updates) whose routing updates are of different
// interactions overlap.
func TestOverlaps(t *testing.T) {
	create := op{st: &stmt{build: fixed(`SELECT 1`), check: one(nil)}, what: "W"}
	fn := op{fn: func(context.Context, pgx.Tx) error { return nil }, what: "fn"}
	for _, c := range []struct {
		name       string
		prev, next []op
		want       bool
	}{
		{"events of the same session", []op{ev("A", 0, 1)}, []op{ev("A", 1, 1), ev("B", 0, 0)}, true},
		{"routing of other interactions", []op{route("X", "a", 0), ev("A", 0, 0)}, []op{route("Y", "b", 0)}, true},
		{"routing of the same interaction", []op{route("X", "a", 0)}, []op{ev("A", 0, 0), route("X", "b", 0)}, false},
		{"a statement before", []op{ev("A", 0, 0), create}, []op{ev("A", 1, 0)}, false},
		{"a statement after", []op{ev("A", 0, 0)}, []op{create}, false},
		{"a function op after", []op{ev("A", 0, 0)}, []op{ev("B", 0, 0), fn}, false},
		{"two epochs of a session after", []op{ev("B", 0, 0)}, []op{ev("A", 0, 1), ev("A", 1, 2)}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := &writer{}
			if got := overlaps(w.flightOf(c.prev), w.flightOf(c.next)); got != c.want {
				t.Fatalf("overlaps = %v, want %v", got, c.want)
			}
		})
	}
}

// TestTwoInFlight starts a second batch while the first one's outcome has
// not been read (start returns before the first's wait: they overlap), the
// first being refused by the server (a replay, written again by the
// statement path after the second has committed) and both holding fenced
// events; every write gets the outcome it would get alone.
func TestTwoInFlight(t *testing.T) {
	s := openInternal(t, 4)
	ctx := context.Background()
	if err := s.CreateInteraction(ctx, store.Interaction{ID: "X", SessionID: "X", State: "queued"}); err != nil {
		t.Fatal(err)
	}
	if err := s.OwnNew(ctx, "F", "a").Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, store.Owner{SessionID: "F", NodeID: "a", Epoch: 1}, "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvent(ctx, ev("A", 0, 0).ev).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	w := &writer{s: s}                                                        // the store's own writer is idle; this one is the test's
	first := []op{ev("A", 0, 0), ev("A", 1, 0), ev("F", 0, 1), ev("B", 0, 0)} // A 0: a replay
	second := []op{ev("A", 2, 0), ev("F", 1, 1), route("X", "assigned", 0), ev("B", 1, 0)}
	wait1 := w.start(first)
	second2 := make(chan func() ([]store.ItemError, error), 1)
	go func() { second2 <- w.start(second) }() // blocks until wait1 if they do not overlap
	var wait2 func() ([]store.ItemError, error)
	select {
	case wait2 = <-second2:
	case <-time.After(10 * time.Second): // a hang, not a timing assertion
		t.Fatal("the second batch was not started while the first was in flight")
	}
	failed1, err1 := wait1()
	failed2, err2 := wait2()
	if err1 != nil || err2 != nil {
		t.Fatalf("batch errors %v, %v", err1, err2)
	}
	errs1, errs2 := outcome(len(first), failed1), outcome(len(second), failed2)
	for i, e := range errs1 {
		if want := i == 2; want != errors.Is(e, store.ErrFenced) || !want && e != nil {
			t.Errorf("first batch, write %d: %v", i, e)
		}
	}
	for i, e := range errs2 {
		if want := i == 1; want != errors.Is(e, store.ErrFenced) || !want && e != nil {
			t.Errorf("second batch, write %d: %v", i, e)
		}
	}
	if f := w.nFellBack.Load(); f != 1 {
		t.Fatalf("%d batches fell back to the statement path, want 1 (the replay)", f)
	}
	for id, n := range map[string]int{"A": 3, "B": 2, "F": 0} {
		if evs, err := s.LoadEvents(ctx, id); err != nil || len(evs) != n {
			t.Fatalf("%s: %d events (%v), want %d", id, len(evs), err, n)
		}
	}
	if in, err := s.GetInteraction(ctx, "X"); err != nil || in.State != "assigned" {
		t.Fatalf("X: %+v %v", in, err)
	}

	// A batch with a statement is written only once the one before it has
	// ended: its start returns after the previous batch's wait has.
	wait3 := w.start([]op{ev("C", 0, 0)})
	started := make(chan func() ([]store.ItemError, error), 1)
	go func() { started <- w.start([]op{ev("C", 1, 0), closeOp(s, "X")}) }()
	select {
	case <-started:
		t.Fatal("a batch with a close was started while the one before it was in flight")
	default:
	}
	if _, err := wait3(); err != nil {
		t.Fatal(err)
	}
	wait4 := <-started
	if failed, err := wait4(); err != nil || len(failed) != 0 {
		t.Fatalf("close after events: %v %v", failed, err)
	}
	if in, _ := s.GetInteraction(ctx, "X"); in.Status != store.StatusClosed {
		t.Fatalf("X not closed: %+v", in)
	}

	// A pure batch smaller than the overlap size waits too.
	w.overlapMin = 3
	wait5 := w.start([]op{ev("D", 0, 0), ev("D", 1, 0), ev("E", 0, 0)})
	go func() { started <- w.start([]op{ev("D", 2, 0), ev("E", 1, 0)}) }()
	select {
	case <-started:
		t.Fatal("a batch of 2 was started while the one before it was in flight (overlap size 3)")
	default:
	}
	if _, err := wait5(); err != nil {
		t.Fatal(err)
	}
	if failed, err := (<-started)(); err != nil || len(failed) != 0 {
		t.Fatalf("small batch: %v %v", failed, err)
	}
	for id, n := range map[string]int{"D": 3, "E": 2} {
		if evs, err := s.LoadEvents(ctx, id); err != nil || len(evs) != n {
			t.Fatalf("%s: %d events (%v), want %d", id, len(evs), err, n)
		}
	}
}

// TestWriterOptions checks that the writer's options reach its queue: the
// commit window (default, off, set) and the writer with one batch in
// flight (Start unset).
func TestWriterOptions(t *testing.T) {
	for _, c := range []struct {
		opts   Options
		window time.Duration
	}{
		{Options{}, DefaultCommitWindow},
		{Options{CommitWindow: -1}, 0},
		{Options{CommitWindow: 2 * time.Millisecond, OneInFlight: true}, 2 * time.Millisecond},
	} {
		c.opts.setDefaults()
		cfg := gcConfig(&writer{}, c.opts)
		if cfg.Window != c.window {
			t.Errorf("%+v: window %v, want %v", c.opts, cfg.Window, c.window)
		}
		if (cfg.Start == nil) != c.opts.OneInFlight || (cfg.Flush == nil) == c.opts.OneInFlight {
			t.Errorf("%+v: Start set %v, Flush set %v", c.opts, cfg.Start != nil, cfg.Flush != nil)
		}
	}
}
