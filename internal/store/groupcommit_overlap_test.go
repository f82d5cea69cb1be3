package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
)

// flightRig is a GroupCommit with Start whose batches end when the test
// says so.
type flightRig struct {
	t       *testing.T
	started chan *testFlight
}

type testFlight struct {
	batch   []int
	release chan error // the outcome: batch 2 fails its write alone, others whole
	// done1 says whether the first ticket had completed when this batch
	// was started.
	done1 bool
}

func (r *flightRig) next() *testFlight {
	r.t.Helper()
	select {
	case f := <-r.started:
		return f
	case <-time.After(10 * time.Second): // a hang, not a timing assertion
		r.t.Fatal("no batch started")
		return nil
	}
}

// TestGroupCommitTwoInFlight checks the writer with Start: the next batch
// is started while the previous one's outcome is awaited, a third only once
// the first is completed, and tickets complete in enqueue order with their
// own outcomes.
func TestGroupCommitTwoInFlight(t *testing.T) {
	ctx := context.Background()
	r := &flightRig{t: t, started: make(chan *testFlight, 4)}
	var first store.Ticket
	firstSet := make(chan struct{})
	g := store.NewGroupCommit(store.GroupCommitConfig[int]{
		Start: func(batch []int) func() ([]store.ItemError, error) {
			f := &testFlight{batch: append([]int(nil), batch...), release: make(chan error, 1)}
			select {
			case <-firstSet:
				select {
				case <-first.Done():
					f.done1 = true
				default:
				}
			default:
			}
			r.started <- f
			return func() ([]store.ItemError, error) {
				err := <-f.release
				if err != nil && f.batch[0] == 2 {
					return []store.ItemError{{Index: 0, Err: err}}, nil
				}
				return nil, err
			}
		},
	})
	defer g.Close(ctx)

	first = g.Enqueue(ctx, 1)
	close(firstSet)
	f1 := r.next()
	t2 := g.Enqueue(ctx, 2)
	f2 := r.next() // started with f1 in flight
	if f2.done1 {
		t.Fatal("the first ticket completed before its batch ended")
	}
	t3 := g.Enqueue(ctx, 3)
	errOwn := errors.New("write 2 failed alone")
	f2.release <- errOwn // the second ends first: its tickets still wait for the first's
	select {
	case <-t2.Done():
		t.Fatal("the second batch's ticket completed before the first batch's")
	default:
	}
	f1.release <- nil
	f3 := r.next()
	if !f3.done1 {
		t.Fatal("a third batch was started while the first was in flight")
	}
	f3.release <- errors.New("batch 3 failed")
	want := [][]int{{1}, {2}, {3}}
	for i, f := range []*testFlight{f1, f2, f3} {
		if len(f.batch) != 1 || f.batch[0] != want[i][0] {
			t.Fatalf("batch %d: %v, want %v", i+1, f.batch, want[i])
		}
	}
	if err := first.Wait(ctx); err != nil {
		t.Fatalf("write 1: %v", err)
	}
	if err := t2.Wait(ctx); !errors.Is(err, errOwn) {
		t.Fatalf("write 2: %v, want its own error", err)
	}
	if err := t3.Wait(ctx); err == nil {
		t.Fatal("write 3: nil, want its batch's error")
	}
	if err := g.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := g.Stats()
	if st.Batches != 3 || st.Writes != 3 || st.FailedBatches != 1 || st.FailedWrites != 2 {
		t.Fatalf("stats %+v", st)
	}
}
