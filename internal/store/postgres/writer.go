package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/confab/confab/internal/store"
)

// op is one write queued on the writer: an event (fn == nil), or any other
// write as a function run inside the batch transaction.
type op struct {
	ev    store.EventRow
	fn    func(ctx context.Context, tx pgx.Tx) error
	route *store.RoutingUpdate // a routing update (coalesced per interaction per batch)
	st    *stmt                // a one-statement write (pipelinable, pipeline.go)
	what  string
}

// exec runs a function or statement op inside tx.
func (o *op) exec(ctx context.Context, tx pgx.Tx) error {
	if o.st != nil {
		return o.st.exec(ctx, tx)
	}
	return o.fn(ctx, tx)
}

// writer runs the batches; its methods run on the group-commit
// goroutines only: start and flush on the one that takes batches, the
// outcome functions start returns on the one that completes them, in
// order (inflight.go).
type writer struct {
	s          *Store
	prev       *flight    // the batch started last; start only
	overlapMin int        // Options.OverlapBatch
	syncHist   store.Hist // time of each COMMIT, or each pipeline's round trip (µs); read by WriterStats

	noPipeline             bool          // tests and benchmarks: the statement path only
	noCopy                 bool          // tests and benchmarks: no COPY fast path (copyfast.go)
	nCopied, nCopyFellBack atomic.Uint64 // batches written by COPY, and sent from it to the pipeline
	nPipelined, nFellBack  atomic.Uint64 // batches written by the pipeline, and sent from it to the statement path
	nSegments              atomic.Uint64 // runs of writes pipelined inside statement-path batches
}

// maxChunk is the number of events inserted by one statement.
const maxChunk = 1000

// flush writes one batch in one transaction; see store.GroupCommitConfig.
func (w *writer) flush(batch []op) ([]store.ItemError, error) {
	ctx, cancel := context.WithTimeout(context.Background(), w.s.opts.BatchTimeout)
	defer cancel()
	conn, err := w.s.pool.Acquire(ctx)
	if err != nil {
		return nil, batchErr(batch, "connect", err)
	}
	defer conn.Release()
	if !w.noPipeline && pipelinable(batch) {
		if c, ok := w.copyPlan(batch); ok && copyable(conn) {
			began := time.Now()
			return w.copyEnd(ctx, conn, batch, copyRun(ctx, conn, &c), began)
		}
		r, p := newPipeline(batch, &w.s.trust)
		began := time.Now()
		return w.pipelineEnd(ctx, conn, batch, r, p.send(ctx, conn), began)
	}
	return w.statements(ctx, conn, batch, !w.noPipeline)
}

// statements writes one batch in an explicit transaction, each write that
// may fail alone in a savepoint. With segments, the runs of pipelinable
// writes between the others (function ops) go in one pipelined round trip
// each, inside a savepoint of their own; a run the server refuses is
// rolled back to that savepoint and written write by write.
func (w *writer) statements(ctx context.Context, conn *pgxpool.Conn, batch []op, segments bool) ([]store.ItemError, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, batchErr(batch, "begin transaction", err)
	}
	r := batchRun{tx: tx, batch: batch, last: lastRoutes(batch)}
	fail := func(stage string, err error) ([]store.ItemError, error) {
		tx.Rollback(context.WithoutCancel(ctx))
		return nil, batchErr(batch, stage, err)
	}
	// Before any write: the fence locks of the owners (fencelock.go).
	if ids := fencedSessions(batch); ids != nil {
		if _, err := tx.Exec(ctx, lockOwners, ids, []string(nil)); err != nil {
			return fail("owner fence locks", err)
		}
	}
	follow := superseded(batch, r.last)
	var seg []int // a run of pipelinable writes not yet written
	flushSeg := func() error {
		defer func() { seg = seg[:0] }()
		if len(seg) == 0 {
			return nil
		}
		if pipelinableAt(batch, seg) {
			done, err := r.segment(ctx, seg)
			if done || err != nil {
				if done {
					w.nSegments.Add(1)
				}
				return err
			}
		}
		for _, i := range seg {
			if err := r.one(ctx, i); err != nil {
				return err
			}
		}
		return r.flushChunk(ctx)
	}
	for i := range batch {
		if segments && batch[i].fn == nil {
			seg = append(seg, i)
			continue
		}
		if err := flushSeg(); err != nil {
			return fail("pipelined writes", err)
		}
		if err := r.one(ctx, i); err != nil {
			return fail(batch[i].what, err)
		}
	}
	if err := flushSeg(); err != nil {
		return fail("pipelined writes", err)
	}
	if err := r.flushChunk(ctx); err != nil {
		return fail("append events", err)
	}
	began := time.Now()
	if err := tx.Commit(ctx); err != nil {
		return nil, batchErr(batch, "commit", err)
	}
	w.syncHist.RecordDuration(time.Since(began))
	failedAt(&r, follow)
	return r.failed, nil
}

