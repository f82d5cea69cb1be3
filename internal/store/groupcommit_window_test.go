package store_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/store"
)

// stepper is a Flush function that hands each batch to the test and waits
// for the test's go-ahead, so that the test decides what is queued when the
// writer takes the next batch.
type stepper struct {
	got  chan []int
	next chan struct{}
}

func (s *stepper) flush(batch []int) ([]store.ItemError, error) {
	s.got <- append([]int(nil), batch...)
	<-s.next
	return nil, nil
}

type windowRig struct {
	t     *testing.T
	clk   *clock.Fake
	st    *stepper
	g     *store.GroupCommit[int]
	tks   []store.Ticket
	value int
}

const (
	testWindow      = 10 * time.Millisecond
	testWindowBatch = 4
)

func newWindowRig(t *testing.T) *windowRig {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	return newWindowRigWith(t, clk, func(d time.Duration, f func()) func() bool {
		return clk.AfterFunc(d, f).Stop
	})
}

func newWindowRigWith(t *testing.T, clk *clock.Fake, afterFunc func(time.Duration, func()) func() bool) *windowRig {
	st := &stepper{got: make(chan []int), next: make(chan struct{})}
	g := store.NewGroupCommit(store.GroupCommitConfig[int]{
		Flush: st.flush, Window: testWindow, WindowBatch: testWindowBatch,
		Now: clk.Now, AfterFunc: afterFunc,
	})
	r := &windowRig{t: t, clk: clk, st: st, g: g}
	t.Cleanup(func() {
		done := make(chan struct{})
		go func() {
			for {
				select {
				case <-st.got:
				case st.next <- struct{}{}:
				case <-done:
					return
				}
			}
		}()
		g.Close(context.Background())
		close(done)
	})
	return r
}

func (r *windowRig) enqueue(n int) {
	for range n {
		r.value++
		r.tks = append(r.tks, r.g.Enqueue(context.Background(), r.value))
	}
}

// batch waits for the writer's next batch and returns its size; the
// writer stays in Flush until proceed.
func (r *windowRig) batch() int {
	r.t.Helper()
	select {
	case b := <-r.st.got:
		return len(b)
	case <-time.After(10 * time.Second): // a hang, not a timing assertion
		r.t.Fatal("no batch flushed")
		return 0
	}
}

func (r *windowRig) proceed() { r.st.next <- struct{}{} }

// warm runs 60 steps of 1 ms (fake), each a full batch of WindowBatch
// writes, so that the writer has seen 4,000 writes/s arrive.
func (r *windowRig) warm() {
	r.t.Helper()
	r.enqueue(1)
	if n := r.batch(); n != 1 {
		r.t.Fatalf("first batch: %d writes, want 1", n)
	}
	for range 60 {
		r.clk.Advance(time.Millisecond)
		r.enqueue(testWindowBatch)
		r.proceed()
		if n := r.batch(); n != testWindowBatch {
			r.t.Fatalf("warm-up batch: %d writes, want %d", n, testWindowBatch)
		}
	}
}

// waitTimer waits until the writer has armed the window's timer.
func (r *windowRig) waitTimer() {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.clk.Pending() == 0 {
		if time.Now().After(deadline) {
			r.t.Fatal("the batch did not wait in the commit window")
		}
		runtime.Gosched()
	}
}

func TestCommitWindowGathersWritesUntilTarget(t *testing.T) {
	r := newWindowRig(t)
	r.warm()
	r.clk.Advance(time.Millisecond)
	r.enqueue(1)
	r.proceed()
	r.waitTimer() // one write, more expected: it waits
	r.enqueue(testWindowBatch - 1)
	if n := r.batch(); n != testWindowBatch {
		t.Fatalf("batch after the wait: %d writes, want %d", n, testWindowBatch)
	}
	st := r.g.Stats()
	if st.Windows != 1 || st.WindowWrites != testWindowBatch-1 {
		t.Fatalf("stats: %d windows, %d writes gathered; want 1, %d", st.Windows, st.WindowWrites, testWindowBatch-1)
	}
	r.proceed()
	for i, tk := range r.tks {
		if err := tk.Wait(context.Background()); err != nil {
			t.Fatalf("ticket %d: %v", i, err)
		}
	}
}

