package bench

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestStepTimers checks the dense sessions' gaps: a step runs after its
// gap and its session is not ended for it; the end of the run's context
// ends every waiting session once and runs none of their steps; a step
// asked for after the end ends its session at once.
func TestStepTimers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	timers := newStepTimers(ctx)
	aborted := make(chan int, 10)
	var stepsRun atomic.Int32
	run := func(id int) *denseRun {
		return &denseRun{ctx: ctx, timers: timers, done: func() { aborted <- id }}
	}
	wait := func(what string, ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: not within 10 s", what)
		}
	}

	ran := make(chan struct{})
	timers.after(run(0), time.Millisecond, func() { stepsRun.Add(1); close(ran) })
	wait("a step after a short gap", ran)

	const waiting = 5
	for i := 1; i <= waiting; i++ {
		timers.after(run(i), time.Hour, func() { stepsRun.Add(1) })
	}
	cancel()
	seen := map[int]int{}
	for range waiting {
		select {
		case id := <-aborted:
			seen[id]++
		case <-time.After(10 * time.Second):
			t.Fatalf("the run's end ended %v of %d waiting sessions", seen, waiting)
		}
	}
	for i := 1; i <= waiting; i++ {
		if seen[i] != 1 {
			t.Errorf("session %d ended %d times at the run's end, want once (all: %v)", i, seen[i], seen)
		}
	}

	timers.after(run(9), time.Millisecond, func() { stepsRun.Add(1) })
	select {
	case id := <-aborted:
		if id != 9 {
			t.Errorf("ended session %d, want 9", id)
		}
	default:
		t.Error("a step asked for after the run's end did not end its session at once")
	}
	if n := stepsRun.Load(); n != 1 {
		t.Errorf("%d steps ran, want 1 (only the one before the run's end)", n)
	}
	select {
	case id := <-aborted:
		t.Errorf("session %d ended once more", id)
	default:
	}
}