// superseded lists the routing updates followed by a later one of the same
// interaction in the batch: (index, index of the last).
func superseded(batch []op, last map[string]int) [][2]int {
	var follow [][2]int
	for i := range batch {
		if u := batch[i].route; u != nil && last[u.ID] != i {
			follow = append(follow, [2]int{i, last[u.ID]})
		}
	}
	return follow
}

// one writes batch[i] the statement way; an error fails the batch. Events
// gather in r.chunk (written by flushChunk, before any other write).
func (r *batchRun) one(ctx context.Context, i int) error {
	o := &r.batch[i]
	tx := r.tx
	if o.route != nil {
		if r.last[o.route.ID] != i {
			return nil // superseded
		}
		u := o.route
		rop := op{what: o.what, fn: func(ctx context.Context, tx pgx.Tx) error { return updateRouting(ctx, tx, u) }}
		if err := run(ctx, tx, &rop); err != nil {
			if !isItemErr(err) {
				return err
			}
			r.failed = append(r.failed, store.ItemError{Index: i, Err: err})
		}
		return nil
	}
	if o.fn != nil || o.st != nil {
		if err := r.flushChunk(ctx); err != nil {
			return err
		}
		if err := run(ctx, tx, o); err != nil {
			if !isItemErr(err) {
				return err
			}
			r.failed = append(r.failed, store.ItemError{Index: i, Err: err})
		}
		return nil
	}
	if r.skip(i) {
		return nil
	}
	// A deferred event is encoded here, on the writer (store.EventRow.Encoder).
	if err := o.ev.EncodeData(); err != nil {
		r.fail(i, err)
		return nil
	}
	if err := validEvent(&o.ev); err != nil {
		r.fail(i, err)
		return nil
	}
	r.chunk = append(r.chunk, i)
	if len(r.chunk) == maxChunk {
		return r.flushChunk(ctx)
	}
	return nil
}

// lastRoutes maps each interaction with routing updates in the batch to
// the index of its last one; nil if there are none.
func lastRoutes(batch []op) map[string]int {
	var last map[string]int
	for i := range batch {
		if u := batch[i].route; u != nil {
			if last == nil {
				last = make(map[string]int)
			}
			last[u.ID] = i
		}
	}
	return last
}

// updateRouting writes a routing update without reading the record; an
// update with an epoch is refused (ErrFenced) if the session's owner row
// has another.
func updateRouting(ctx context.Context, tx pgx.Tx, u *store.RoutingUpdate) error {
	if err := fenceOwner(ctx, tx, u.ID, u.Epoch); err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, `UPDATE interactions SET state = $1, user_data = $2, version = version + 1 WHERE id = $3`,
		u.State, blob(u.UserData), u.ID)
	if err != nil {
		return classify(err)
	}
	if tag.RowsAffected() != 1 {
		return store.ErrNotFound
	}
	return nil
}

// run executes a function op in a savepoint, so that a failure on its own
// undoes its partial writes and leaves the transaction going.
func run(ctx context.Context, tx pgx.Tx, o *op) error {
	sp, err := tx.Begin(ctx) // a savepoint
	if err != nil {
		return err
	}
	if err := o.exec(ctx, sp); err != nil {
		if rerr := sp.Rollback(ctx); rerr != nil {
			return fmt.Errorf("roll back savepoint after %v: %w", err, rerr)
		}
		return err
	}
	return sp.Commit(ctx) // releases the savepoint
}

// batchRun is the state of one flush.
type batchRun struct {
	tx       pgx.Tx
	batch    []op
	last     map[string]int // lastRoutes(batch)
	failed   []store.ItemError
	poisoned map[string]poison
	chunk    []int
	learned  []learnt // owner rows read, trusted once the batch has committed (fencetrust.go)
}