func TestCommitWindowEndsAtItsDeadline(t *testing.T) {
	r := newWindowRig(t)
	r.warm()
	r.clk.Advance(time.Millisecond)
	r.enqueue(1)
	r.proceed()
	r.waitTimer()
	// The window runs from the previous commit's start, 1 ms ago.
	left := testWindow - time.Millisecond
	r.clk.Advance(left - time.Microsecond)
	r.enqueue(1) // joins; the target (4) is not reached
	select {
	case b := <-r.st.got:
		t.Fatalf("batch of %d flushed before the window ended", len(b))
	default:
	}
	r.clk.Advance(time.Microsecond)
	if n := r.batch(); n != 2 {
		t.Fatalf("batch at the deadline: %d writes, want 2", n)
	}
	if st := r.g.Stats(); st.Windows != 1 || st.WindowWrites != 1 || st.WindowMicros != uint64(left/time.Microsecond) {
		t.Fatalf("stats: %+v; want 1 window, 1 write gathered, %d µs", st, left/time.Microsecond)
	}
}

func TestCommitWindowBacksOffWhenNothingCame(t *testing.T) {
	r := newWindowRig(t)
	r.warm()
	r.clk.Advance(time.Millisecond)
	r.enqueue(1)
	r.proceed()
	r.waitTimer()
	r.clk.Advance(testWindow) // nothing came: a closed loop
	if n := r.batch(); n != 1 {
		t.Fatalf("batch: %d writes, want 1", n)
	}
	// The next batch does not wait (backoff 1) even though the rate says
	// more would come.
	r.enqueue(1)
	r.proceed()
	if n := r.batch(); n != 1 {
		t.Fatalf("batch after backoff: %d writes, want 1", n)
	}
	if st := r.g.Stats(); st.Windows != 1 {
		t.Fatalf("%d windows, want 1 (the second batch must not wait)", st.Windows)
	}
	r.proceed()
}

func TestCommitWindowSkippedAtLowRate(t *testing.T) {
	r := newWindowRig(t)
	r.warm()
	r.clk.Advance(time.Second) // quiet: the rate seen decays
	r.enqueue(1)
	r.proceed()
	if n := r.batch(); n != 1 {
		t.Fatalf("batch: %d writes, want 1", n)
	}
	if st := r.g.Stats(); st.Windows != 0 {
		t.Fatalf("%d windows after a quiet second, want 0", st.Windows)
	}
	r.proceed()
}

func TestCommitWindowEndsAtClose(t *testing.T) {
	r := newWindowRig(t)
	r.warm()
	r.clk.Advance(time.Millisecond)
	r.enqueue(1)
	r.proceed()
	r.waitTimer()
	closed := make(chan error, 1)
	go func() { closed <- r.g.Close(context.Background()) }()
	if n := r.batch(); n != 1 {
		t.Fatalf("batch at close: %d writes, want 1", n)
	}
	r.proceed()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := r.tks[len(r.tks)-1].Wait(context.Background()); err != nil {
		t.Fatalf("the waiting write: %v", err)
	}
}

func TestCommitWindowBacksOffWhenTheWriterRunsLate(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	fire := make(chan func(), 1)
	r := newWindowRigWith(t, clk, func(d time.Duration, f func()) func() bool {
		fire <- f // the test runs it, late
		return func() bool { return false }
	})
	r.warm()
	r.clk.Advance(time.Millisecond)
	r.enqueue(1)
	r.proceed()
	f := <-fire // the batch waits
	r.enqueue(1)
	// The timer's callback runs three windows late, as on a machine short
	// of CPU.
	r.clk.Advance(3 * testWindow)
	f()
	if n := r.batch(); n != 2 {
		t.Fatalf("batch: %d writes, want 2", n)
	}
	// It gathered a write, but waited 30 ms for a 10 ms window: the next
	// batch skips the window.
	r.enqueue(1)
	r.proceed()
	if n := r.batch(); n != 1 {
		t.Fatalf("batch after backoff: %d writes, want 1", n)
	}
	if st := r.g.Stats(); st.Windows != 1 {
		t.Fatalf("%d windows, want 1 (the second batch must not wait)", st.Windows)
	}
	r.proceed()
}

func TestCommitWindowSkippedAfterASlowCommit(t *testing.T) {
	r := newWindowRig(t)
	r.warm()
	// The previous batch's commit took longer than the window: the write
	// that arrived meanwhile goes at once.
	r.clk.Advance(testWindow + time.Millisecond)
	r.enqueue(1)
	r.proceed()
	if n := r.batch(); n != 1 {
		t.Fatalf("batch: %d writes, want 1", n)
	}
	if st := r.g.Stats(); st.Windows != 0 {
		t.Fatalf("%d windows after a slow commit, want 0", st.Windows)
	}
	r.proceed()
}
