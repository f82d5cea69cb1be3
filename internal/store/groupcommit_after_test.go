package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
)

// guard bounds a test that would otherwise hang on a broken writer: it is a
// failure, not a measured time.
const guard = 20 * time.Second

func TestAfterDone(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fail    func([]int) ([]store.ItemError, error)
		wantErr [2]bool // Wait's outcome seen by the callbacks of writes 1, 2
	}{
		{"committed", nil, [2]bool{false, false}},
		{"one failed", func(b []int) ([]store.ItemError, error) {
			if i := slices.Index(b, 2); i >= 0 {
				return []store.ItemError{{Index: i, Err: store.ErrConflict}}, nil
			}
			return nil, nil
		}, [2]bool{false, true}},
		{"batch failed", func(b []int) ([]store.ItemError, error) {
			if slices.Contains(b, 2) {
				return nil, errors.New("disk full")
			}
			return nil, nil
		}, [2]bool{true, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecorder()
			g := newGC(t, r, 0, 0)
			held := holdWriter(g, r)
			r.mu.Lock()
			r.fail = tc.fail
			r.mu.Unlock()
			tks := []store.Ticket{g.Enqueue(context.Background(), 1), g.Enqueue(context.Background(), 2)}
			var mu sync.Mutex
			var got []int
			var errs [2]bool
			all := make(chan struct{})
			for i, tk := range tks {
				if !tk.AfterDone(func() {
					select {
					case <-tk.Done():
					default:
						t.Errorf("callback %d ran before Done was closed", i+1)
					}
					mu.Lock()
					defer mu.Unlock()
					got = append(got, i+1)
					errs[i] = tk.Wait(context.Background()) != nil
					if len(got) == 2 {
						close(all)
					}
				}) {
					t.Fatalf("AfterDone on pending write %d reported done", i+1)
				}
			}
			r.release()
			held.Wait(context.Background())
			select {
			case <-all:
			case <-time.After(guard):
				t.Fatal("callbacks did not run")
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(got, []int{1, 2}) || errs != tc.wantErr {
				t.Errorf("callbacks ran %v with errors %v, want [1 2] with %v", got, errs, tc.wantErr)
			}
			if tks[0].AfterDone(func() { t.Error("callback registered on a done batch ran") }) {
				t.Error("AfterDone on a completed write reported pending")
			}
		})
	}
}

// A callback that waits for a later batch must not hold the writer up: the
// callbacks run on the completer, not on the writer goroutine.
func TestAfterDoneOffTheWriter(t *testing.T) {
	r := newRecorder()
	g := newGC(t, r, 0, 0)
	held := holdWriter(g, r)
	first := g.Enqueue(context.Background(), 1)
	later := make(chan store.Ticket, 1)
	ran := make(chan error, 1)
	first.AfterDone(func() {
		ctx, cancel := context.WithTimeout(context.Background(), guard)
		defer cancel()
		ran <- (<-later).Wait(ctx) // the next batch commits while this callback waits
	})
	r.release()
	held.Wait(context.Background())
	first.Wait(context.Background())
	later <- g.Enqueue(context.Background(), 2)
	if err := <-ran; err != nil {
		t.Fatalf("the batch after a waiting callback: %v", err)
	}
}

func TestAfterDoneZeroAndFailedTickets(t *testing.T) {
	if (store.Ticket{}).AfterDone(func() {}) {
		t.Error("zero Ticket: AfterDone reported pending")
	}
	if store.FailedTicket(store.ErrClosed).AfterDone(func() {}) {
		t.Error("failed Ticket: AfterDone reported pending")
	}
}

// Close returns once the last batch's callbacks have run.
func TestCloseWaitsForCallbacks(t *testing.T) {
	r := newRecorder()
	g := store.NewGroupCommit(store.GroupCommitConfig[int]{Flush: r.flush})
	held := holdWriter(g, r)
	var ran sync.WaitGroup
	var count int
	var mu sync.Mutex
	for i := range 50 {
		tk := g.Enqueue(context.Background(), i)
		ran.Add(1)
		tk.AfterDone(func() {
			defer ran.Done()
			mu.Lock()
			count++
			mu.Unlock()
		})
	}
	r.release()
	held.Wait(context.Background())
	if err := g.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	n := count
	mu.Unlock()
	if n != 50 {
		t.Errorf("Close returned with %d of 50 callbacks run", n)
	}
	ran.Wait()
}
