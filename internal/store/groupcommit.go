package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Commit is the completion handle of one batch: every write flushed in the
// same transaction shares it (one allocation per batch, not per write).
type Commit struct {
	done chan struct{}

	// Set once, before done is closed; read-only afterwards.
	err    error
	failed []ItemError // sorted by Index
	size   int

	completer *completer // runs the AfterDone callbacks (groupcommit_after.go); nil if not a GroupCommit's

	mu    sync.Mutex // guards the following
	after []func()   // AfterDone callbacks
	ended bool       // finish has run: AfterDone refuses
}

func newCommit() *Commit { return &Commit{done: make(chan struct{})} }

func doneCommit(err error) *Commit {
	c := newCommit()
	c.finish(err, nil, 0)
	return c
}

func (c *Commit) finish(err error, failed []ItemError, size int) {
	if len(failed) > 1 {
		slices.SortStableFunc(failed, func(a, b ItemError) int { return a.Index - b.Index })
	}
	c.err, c.failed, c.size = err, failed, size
	close(c.done)
	c.endCallbacks()
}

// Done returns a channel that is closed once the batch has committed or
// failed.
func (c *Commit) Done() <-chan struct{} { return c.done }

// Wait blocks until the batch has committed or failed, or ctx ends. It
// returns the batch's error: nil if the transaction committed, even if some
// of its writes failed on their own (see Ticket.Wait). If ctx ends first it
// returns ctx.Err() and the batch goes on.
func (c *Commit) Wait(ctx context.Context) error {
	if ok, err := c.wait(ctx); !ok {
		return err
	}
	return c.err
}

// Size returns the number of writes in the batch; 0 before Done is closed.
func (c *Commit) Size() int {
	select {
	case <-c.done:
		return c.size
	default:
		return 0
	}
}

func (c *Commit) itemErr(i int) error {
	if c.err != nil {
		return c.err
	}
	j, ok := slices.BinarySearchFunc(c.failed, i, func(e ItemError, i int) int { return e.Index - i })
	if ok {
		return c.failed[j].Err
	}
	return nil
}

// Ticket is the receipt for one queued write: its batch and its place in
// it. It is a small value, cheap to copy; the zero Ticket is invalid.
type Ticket struct {
	c *Commit
	i int
}

var errZeroTicket = errors.New("store: zero Ticket")

// FailedTicket returns a completed Ticket that reports err: for a write
// rejected before it was queued (invalid, or the store is closed).
func FailedTicket(err error) Ticket { return Ticket{c: doneCommit(err)} }

// Wait blocks until the write has committed durably (nil) or failed, or ctx
// ends. A write fails with its batch's error if the transaction failed, or
// with its own error if it failed alone in a committed transaction. If ctx
// ends first Wait returns ctx.Err(); the write is not cancelled and may
// still commit.
func (t Ticket) Wait(ctx context.Context) error {
	if t.c == nil {
		return errZeroTicket
	}
	if ok, err := t.c.wait(ctx); !ok {
		return err
	}
	return t.c.itemErr(t.i)
}

// wait blocks until done is closed (true) or ctx ends first (false and
// ctx.Err()). A batch already done, or a ctx that never ends, costs a plain
// channel operation, not a select over two channels (each acknowledgement
// of a durable message waits here).
func (c *Commit) wait(ctx context.Context) (bool, error) {
	select {
	case <-c.done:
		return true, nil
	default:
	}
	cancel := ctx.Done()
	if cancel == nil {
		<-c.done
		return true, nil
	}
	select {
	case <-c.done:
		return true, nil
	case <-cancel:
		return false, ctx.Err()
	}
}

// Done returns a channel that is closed when the write's batch has committed
// or failed; Wait then returns at once.
func (t Ticket) Done() <-chan struct{} {
	if t.c == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return t.c.done
}

// Commit returns the handle of the write's batch (nil for the zero Ticket).
func (t Ticket) Commit() *Commit { return t.c }

// ItemError reports the failure of one write of a batch whose transaction
// committed the others.
type ItemError struct {
	Index int // the write's index in the batch passed to Flush
	Err   error
}

