package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/confab/confab/internal/store"
)

// Two batches in flight (store.GroupCommitConfig.Start). With one batch at
// a time the writer's connection and its backend take turns: while the
// backend executes and commits a batch the writer waits, and while the
// writer completes the batch's tickets and builds the next one the backend
// waits; at full speed every batch paid its round trip, its commit's WAL
// flush and the writer's own work one after the other. Now the next batch
// is sent, on a second connection, while the previous one is still being
// executed or committed, so the two backends' work and WAL flushes overlap.
//
// Only batches whose writes cannot depend on each other overlap: both are
// pure (events and routing updates only, pipelined whole) and no
// interaction has a routing update in both. An event is a row of its own
// (its key is its session and position); the events of a session in the
// later batch come after those of the earlier one and need nothing of
// them; both hold their owners' fence locks shared, which does not block
// the other batch, and an owner's epoch change (a claim) waits for both
// (fencelock.go), so fencing is the same check as before. Any other write — creating or
// closing an interaction, an owner row, a versioned update, a function op
// — is written only after the batch before it has ended, and the batch
// after it waits for it to end: what it writes may be what the next batch
// updates, and a close deletes the events written before it.
//
// A batch smaller than Options.OverlapBatch waits for the one before it
// too: at a moderate rate a second round trip in flight saves no time
// worth its commit (the commit window gathers such batches instead), and
// overlapping them made a third more commits at 2,000 events/s
// (BenchmarkWriterRate).
//
// Outcomes are still delivered in enqueue order (the GroupCommit completes
// batches one after the other), and an event is acknowledged only once
// its own batch has committed. If the earlier of two overlapping batches is
// refused by the server and written again by the statement path, the later
// one may have committed first: its events are of later positions, or of
// other sessions, and its routing updates of other interactions, so the
// store ends the same; a batch that fails whole leaves the later one's
// writes in place, as it did when the later batch was simply the next one.

// flight is a batch the writer has started.
type flight struct {
	done   chan struct{}   // closed once the batch has committed or failed
	pure   bool            // events and routing updates only, pipelined
	routes map[string]bool // the interactions it writes routing updates of
}

// overlaps reports whether next may be written while prev is in flight.
func overlaps(prev, next *flight) bool {
	if !prev.pure || !next.pure {
		return false
	}
	for id := range next.routes {
		if prev.routes[id] {
			return false
		}
	}
	return true
}

// pure reports whether the batch holds events and routing updates only and
// can be pipelined whole.
func pure(batch []op) bool {
	for i := range batch {
		if batch[i].fn != nil || batch[i].st != nil {
			return false
		}
	}
	return pipelinable(batch)
}

// flightOf describes batch, not yet started.
func (w *writer) flightOf(batch []op) *flight {
	f := &flight{done: make(chan struct{})}
	if w.noPipeline || !pure(batch) {
		return f
	}
	f.pure = true
	for i := range batch {
		if u := batch[i].route; u != nil {
			if f.routes == nil {
				f.routes = make(map[string]bool)
			}
			f.routes[u.ID] = true
		}
	}
	return f
}

// start begins writing batch; see store.GroupCommitConfig.Start. It runs
// on the writer's taking goroutine, the function it returns on its
// completing goroutine.
func (w *writer) start(batch []op) func() ([]store.ItemError, error) {
	f := w.flightOf(batch)
	if prev := w.prev; prev != nil && (!overlaps(prev, f) || len(batch) < w.overlapMin) {
		<-prev.done
	}
	w.prev = f
	if !f.pure {
		failed, err := w.flush(batch)
		close(f.done)
		return func() ([]store.ItemError, error) { return failed, err }
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.s.opts.BatchTimeout)
	conn, err := w.s.pool.Acquire(ctx)
	if err != nil {
		cancel()
		close(f.done)
		err = batchErr(batch, "connect", err)
		return func() ([]store.ItemError, error) { return nil, err }
	}
	if c, ok := w.copyPlan(batch); ok && copyable(conn) {
		// The COPY fast path (copyfast.go): its query is sent and read in
		// one call, so it runs on a goroutine of its own.
		began := time.Now()
		ended := make(chan error, 1)
		go func() { ended <- copyRun(ctx, conn, &c) }()
		return func() ([]store.ItemError, error) {
			defer close(f.done)
			defer cancel()
			defer conn.Release()
			return w.copyEnd(ctx, conn, batch, <-ended, began)
		}
	}
	r, p := newPipeline(batch, &w.s.trust)
	began := time.Now()
	br := p.sendOnly(ctx, conn)
	return func() ([]store.ItemError, error) {
		defer close(f.done)
		defer cancel()
		defer conn.Release()
		return w.pipelineEnd(ctx, conn, batch, r, p.read(br), began)
	}
}

// pipelineEnd is the outcome of a pipelined batch whose results were read
// with error err: a batch the server refused is written again by the
// statement path on the same connection.
func (w *writer) pipelineEnd(ctx context.Context, conn *pgxpool.Conn, batch []op, r *batchRun, err error, began time.Time) ([]store.ItemError, error) {
	if err != nil {
		var pe *pgconn.PgError
		if !errors.As(err, &pe) {
			return nil, batchErr(batch, "pipeline", err)
		}
		w.nFellBack.Add(1)
		return w.statements(ctx, conn, batch, false)
	}
	// Statements and commit are one round trip here: the commit's time
	// cannot be told apart.
	w.syncHist.RecordDuration(time.Since(began))
	w.s.trust.learn(r.learned)
	failedAt(r, superseded(batch, r.last))
	w.nPipelined.Add(1)
	return r.failed, nil
}
