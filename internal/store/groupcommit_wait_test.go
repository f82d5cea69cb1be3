package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
)

// TestTicketWaitPaths covers the three ways Ticket.Wait and Commit.Wait
// wait: a batch already done (its outcome, even with a context that has
// ended: the write is durable, so saying otherwise would make a client
// resend it), a context that never ends (a plain receive, released by the
// commit), and a live context (released by whichever comes first).
func TestTicketWaitPaths(t *testing.T) {
	boom := errors.New("disk on fire")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     func(t *testing.T) context.Context
		fail    error         // the batch's error
		release bool          // the batch commits while Wait waits
		cancel  time.Duration // >0: the context ends while Wait waits (the batch is held)
		want    error
	}{
		{name: "done, context ended", ctx: func(*testing.T) context.Context { return cancelled }, want: nil},
		{name: "done with an error, context ended", ctx: func(*testing.T) context.Context { return cancelled }, fail: boom, want: boom},
		{name: "context never ends, batch commits", ctx: func(*testing.T) context.Context { return context.Background() }, release: true, want: nil},
		{name: "context never ends, batch fails", ctx: func(*testing.T) context.Context { return context.Background() }, release: true, fail: boom, want: boom},
		{name: "live context, batch commits", ctx: func(t *testing.T) context.Context { return t.Context() }, release: true, want: nil},
		{name: "live context ends first", ctx: func(t *testing.T) context.Context { return t.Context() }, cancel: 1, want: context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecorder()
			if tc.fail != nil {
				r.fail = func([]int) ([]store.ItemError, error) { return nil, tc.fail }
			}
			g := newGC(t, r, 0, 0)
			held := holdWriter(g, r)
			tk := g.Enqueue(context.Background(), 7) // the next batch, behind the held one
			ctx := tc.ctx(t)
			if tc.cancel > 0 {
				var stop context.CancelFunc
				ctx, stop = context.WithCancel(ctx)
				defer stop()
				go stop()
			}
			if !tc.release && tc.cancel == 0 {
				r.release()
				<-tk.Done()
			}
			got := make(chan [2]error, 1)
			go func() {
				got <- [2]error{tk.Wait(ctx), tk.Commit().Wait(ctx)}
			}()
			if tc.release {
				select {
				case e := <-got:
					t.Fatalf("Wait returned %v before the batch was done", e)
				case <-time.After(20 * time.Millisecond): // a chance to return too early; not a timing assertion
				}
				r.release()
			}
			e := <-got
			for i, err := range e {
				if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
					t.Errorf("%s: got %v, want %v", [2]string{"Ticket.Wait", "Commit.Wait"}[i], err, tc.want)
				}
			}
			if tc.cancel > 0 {
				r.release()
			}
			if err := held.Wait(context.Background()); err != nil && !errors.Is(err, tc.fail) {
				t.Fatal(err)
			}
		})
	}
}