// GroupCommitConfig configures a GroupCommit.
type GroupCommitConfig[T any] struct {
	// MaxPending bounds the writes queued and not yet taken by the writer;
	// Enqueue blocks while the queue is full. Default 65536.
	MaxPending int
	// MaxBatch bounds the writes flushed in one transaction. Default 10000.
	MaxBatch int

	// Flush writes one batch in one transaction and returns once it is
	// durable (nil) or has failed (a non-nil error fails every write of the
	// batch). Writes that failed on their own in a committed transaction
	// are reported in the ItemError slice. Flush runs on the writer
	// goroutine only, one batch at a time, in enqueue order; it must not
	// retain batch after returning.
	Flush func(batch []T) ([]ItemError, error)

	// Start, when set instead of Flush, lets the next batch be written
	// while the previous one's outcome is awaited (two batches in flight;
	// see groupcommit_overlap.go): it begins writing batch and returns a
	// function that waits for, and returns, what Flush would. Start runs
	// on one goroutine, in enqueue order, and may wait inside for the
	// previous batch; the functions it returns run on another, in the same
	// order, as do AfterBatch and OnBatch. batch is Start's until its
	// function has returned.
	Start func(batch []T) (wait func() ([]ItemError, error))

	// AfterBatch, if set, runs on the writer goroutine after a batch's
	// tickets have completed and before the next batch is taken: the place
	// for housekeeping (a WAL checkpoint) that must not delay
	// acknowledgements.
	AfterBatch func()

	// OnBatch, if set, is told after each batch of its size, how many of
	// its writes failed and how long writing and committing it took (the
	// node's counters); it runs on the writer goroutine and must be quick.
	OnBatch func(n, failed int, took time.Duration)

	// Window, when positive, is the commit window: a batch smaller than
	// WindowBatch waits for company until Window has passed since its
	// first write arrived, when writes arrive fast enough that more are
	// expected meanwhile (see groupcommit_window.go). 0 commits at once.
	Window time.Duration
	// WindowBatch is the batch size that ends the wait; default 64.
	WindowBatch int
	// Now and AfterFunc are the commit window's clock (clock.Clock
	// adapted; tests inject a fake one); default the wall clock. AfterFunc
	// runs f once d has passed unless the returned stop is called first.
	Now       func() time.Time
	AfterFunc func(d time.Duration, f func()) (stop func() bool)
}

// GroupCommitStats are the counters of a GroupCommit.
type GroupCommitStats struct {
	Batches       uint64 // batches flushed (committed or failed)
	Writes        uint64 // writes in those batches
	FailedBatches uint64 // batches whose transaction failed
	FailedWrites  uint64 // writes that failed, alone or with their batch
	LastBatch     int    // size of the last batch flushed
	MaxBatch      int    // size of the largest batch flushed
	Pending       int    // writes queued now
	Windows       uint64 // batches that waited in the commit window
	WindowWrites  uint64 // writes that joined a batch while it waited
	WindowMicros  uint64 // time batches spent waiting, in µs
}

// GroupCommit is a storage-agnostic group-commit queue: many goroutines
// Enqueue writes; one writer goroutine takes everything pending (up to
// MaxBatch) as one batch, hands it to Flush, completes the batch's Commit,
// and takes the next batch, which accumulated meanwhile. Batches are flushed
// strictly in enqueue order.
type GroupCommit[T any] struct {
	flush      func([]T) ([]ItemError, error)
	start      func([]T) func() ([]ItemError, error)
	afterBatch func()
	onBatch    func(n, failed int, took time.Duration)
	maxPending int
	maxBatch   int
	wake       chan struct{} // capacity 1; one token per idle period of the writer
	stopped    chan struct{} // closed when the writer goroutine has returned
	completer  completer     // runs the batches' AfterDone callbacks

	mu      sync.Mutex // guards the following
	queue   []*segment[T]
	pending int           // writes in queue
	idle    bool          // the writer waits for a wake token
	space   chan struct{} // closed when the writer takes a batch; nil if nobody waits
	closing bool
	closedC *Commit // completed with ErrClosed; given to writes after Close
	spare   []*segment[T]
	stats   GroupCommitStats
	win     window // the commit window's state

	flushHist, batchHist Hist // per batch: flush time (µs) and size
}

