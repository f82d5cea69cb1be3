package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/confab/confab/internal/store"
)

// The pipelined batch: one round trip per batch. Every write of the batch
// becomes part of a few statements — the events of a run of the batch in
// one multi-row INSERT (fenced in SQL), the routing updates in one
// multi-row UPDATE (fenced in SQL, one row per interaction), each other
// pipelinable write (a stmt) one statement — queued in order on one
// pgx.Batch with no BEGIN or COMMIT: PostgreSQL runs the statements of a
// pipeline up to its Sync as one implicit transaction and commits it at
// the Sync, so the batch is sent, executed and committed in one network
// round trip. The statements are prepared once per connection (pgx's
// statement cache).
//
// Writes that fail alone do so without an error from the server: a fenced
// event or routing update is filtered out by the statement's epoch check
// and reported from the owner epochs it returns; an update or close of a
// missing record affects no row. Anything the server refuses (an event
// already stored: a replay or a conflict; a constraint) aborts the implicit
// transaction, nothing of the batch is written, and the batch is written
// again by the statement path (writer.go), which handles each case with
// savepoints. A batch holding a write only the statement path knows (an fn)
// goes there at once, as does one whose events of a session carry different
// epochs; there, each run of other writes between the fns is pipelined
// inside the batch's transaction, in a savepoint (segment), and written
// write by write only if the server refuses it.

// stmt is a write that is one SQL statement whose outcome is its count of
// affected (or returned) rows, so that it can go in a pipeline.
type stmt struct {
	// build returns the statement and its arguments, once, on the writer
	// (a close renders its transcript here); an error fails the write
	// alone.
	build func() (sql string, args []any, err error)
	// check maps the count to the write's outcome (nil: done).
	check func(n int64) error
	// row, when set instead of check, reads the outcome from the one row
	// the statement returns (its Scan's error is the server's).
	row func(pgx.Row) error
	// fence is the session whose owner epoch the statement checks, if it
	// carries one: the batch takes the owner's fence lock (fencelock.go).
	fence string

	built bool
	sql   string
	args  []any
	err   error
}

func (st *stmt) prepare() (string, []any, error) {
	if !st.built {
		st.sql, st.args, st.err = st.build()
		st.built = true
	}
	return st.sql, st.args, st.err
}

// exec runs the statement inside tx (the statement path).
func (st *stmt) exec(ctx context.Context, tx pgx.Tx) error {
	sql, args, err := st.prepare()
	if err != nil {
		return err
	}
	if st.row != nil {
		return classifyRow(st.row(tx.QueryRow(ctx, sql, args...)))
	}
	tag, err := tx.Exec(ctx, sql, args...)
	if err != nil {
		return classify(err)
	}
	return st.check(tag.RowsAffected())
}

// classifyRow classifies a row statement's error from the server.
func classifyRow(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return classify(err)
	}
	return err
}

// one is a check for a statement that must affect exactly one row.
func one(none error) func(int64) error {
	return func(n int64) error {
		if n != 1 {
			return none
		}
		return nil
	}
}

// pipeEvents inserts a run of events, leaving out those whose epoch is not
// their session's owner epoch, and returns the owner rows it looked at,
// with their nodes' claim counts (the batch holds their nodes' fence
// locks, so a claim waits for the writes of the epoch it ends:
// fencelock.go). The owner rows of the sessions whose events are marked
// trusted ($7) are not read while the claim counts of the nodes in $8 are
// those in $9 (fencetrust.go); if one differs, every event is checked. A
// position already stored fails the statement (unique violation): the
// statement path then sorts replays from conflicts.
const pipeEvents = `WITH u AS (
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bytea[], $6::bigint[], $7::bool[])
			AS u(session_id, position, event_id, at, data, epoch, trusted)),
	o AS (SELECT session_id, epoch, node_id FROM session_owners
		WHERE session_id IN (SELECT session_id FROM u WHERE epoch <> 0 AND NOT (trusted AND (
			SELECT coalesce(bool_and(coalesce(f.claims, 0) = t.claims), true)
			FROM unnest($8::text[], $9::bigint[]) AS t(node_id, claims) LEFT JOIN fence_claims AS f USING (node_id))))),
	ins AS (INSERT INTO session_events (session_id, position, event_id, at, data)
		SELECT u.session_id, u.position, u.event_id, u.at, u.data FROM u LEFT JOIN o USING (session_id)
		WHERE u.epoch = 0 OR o.epoch IS NULL OR o.epoch = u.epoch)
SELECT o.session_id, o.epoch, o.node_id, coalesce(f.claims, 0) FROM o LEFT JOIN fence_claims AS f USING (node_id)`

