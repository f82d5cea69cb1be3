package store

import "time"

// Two batches in flight. A store whose database is across a network (the
// PostgreSQL store) spends most of a batch waiting: for its round trip and
// for the server's commit. With GroupCommitConfig.Start the writer does not
// wait for a batch's outcome before it takes the next one: one goroutine
// takes batches and starts them (Start sends the batch), another waits for
// their outcomes and completes their Commits, strictly in enqueue order.
// At most two batches are in flight: the next is started while the
// previous one's outcome is awaited, and the one after waits until the
// previous is completed.
//
// Whether a batch may really be written before the previous one has
// committed is Start's decision, not the queue's: Start is called with the
// batches in enqueue order, one at a time, and waits inside, for the
// previous batch to end, when the next one's writes could depend on it.
// The acknowledgement contract is unchanged: a write's Ticket completes
// only once its own batch has committed, and after every batch enqueued
// before it.

// runOverlapped is run (groupcommit.go) with two batches in flight.
func (g *GroupCommit[T]) runOverlapped() {
	defer close(g.stopped)
	type started struct {
		s     *segment[T]
		wait  func() ([]ItemError, error)
		began time.Time
	}
	// Unbuffered: while the completer waits for one batch, the taker may
	// start one more and then blocks here until the first is completed.
	flights := make(chan started)
	completed := make(chan struct{})
	go func() {
		defer close(completed)
		for f := range flights {
			failed, err := f.wait()
			g.complete(f.s, failed, err, time.Since(f.began))
		}
	}()
	for {
		s := g.take()
		if s == nil {
			break
		}
		began := time.Now()
		flights <- started{s: s, wait: g.start(s.items), began: began}
	}
	close(flights)
	<-completed
}
