package store_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/confab/confab/internal/store"
)

// recorder is a Flush function that records its batches and can be held:
// a batch containing the value hold blocks until release is called.
type recorder struct {
	entered chan struct{} // receives when a held batch starts
	proceed chan struct{} // closed by release

	mu      sync.Mutex // guards the following
	batches [][]int
	fail    func(batch []int) ([]store.ItemError, error)
}

const hold = -1

func newRecorder() *recorder {
	return &recorder{entered: make(chan struct{}, 1), proceed: make(chan struct{})}
}

func (r *recorder) flush(batch []int) ([]store.ItemError, error) {
	if slices.Contains(batch, hold) {
		r.entered <- struct{}{}
		r.mu.Lock()
		proceed := r.proceed
		r.mu.Unlock()
		<-proceed
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, slices.Clone(batch))
	if r.fail != nil {
		return r.fail(batch)
	}
	return nil, nil
}

func (r *recorder) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	close(r.proceed)
}

// rearm makes the next batch holding the value hold block again until the
// next release.
func (r *recorder) rearm() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.proceed = make(chan struct{})
}

func (r *recorder) recorded() [][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

func newGC(t *testing.T, r *recorder, maxPending, maxBatch int) *store.GroupCommit[int] {
	g := store.NewGroupCommit(store.GroupCommitConfig[int]{MaxPending: maxPending, MaxBatch: maxBatch, Flush: r.flush})
	t.Cleanup(func() { g.Close(context.Background()) })
	return g
}

// holdWriter queues a write that blocks the writer until r.release.
func holdWriter(g *store.GroupCommit[int], r *recorder) store.Ticket {
	tk := g.Enqueue(context.Background(), hold)
	<-r.entered
	return tk
}

func waitAll(t *testing.T, tks []store.Ticket) {
	t.Helper()
	for i, tk := range tks {
		if err := tk.Wait(context.Background()); err != nil {
			t.Fatalf("ticket %d: %v", i, err)
		}
	}
}

func TestGroupCommitBatchesInOrder(t *testing.T) {
	r := newRecorder()
	g := newGC(t, r, 0, 0)
	held := holdWriter(g, r)
	var tks []store.Ticket
	for i := range 100 {
		tks = append(tks, g.Enqueue(context.Background(), i))
	}
	r.release()
	waitAll(t, append(tks, held))

	got := r.recorded()
	if len(got) != 2 || len(got[1]) != 100 || !slices.IsSorted(got[1]) {
		t.Fatalf("batches: %v", got)
	}
	for _, tk := range tks {
		if tk.Commit() != tks[0].Commit() {
			t.Fatal("writes of one batch do not share its Commit")
		}
	}
	if n := tks[0].Commit().Size(); n != 100 {
		t.Fatalf("Commit.Size = %d", n)
	}
	st := g.Stats()
	if st.Batches != 2 || st.Writes != 101 || st.LastBatch != 100 || st.MaxBatch != 100 || st.Pending != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestGroupCommitMaxBatch(t *testing.T) {
	r := newRecorder()
	g := newGC(t, r, 0, 10)
	held := holdWriter(g, r)
	var tks []store.Ticket
	for i := range 35 {
		tks = append(tks, g.Enqueue(context.Background(), i))
	}
	r.release()
	waitAll(t, append(tks, held))
	var sizes []int
	var all []int
	for _, b := range r.recorded()[1:] {
		sizes = append(sizes, len(b))
		all = append(all, b...)
	}
	if fmt.Sprint(sizes) != "[10 10 10 5]" || !slices.IsSorted(all) || len(all) != 35 {
		t.Fatalf("batch sizes %v, items %v", sizes, all)
	}
	if tks[9].Commit() == tks[10].Commit() {
		t.Fatal("two batches share a Commit")
	}
}

// TestGroupCommitOrderConcurrent has many goroutines enqueue; every write
// is flushed once, each goroutine's writes in its order, and a completed
// ticket implies that every write enqueued before it was flushed.
func TestGroupCommitOrderConcurrent(t *testing.T) {
	r := newRecorder()
	g := newGC(t, r, 64, 16) // small bounds: backpressure and many batches
	const goroutines, each = 32, 500
	var wg sync.WaitGroup
	for gi := range goroutines {
		wg.Go(func() {
			for i := range each {
				tk := g.Enqueue(context.Background(), gi*each+i)
				if i%50 == 0 {
					if err := tk.Wait(context.Background()); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if err := g.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	last := make(map[int]int)
	seen := make(map[int]bool)
	for _, b := range r.recorded() {
		if len(b) > 16 {
			t.Fatalf("batch of %d > MaxBatch", len(b))
		}
		for _, v := range b {
			if seen[v] {
				t.Fatalf("%d flushed twice", v)
			}
			seen[v] = true
			if gi := v / each; v%each > 0 && last[gi] != v-1 {
				t.Fatalf("goroutine %d: %d flushed after %d", gi, v, last[gi])
			}
			last[v/each] = v
		}
	}
	if len(seen) != goroutines*each {
		t.Fatalf("%d writes flushed, want %d", len(seen), goroutines*each)
	}
	if st := g.Stats(); st.Writes != goroutines*each || st.MaxBatch < 2 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestGroupCommitBackpressure(t *testing.T) {
	r := newRecorder()
	g := newGC(t, r, 4, 0)
	held := holdWriter(g, r)
	for i := range 4 {
		g.Enqueue(context.Background(), i) // fills the queue without blocking
	}
	// A fifth write blocks until the writer takes the queue, or until its
	// context ends.
	ctx, cancel := context.WithCancel(context.Background())
	cancelled := make(chan store.Ticket)
	go func() { cancelled <- g.Enqueue(ctx, 100) }()
	blocked := make(chan store.Ticket)
	go func() { blocked <- g.Enqueue(context.Background(), 101) }()
	select {
	case <-cancelled:
		t.Fatal("Enqueue on a full queue did not block")
	case <-blocked:
		t.Fatal("Enqueue on a full queue did not block")
	default:
	}
	cancel()
	if err := (<-cancelled).Wait(context.Background()); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Enqueue: %v", err)
	}
	r.release()
	tk := <-blocked
	waitAll(t, []store.Ticket{held, tk})
	for _, b := range r.recorded() {
		if slices.Contains(b, 100) {
			t.Fatal("the cancelled write was flushed")
		}
	}
}

func TestGroupCommitErrors(t *testing.T) {
	r := newRecorder()
	boom := errors.New("disk on fire")
	r.fail = func(batch []int) ([]store.ItemError, error) {
		if slices.Contains(batch, 13) {
			return nil, boom
		}
		var failed []store.ItemError
		for i := len(batch) - 1; i >= 0; i-- { // out of order on purpose
			if batch[i]%2 == 1 {
				failed = append(failed, store.ItemError{Index: i, Err: fmt.Errorf("odd %d", batch[i])})
			}
		}
		return failed, nil
	}
	g := newGC(t, r, 0, 0)
	held := holdWriter(g, r)
	var tks []store.Ticket
	for i := range 6 {
		tks = append(tks, g.Enqueue(context.Background(), i))
	}
	r.release()
	if err := held.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := tks[0].Commit().Wait(context.Background()); err != nil {
		t.Fatalf("Commit.Wait of a committed batch with failed writes: %v", err)
	}
	for i, tk := range tks {
		err := tk.Wait(context.Background())
		if (i%2 == 1) != (err != nil) || (err != nil && err.Error() != fmt.Sprint("odd ", i)) {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	// A failed batch fails all its writes; the writer goes on. The writer
	// is held so that 12 and 13 are in one batch.
	r.rearm()
	held = holdWriter(g, r)
	bad := []store.Ticket{g.Enqueue(context.Background(), 12), g.Enqueue(context.Background(), 13)}
	r.release()
	if err := held.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, tk := range bad {
		if err := tk.Wait(context.Background()); !errors.Is(err, boom) {
			t.Fatalf("write of a failed batch: %v", err)
		}
	}
	if err := g.Enqueue(context.Background(), 20).Wait(context.Background()); err != nil {
		t.Fatalf("write after a failed batch: %v", err)
	}
	if st := g.Stats(); st.FailedBatches < 1 || st.FailedWrites < 5 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestGroupCommitClose(t *testing.T) {
	r := newRecorder()
	g := newGC(t, r, 0, 0)
	held := holdWriter(g, r)
	var tks []store.Ticket
	for i := range 10 {
		tks = append(tks, g.Enqueue(context.Background(), i))
	}
	closed := make(chan error)
	go func() { closed <- g.Close(context.Background()) }()
	for { // until Close has begun: a write then completes at once
		tk := g.Enqueue(context.Background(), 99)
		select {
		case <-tk.Done():
		default:
			runtime.Gosched()
			continue
		}
		if err := tk.Wait(context.Background()); !errors.Is(err, store.ErrClosed) {
			t.Fatalf("write during Close: %v", err)
		}
		break
	}
	r.release()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	waitAll(t, append(tks, held)) // flushed by Close
	if err := g.Enqueue(context.Background(), 100).Wait(context.Background()); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Enqueue after Close: %v", err)
	}
	if err := g.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestGroupCommitCloseGivesUp(t *testing.T) {
	r := newRecorder()
	g := newGC(t, r, 0, 0)
	held := holdWriter(g, r)
	queued := g.Enqueue(context.Background(), 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	closed := make(chan error)
	go func() { closed <- g.Close(ctx) }()
	// The queued batch is abandoned at once; Close then waits for the
	// batch in progress.
	if err := queued.Wait(context.Background()); !errors.Is(err, store.ErrClosed) || !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned write: %v", err)
	}
	select {
	case <-closed:
		t.Fatal("Close returned before the batch in progress ended")
	default:
	}
	r.release()
	if err := <-closed; !errors.Is(err, context.Canceled) {
		t.Fatalf("Close: %v", err)
	}
	if err := held.Wait(context.Background()); err != nil {
		t.Fatalf("batch in progress: %v", err)
	}
}

func TestTicket(t *testing.T) {
	var zero store.Ticket
	if err := zero.Wait(context.Background()); err == nil {
		t.Fatal("zero Ticket waited successfully")
	}
	<-zero.Done()
	boom := errors.New("rejected")
	tk := store.FailedTicket(boom)
	<-tk.Done()
	if err := tk.Wait(context.Background()); err != boom {
		t.Fatalf("FailedTicket: %v", err)
	}

	r := newRecorder()
	g := newGC(t, r, 0, 0)
	held := holdWriter(g, r)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := held.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with a cancelled context: %v", err)
	}
	r.release()
	if err := held.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}