// pipeRoutes writes routing updates (one per interaction) without reading
// the records, fenced like pipeEvents, and returns for each whether it was
// written and the owner epoch, if any.
const pipeRoutes = `WITH u AS (
		SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bigint[]) AS u(id, state, user_data, epoch)),
	o AS (SELECT session_id, epoch FROM session_owners
		WHERE session_id IN (SELECT id FROM u WHERE epoch <> 0)),
	upd AS (UPDATE interactions AS i SET state = u.state, user_data = u.user_data, version = i.version + 1
		FROM u LEFT JOIN o ON o.session_id = u.id
		WHERE i.id = u.id AND (u.epoch = 0 OR o.epoch IS NULL OR o.epoch = u.epoch)
		RETURNING i.id)
SELECT u.id, o.epoch, EXISTS (SELECT 1 FROM upd WHERE upd.id = u.id) FROM u LEFT JOIN o ON o.session_id = u.id`

// pipeline is one pipelined batch (or run of a batch) in formation.
type pipeline struct {
	r      *batchRun // the outcome: failed writes, poisoned sessions
	fence  fencePlan // the sessions trusted (fencetrust.go); none in a segment
	b      pgx.Batch
	reads  []func(pgx.BatchResults) error // one per queued statement, in order
	events []int                          // batch indexes of the events not yet queued
	routes []int                          // ... of the routing updates not yet queued
}

// pipelinable reports whether the batch can be pipelined whole: only
// events, routing updates and stmts, and one epoch per session among the
// events.
func pipelinable(batch []op) bool {
	for i := range batch {
		if batch[i].fn != nil {
			return false
		}
	}
	return oneEpochEach(batch, func(yield func(int) bool) {
		for i := range batch {
			if !yield(i) {
				return
			}
		}
	})
}

// pipelinableAt is pipelinable for the writes at idx (none an fn).
func pipelinableAt(batch []op, idx []int) bool {
	return oneEpochEach(batch, func(yield func(int) bool) {
		for _, i := range idx {
			if !yield(i) {
				return
			}
		}
	})
}

// oneEpochEach reports whether the events among the writes given carry one
// epoch per session (the pipeline's fence reports a session's events as
// all fenced or none).
func oneEpochEach(batch []op, each func(func(int) bool)) bool {
	// Usually every event of a batch carries the same epoch (1: the
	// sessions this node created): nothing to compare per session.
	same, first, seen := true, int64(0), false
	each(func(i int) bool {
		o := &batch[i]
		if o.route != nil || o.st != nil || o.fn != nil {
			return true
		}
		if seen && o.ev.Epoch != first {
			same = false
			return false
		}
		first, seen = o.ev.Epoch, true
		return true
	})
	if same {
		return true
	}
	var epochs map[string]int64
	ok := true
	each(func(i int) bool {
		o := &batch[i]
		if o.route != nil || o.st != nil || o.fn != nil {
			return true
		}
		if epochs == nil {
			epochs = make(map[string]int64)
		}
		if ep, seen := epochs[o.ev.SessionID]; seen && ep != o.ev.Epoch {
			ok = false
			return false
		}
		epochs[o.ev.SessionID] = o.ev.Epoch
		return true
	})
	return ok
}

// add queues batch[i] (not an fn).
func (p *pipeline) add(i int) {
	o := &p.r.batch[i]
	switch {
	case o.route != nil:
		if p.r.last[o.route.ID] == i { // else superseded
			p.routes = append(p.routes, i)
		}
	case o.st != nil:
		// A barrier: what came before it is queued before it (a close
		// deletes the events appended ahead of it; an update follows the
		// create).
		p.queueEvents()
		p.queueRoutes()
		p.queueStmt(i, o.st)
	default:
		if p.r.skip(i) {
			return
		}
		// A deferred event is encoded here, on the writer (store.EventRow.Encoder).
		if err := o.ev.EncodeData(); err != nil {
			p.r.fail(i, err)
			return
		}
		if err := validEvent(&o.ev); err != nil {
			p.r.fail(i, err)
			return
		}
		p.events = append(p.events, i)
		if len(p.events) == maxChunk {
			p.queueEvents()
		}
	}
}