type poison struct {
	pos int64
	err error
}

func (r *batchRun) skip(i int) bool {
	e := &r.batch[i].ev
	p, ok := r.poisoned[e.SessionID]
	if !ok {
		return false
	}
	r.failed = append(r.failed, store.ItemError{Index: i, Err: fmt.Errorf(
		"postgres: append event session %s position %d: not written after the failure of position %d in the same batch: %w",
		e.SessionID, e.Position, p.pos, p.err)})
	return true
}

func (r *batchRun) fail(i int, err error) {
	e := &r.batch[i].ev
	r.failed = append(r.failed, store.ItemError{Index: i, Err: fmt.Errorf(
		"postgres: append event session %s position %d: %w", e.SessionID, e.Position, err)})
	if r.poisoned == nil {
		r.poisoned = make(map[string]poison)
	}
	r.poisoned[e.SessionID] = poison{e.Position, err}
}

const insertEvents = `INSERT INTO session_events (session_id, position, event_id, at, data)
	SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bytea[])
	ON CONFLICT (session_id, position) DO NOTHING
	RETURNING session_id, position`

type eventKey struct {
	session string
	pos     int64
}

// flushChunk inserts the pending events in one statement inside a
// savepoint. Rows that were already stored are checked: identical ones are
// replays; if any differs, the savepoint is rolled back and the events are
// written one by one so that the conflict fails alone and poisons its
// session. A returned error fails the batch.
func (r *batchRun) flushChunk(ctx context.Context) error {
	if len(r.chunk) == 0 {
		return nil
	}
	defer func() { r.chunk = r.chunk[:0] }()
	if err := r.fence(ctx); err != nil {
		return err
	}
	n := len(r.chunk)
	if n == 0 {
		return nil
	}
	sids, poss, eids, ats, datas := make([]string, n), make([]int64, n), make([]int64, n), make([]int64, n), make([][]byte, n)
	for k, i := range r.chunk {
		e := &r.batch[i].ev
		sids[k], poss[k], eids[k], ats[k], datas[k] = e.SessionID, e.Position, e.EventID, micros(e.Time), e.Data
	}
	sp, err := r.tx.Begin(ctx)
	if err != nil {
		return err
	}
	inserted := make(map[eventKey]bool, n)
	rows, err := sp.Query(ctx, insertEvents, sids, poss, eids, ats, datas)
	if err == nil {
		for rows.Next() {
			var k eventKey
			if err = rows.Scan(&k.session, &k.pos); err != nil {
				break
			}
			inserted[k] = true
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if err != nil {
		if rerr := sp.Rollback(ctx); rerr != nil || !isItemErr(err) {
			return errors.Join(err, rerr)
		}
		return r.oneByOne(ctx)
	}
	clean := true
	seen := make(map[eventKey]int, n) // the first of duplicates within the chunk
	for k, i := range r.chunk {
		key := eventKey{sids[k], poss[k]}
		if inserted[key] {
			if j, dup := seen[key]; dup && !sameEvent(&r.batch[j].ev, &r.batch[i].ev) {
				clean = false
				break
			}
			seen[key] = i
			continue
		}
		same, err := storedSame(ctx, sp, &r.batch[i].ev)
		if err != nil {
			sp.Rollback(ctx)
			return err
		}
		if !same {
			clean = false
			break
		}
	}
	if clean {
		return sp.Commit(ctx)
	}
	if err := sp.Rollback(ctx); err != nil {
		return err
	}
	return r.oneByOne(ctx)
}

// fence refuses the chunk's events whose epoch is not their session's
// current owner epoch (ErrFenced, poisoning the session); the batch holds
// the owners' fence locks, so a claim waits for the writes of the epoch it
// ends (fencelock.go).
func (r *batchRun) fence(ctx context.Context) error {
	var ids []string
	seen := map[string]bool{}
	for _, i := range r.chunk {
		if e := &r.batch[i].ev; e.Epoch != 0 && !seen[e.SessionID] {
			seen[e.SessionID] = true
			ids = append(ids, e.SessionID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := r.tx.Query(ctx, `SELECT session_id, epoch FROM session_owners WHERE session_id = ANY($1)`, ids)
	if err != nil {
		return err
	}
	epochs, err := scanEpochs(rows)
	if err != nil {
		return err
	}
	kept := r.chunk[:0]
	for _, i := range r.chunk {
		e := &r.batch[i].ev
		if r.skip(i) {
			continue
		}
		if cur, ok := epochs[e.SessionID]; ok && e.Epoch != 0 && cur != e.Epoch {
			r.fail(i, fmt.Errorf("%w: epoch %d, the owner's is %d", store.ErrFenced, e.Epoch, cur))
			continue
		}
		kept = append(kept, i)
	}
	r.chunk = kept
	return nil
}

func sameEvent(a, b *store.EventRow) bool {
	return a.EventID == b.EventID && micros(a.Time) == micros(b.Time) && bytes.Equal(a.Data, b.Data)
}

// storedSame reports whether the stored event at e's place equals e.
func storedSame(ctx context.Context, q pgx.Tx, e *store.EventRow) (bool, error) {
	var eid, at int64
	var data []byte
	err := q.QueryRow(ctx, `SELECT event_id, at, data FROM session_events WHERE session_id = $1 AND position = $2`,
		e.SessionID, e.Position).Scan(&eid, &at, &data)
	if err != nil {
		return false, err
	}
	return eid == e.EventID && at == micros(e.Time) && bytes.Equal(data, e.Data), nil
}

// oneByOne writes the chunk's events one at a time.
func (r *batchRun) oneByOne(ctx context.Context) error {
	for _, i := range r.chunk {
		if r.skip(i) {
			continue
		}
		e := &r.batch[i].ev
		sp, err := r.tx.Begin(ctx)
		if err != nil {
			return err
		}
		err = appendOne(ctx, sp, e)
		if err != nil {
			if rerr := sp.Rollback(ctx); rerr != nil {
				return errors.Join(err, rerr)
			}
			if !isItemErr(err) {
				return err
			}
			r.fail(i, err)
			continue
		}
		if err := sp.Commit(ctx); err != nil {
			return err
		}
	}
	return nil
}

// appendOne inserts one event; an identical replay is a no-op and a
// different event at the same place is ErrConflict.
func appendOne(ctx context.Context, tx pgx.Tx, e *store.EventRow) error {
	tag, err := tx.Exec(ctx, `INSERT INTO session_events (session_id, position, event_id, at, data)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (session_id, position) DO NOTHING`,
		e.SessionID, e.Position, e.EventID, micros(e.Time), e.Data)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	same, err := storedSame(ctx, tx, e)
	if err != nil {
		return err
	}
	if !same {
		return fmt.Errorf("%w: a different event is stored at this position", store.ErrConflict)
	}
	return nil
}

func validEvent(e *store.EventRow) error {
	switch {
	case e.SessionID == "":
		return fmt.Errorf("%w: empty session id", store.ErrInvalid)
	case e.Position < 0:
		return fmt.Errorf("%w: negative position", store.ErrInvalid)
	case !e.HasData():
		return fmt.Errorf("%w: nil data", store.ErrInvalid)
	}
	return nil
}

// batchErr wraps the failure of a whole batch with the first few sessions
// (or other records) it held.
func batchErr(batch []op, stage string, err error) error {
	const show = 5
	var names []string
	seen := make(map[string]bool)
	for i := range batch {
		n := batch[i].ev.SessionID
		if batch[i].fn != nil || batch[i].route != nil || batch[i].st != nil {
			n = batch[i].what
		}
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	list := strings.Join(names[:min(show, len(names))], ", ")
	if len(names) > show {
		list += fmt.Sprintf(" and %d more", len(names)-show)
	}
	return fmt.Errorf("postgres: batch of %d writes (sessions %s) failed at %s: %w", len(batch), list, stage, err)
}

// scanEpochs reads (session_id, epoch) rows of session_owners into a map
// and closes rows.
func scanEpochs(rows pgx.Rows) (map[string]int64, error) {
	defer rows.Close()
	epochs := make(map[string]int64)
	for rows.Next() {
		var id string
		var epoch int64
		if err := rows.Scan(&id, &epoch); err != nil {
			return nil, err
		}
		epochs[id] = epoch
	}
	return epochs, rows.Err()
}