// segment is one batch in formation: a Commit and its writes.
type segment[T any] struct {
	c     *Commit
	items []T
	first time.Time // when its first write arrived (with a commit window)
}

// NewGroupCommit starts a GroupCommit and its writer goroutine; Close stops
// it.
func NewGroupCommit[T any](cfg GroupCommitConfig[T]) *GroupCommit[T] {
	if cfg.Flush == nil && cfg.Start == nil {
		panic("store: GroupCommitConfig.Flush is nil")
	}
	g := &GroupCommit[T]{
		flush:      cfg.Flush,
		start:      cfg.Start,
		afterBatch: cfg.AfterBatch,
		onBatch:    cfg.OnBatch,
		maxPending: cfg.MaxPending,
		maxBatch:   cfg.MaxBatch,
		wake:       make(chan struct{}, 1),
		stopped:    make(chan struct{}),
	}
	if g.maxPending <= 0 {
		g.maxPending = 65536
	}
	if g.maxBatch <= 0 {
		g.maxBatch = 10000
	}
	if g.maxBatch > g.maxPending {
		g.maxBatch = g.maxPending
	}
	g.win.init(windowConfig{cfg.Window, cfg.WindowBatch, cfg.Now, cfg.AfterFunc})
	if g.start != nil {
		go g.runOverlapped()
	} else {
		go g.run()
	}
	return g
}

// Enqueue queues v for the next batch and returns its Ticket. It does not
// wait for the write; it blocks only while the queue holds MaxPending
// writes, until the writer takes a batch or ctx ends (the Ticket then
// reports ctx.Err() and v is not queued). After Close, the Ticket reports
// ErrClosed.
func (g *GroupCommit[T]) Enqueue(ctx context.Context, v T) Ticket {
	g.mu.Lock()
	for g.pending >= g.maxPending && !g.closing {
		if g.space == nil {
			g.space = make(chan struct{})
		}
		space := g.space
		g.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return Ticket{c: doneCommit(ctx.Err())}
		}
		g.mu.Lock()
	}
	if g.closing {
		c := g.closedC
		g.mu.Unlock()
		return Ticket{c: c}
	}
	var s *segment[T]
	if n := len(g.queue); n > 0 && len(g.queue[n-1].items) < g.maxBatch {
		s = g.queue[n-1]
	} else {
		s = g.newSegmentLocked()
	}
	i := len(s.items)
	s.items = append(s.items, v)
	g.pending++
	g.win.arrived++
	c := s.c
	wake := g.idle
	g.idle = false
	if g.win.waiting && g.pending >= g.win.target {
		g.win.endLocked()
	}
	g.mu.Unlock()
	if wake {
		g.wake <- struct{}{}
	}
	return Ticket{c: c, i: i}
}

func (g *GroupCommit[T]) newSegmentLocked() *segment[T] {
	var s *segment[T]
	if n := len(g.spare); n > 0 {
		s = g.spare[n-1]
		g.spare = g.spare[:n-1]
	} else {
		s = &segment[T]{}
	}
	s.c = newCommit()
	s.c.completer = &g.completer
	if g.win.size > 0 {
		s.first = g.win.now()
	}
	g.queue = append(g.queue, s)
	return s
}

// Stats returns the current counters.
func (g *GroupCommit[T]) Stats() GroupCommitStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.stats
	st.Pending = g.pending
	return st
}

// Timing returns the histograms of the batches flushed so far: the time
// each took to write and commit (µs), and their sizes.
func (g *GroupCommit[T]) Timing() (flushMicros, batchSize HistSnapshot) {
	return g.flushHist.Snapshot(), g.batchHist.Snapshot()
}