// batchSender is a connection or a transaction.
type batchSender interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// send runs the queued statements in one round trip and reads their
// results.
func (p *pipeline) send(ctx context.Context, to batchSender) error {
	return p.read(p.sendOnly(ctx, to))
}

// sendOnly sends the queued statements and their Sync without waiting
// for the server's answer (nil if there is nothing to send); read reads
// it.
func (p *pipeline) sendOnly(ctx context.Context, to batchSender) pgx.BatchResults {
	p.queueEvents()
	p.queueRoutes()
	if p.b.Len() == 0 {
		return nil
	}
	return to.SendBatch(ctx, &p.b)
}

// read reads the results of the statements sendOnly sent.
func (p *pipeline) read(br pgx.BatchResults) error {
	if br == nil {
		return nil
	}
	var err error
	for _, read := range p.reads {
		if err = read(br); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// newPipeline queues every write of batch (pipelinable) on a pipeline,
// trusting the owner rows t has read (fencetrust.go).
func newPipeline(batch []op, t *fenceTrust) (*batchRun, *pipeline) {
	r := &batchRun{batch: batch, last: lastRoutes(batch)}
	p := &pipeline{r: r, fence: t.plan(batch)}
	if f := &p.fence; f.untrusted != nil || f.nodes != nil {
		p.b.Queue(lockOwners, f.untrusted, f.nodes)
		p.reads = append(p.reads, func(br pgx.BatchResults) error {
			_, err := br.Exec()
			return err
		})
	}
	for i := range batch {
		p.add(i)
	}
	return r, p
}

// segment writes the writes at seg (a run between function ops, in batch
// order) in one round trip inside the batch's transaction, in a savepoint.
// done is false (and err nil) if the server refused a statement: the run is
// rolled back to the savepoint, r is as before, and the caller writes the
// run the statement way.
func (r *batchRun) segment(ctx context.Context, seg []int) (done bool, err error) {
	mark, pz := len(r.failed), maps.Clone(r.poisoned)
	p := &pipeline{r: r}
	p.execOnly("SAVEPOINT pipelined")
	for _, i := range seg {
		p.add(i)
	}
	p.queueEvents()
	p.queueRoutes()
	p.execOnly("RELEASE SAVEPOINT pipelined")
	err = p.send(ctx, r.tx)
	if err == nil {
		return true, nil
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false, err
	}
	r.failed, r.poisoned = r.failed[:mark], pz
	if _, err := r.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT pipelined"); err != nil {
		return false, err
	}
	return false, nil
}

// execOnly queues a statement whose only outcome is success.
func (p *pipeline) execOnly(sql string) {
	p.b.Queue(sql)
	p.reads = append(p.reads, func(br pgx.BatchResults) error {
		_, err := br.Exec()
		return err
	})
}

// failedAt gives each superseded routing update its last one's outcome.
func failedAt(r *batchRun, follow [][2]int) {
	if len(follow) == 0 || len(r.failed) == 0 {
		return
	}
	byIndex := make(map[int]error, len(r.failed))
	for _, f := range r.failed {
		byIndex[f.Index] = f.Err
	}
	for _, f := range follow {
		if err, ok := byIndex[f[1]]; ok {
			r.failed = append(r.failed, store.ItemError{Index: f[0], Err: err})
		}
	}
}

func (p *pipeline) queueStmt(i int, st *stmt) {
	sql, args, err := st.prepare()
	if err != nil {
		p.r.failed = append(p.r.failed, store.ItemError{Index: i, Err: err})
		return
	}
	p.b.Queue(sql, args...)
	if st.row != nil {
		p.reads = append(p.reads, func(br pgx.BatchResults) error {
			err := st.row(br.QueryRow())
			var pe *pgconn.PgError
			if errors.As(err, &pe) {
				return err // the server refused it: the batch falls back
			}
			if err != nil {
				p.r.failed = append(p.r.failed, store.ItemError{Index: i, Err: err})
			}
			return nil
		})
		return
	}
	p.reads = append(p.reads, func(br pgx.BatchResults) error {
		tag, err := br.Exec()
		if err != nil {
			return err
		}
		if err := st.check(tag.RowsAffected()); err != nil {
			p.r.failed = append(p.r.failed, store.ItemError{Index: i, Err: err})
		}
		return nil
	})
}

func (p *pipeline) queueEvents() {
	if len(p.events) == 0 {
		return
	}
	chunk := p.events
	p.events = nil
	n := len(chunk)
	sids, poss, eids, ats, datas, epochs := make([]string, n), make([]int64, n), make([]int64, n), make([]int64, n), make([][]byte, n), make([]int64, n)
	trusted := make([]bool, n)
	for k, i := range chunk {
		e := &p.r.batch[i].ev
		sids[k], poss[k], eids[k], ats[k], datas[k], epochs[k] = e.SessionID, e.Position, e.EventID, micros(e.Time), []byte(e.Data), e.Epoch
		trusted[k] = p.fence.trusted(e.SessionID)
	}
	p.b.Queue(pipeEvents, sids, poss, eids, ats, datas, epochs, trusted, p.fence.nodes, p.fence.claims)
	p.reads = append(p.reads, func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		owners, err := scanOwnerReads(rows)
		if err != nil {
			return err
		}
		// The statement left these out. A session's events in the batch
		// carry one epoch (pipelinable), so all of them are fenced or none.
		for _, i := range chunk {
			e := &p.r.batch[i].ev
			o, ok := owners[e.SessionID]
			if ok && e.Epoch != 0 && o.epoch == e.Epoch {
				// Read and current: trusted by the next batches once
				// this one has committed.
				p.r.learned = append(p.r.learned, learnt{e.SessionID, o})
				delete(owners, e.SessionID) // once per session
				continue
			}
			if cur := o.epoch; ok && e.Epoch != 0 && cur != e.Epoch {
				err := fmt.Errorf("postgres: append event session %s position %d: %w: epoch %d, the owner's is %d",
					e.SessionID, e.Position, store.ErrFenced, e.Epoch, cur)
				p.r.failed = append(p.r.failed, store.ItemError{Index: i, Err: err})
				if _, set := p.r.poisoned[e.SessionID]; !set {
					if p.r.poisoned == nil {
						p.r.poisoned = make(map[string]poison)
					}
					p.r.poisoned[e.SessionID] = poison{e.Position, err} // the batch's later writes of it fail too
				}
			}
		}
		return nil
	})
}

// scanOwnerReads reads pipeEvents' rows (session_id, epoch, node_id,
// claims) into a map and closes rows.
func scanOwnerReads(rows pgx.Rows) (map[string]ownerRead, error) {
	defer rows.Close()
	out := make(map[string]ownerRead)
	for rows.Next() {
		var id string
		var r ownerRead
		if err := rows.Scan(&id, &r.epoch, &r.node, &r.claims); err != nil {
			return nil, err
		}
		out[id] = r
	}
	return out, rows.Err()
}

func (p *pipeline) queueRoutes() {
	if len(p.routes) == 0 {
		return
	}
	idx := p.routes
	p.routes = nil
	n := len(idx)
	ids, states, datas, epochs := make([]string, n), make([]string, n), make([][]byte, n), make([]int64, n)
	at := make(map[string]int, n)
	for k, i := range idx {
		u := p.r.batch[i].route
		ids[k], states[k], datas[k], epochs[k] = u.ID, u.State, []byte(u.UserData), u.Epoch
		at[u.ID] = i
	}
	p.b.Queue(pipeRoutes, ids, states, datas, epochs)
	p.reads = append(p.reads, func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var owner *int64
			var written bool
			if err := rows.Scan(&id, &owner, &written); err != nil {
				return err
			}
			i, ok := at[id]
			if !ok || written {
				continue
			}
			err := store.ErrNotFound
			if u := p.r.batch[i].route; owner != nil && u.Epoch != 0 && *owner != u.Epoch {
				err = fmt.Errorf("%w: epoch %d, the owner's is %d", store.ErrFenced, u.Epoch, *owner)
			}
			p.r.failed = append(p.r.failed, store.ItemError{Index: i, Err: err})
		}
		return rows.Err()
	})
}