// Close stops taking writes (later ones report ErrClosed), waits until every
// queued write has been flushed, and stops the writer goroutine. If ctx ends
// first, queued batches that have not started fail with an error wrapping
// ErrClosed and ctx.Err(), Close waits for the batch in progress and returns
// ctx.Err(). Close may be called more than once.
func (g *GroupCommit[T]) Close(ctx context.Context) error {
	g.mu.Lock()
	wake := false
	if !g.closing {
		g.closing = true
		g.closedC = doneCommit(ErrClosed)
		if g.space != nil {
			close(g.space)
			g.space = nil
		}
		wake = g.idle
		g.idle = false
		if g.win.waiting {
			g.win.endLocked() // flush what is queued now
		}
	}
	g.mu.Unlock()
	if wake {
		g.wake <- struct{}{}
	}
	select {
	case <-g.stopped:
		return g.drain(ctx)
	case <-ctx.Done():
	}
	g.mu.Lock()
	abandoned := g.queue
	g.queue = nil
	g.pending = 0
	for _, s := range abandoned {
		g.stats.FailedBatches++
		g.stats.FailedWrites += uint64(len(s.items))
	}
	g.mu.Unlock()
	err := fmt.Errorf("%w: gave up flushing: %w", ErrClosed, ctx.Err())
	for _, s := range abandoned {
		s.c.finish(err, nil, len(s.items))
	}
	<-g.stopped
	return ctx.Err()
}

// drain waits, after the last batch, until its AfterDone callbacks have
// run, or ctx ends.
func (g *GroupCommit[T]) drain(ctx context.Context) error {
	select {
	case <-g.completer.drained():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *GroupCommit[T]) run() {
	defer close(g.stopped)
	for {
		s := g.take()
		if s == nil {
			return
		}
		began := time.Now()
		failed, err := g.flush(s.items)
		g.complete(s, failed, err, time.Since(began))
	}
}

// complete records a flushed batch and completes its Commit; it runs on
// the goroutine that learnt the batch's outcome.
func (g *GroupCommit[T]) complete(s *segment[T], failed []ItemError, err error, took time.Duration) {
	c, n := s.c, len(s.items)
	g.flushHist.RecordDuration(took)
	g.batchHist.Record(uint64(n))
	clear(s.items) // drop references for the garbage collector
	s.items, s.c = s.items[:0], nil

	g.mu.Lock()
	g.stats.Batches++
	g.stats.Writes += uint64(n)
	g.stats.LastBatch = n
	g.stats.MaxBatch = max(g.stats.MaxBatch, n)
	if err != nil {
		g.stats.FailedBatches++
		g.stats.FailedWrites += uint64(n)
	} else {
		g.stats.FailedWrites += uint64(len(failed))
	}
	if len(g.spare) <= g.maxPending/g.maxBatch {
		g.spare = append(g.spare, s)
	}
	g.mu.Unlock()

	c.finish(err, failed, n)
	if g.onBatch != nil {
		nf := len(failed)
		if err != nil {
			nf = n
		}
		g.onBatch(n, nf, took)
	}
	if g.afterBatch != nil {
		g.afterBatch()
	}
}

// take waits for the oldest batch and removes it from the queue; nil once
// the queue is empty and Close has begun.
func (g *GroupCommit[T]) take() *segment[T] {
	g.mu.Lock()
	defer g.mu.Unlock()
	for {
		for len(g.queue) == 0 {
			if g.closing {
				return nil
			}
			g.idle = true
			g.mu.Unlock()
			<-g.wake
			g.mu.Lock()
		}
		s := g.queue[0]
		if g.win.size == 0 || !g.lingerLocked(s) {
			break
		}
		// The batch waited (and g.mu was released): Close may have given
		// up on it meanwhile; look again.
		if len(g.queue) > 0 && g.queue[0] == s {
			break
		}
	}
	s := g.queue[0]
	if g.win.size > 0 {
		g.win.tookLocked()
	}
	copy(g.queue, g.queue[1:])
	g.queue[len(g.queue)-1] = nil
	g.queue = g.queue[:len(g.queue)-1]
	g.pending -= len(s.items)
	if g.space != nil {
		close(g.space)
		g.space = nil
	}
	return s
}
