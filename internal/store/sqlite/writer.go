package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	sqlite "modernc.org/sqlite"

	"github.com/confab/confab/internal/store"
)

// op is one write queued on the writer: an event (fn == nil), or any other
// write as a function run inside the batch transaction.
type op struct {
	ev   store.EventRow
	fn   func(ctx context.Context, w *writer) error
	what string // names fn's write in errors: "interaction X", "document Y"
}

// maxSIDCache bounds the session-key cache; it is emptied when full (a miss
// costs one indexed lookup).
const maxSIDCache = 1 << 18

// writer owns the write connection. Every method runs on the group-commit
// goroutine only (or during Open/Close, when that goroutine is not
// running), so nothing here needs a lock.
type writer struct {
	conn *sql.Conn

	begin, commit, rollback  *sql.Stmt
	savepoint, release, undo *sql.Stmt
	insEvent, getEvent       *sql.Stmt
	getSID, insSID           *sql.Stmt
	inserts                  [maxChunk + 1]*sql.Stmt // inserts[n] inserts n events

	chunk []int // reused by flush
	args  []any // reused by flush

	// sids caches event_sessions: session id -> sid. It always agrees with
	// the database as seen by the writer's transaction, because only the
	// writer writes that table.
	sids map[string]int64
	// newSIDs lists the sessions given a sid in the current transaction,
	// to forget if it rolls back.
	newSIDs []string

	ckptPages int           // checkpoint once this many pages went to the WAL
	walPages  int           // pages written to the WAL since the last checkpoint
	ckpt      *checkpointer // runs the checkpoints; nil until Open starts it

	// Read by WriterStats from other goroutines.
	pages    atomic.Uint64 // pages written to the WAL
	syncHist store.Hist    // time of each COMMIT statement (µs)
}

func newWriter(ctx context.Context, conn *sql.Conn, ckptPages int) (*writer, error) {
	w := &writer{conn: conn, sids: make(map[string]int64), ckptPages: ckptPages}
	for _, p := range []struct {
		st **sql.Stmt
		q  string
	}{
		{&w.begin, "BEGIN IMMEDIATE"},
		{&w.commit, "COMMIT"},
		{&w.rollback, "ROLLBACK"},
		{&w.savepoint, "SAVEPOINT op"},
		{&w.release, "RELEASE op"},
		{&w.undo, "ROLLBACK TO op"},
		{&w.insEvent, `INSERT INTO session_events (sid, position, event_id, at, data) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (sid, position) DO NOTHING`},
		{&w.getEvent, "SELECT event_id, at, data FROM session_events WHERE sid = ? AND position = ?"},
		{&w.getSID, "SELECT sid FROM event_sessions WHERE session_id = ?"},
		{&w.insSID, "INSERT INTO event_sessions (session_id) VALUES (?) RETURNING sid"},
	} {
		st, err := conn.PrepareContext(ctx, p.q)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("prepare %q: %w", p.q, err)
		}
		*p.st = st
	}
	return w, nil
}

// close releases the statements and the connection.
func (w *writer) close() error {
	for _, st := range []*sql.Stmt{w.begin, w.commit, w.rollback, w.savepoint, w.release, w.undo,
		w.insEvent, w.getEvent, w.getSID, w.insSID} {
		if st != nil {
			st.Close()
		}
	}
	for _, st := range w.inserts {
		if st != nil {
			st.Close()
		}
	}
	return w.conn.Close()
}

// flush writes one batch in one transaction; see store.GroupCommitConfig.
//
// Runs of events are inserted maxChunk rows per statement. A chunk that
// fails on its own (a duplicate position, a rejected row) wrote nothing, as
// a failed statement is undone; its rows are then written one by one to find
// the replays and the culprits.
func (w *writer) flush(batch []op) ([]store.ItemError, error) {
	ctx := context.Background() // a context without Done: no watcher per statement
	if _, err := w.begin.ExecContext(ctx); err != nil {
		return nil, w.batchErr(batch, "begin transaction", err)
	}
	r := batchRun{w: w, batch: batch, chunk: w.chunk[:0]}
	defer func() { w.chunk = r.chunk[:0] }()
	for i := range batch {
		o := &batch[i]
		if o.fn != nil {
			if err := r.flushChunk(ctx); err != nil {
				w.abort(ctx)
				return nil, w.batchErr(batch, "append events", err)
			}
			if err := w.run(ctx, o); err != nil {
				if !isItemErr(err) {
					w.abort(ctx)
					return nil, w.batchErr(batch, o.what, err)
				}
				r.failed = append(r.failed, store.ItemError{Index: i, Err: err})
			}
			continue
		}
		if r.skip(i) {
			continue
		}
		if err := validEvent(&o.ev); err != nil {
			r.fail(i, err)
			continue
		}
		r.chunk = append(r.chunk, i)
		if len(r.chunk) == maxChunk {
			if err := r.flushChunk(ctx); err != nil {
				w.abort(ctx)
				return nil, w.batchErr(batch, "append events", err)
			}
		}
	}
	if err := r.flushChunk(ctx); err != nil {
		w.abort(ctx)
		return nil, w.batchErr(batch, "append events", err)
	}
	began := time.Now()
	if _, err := w.commit.ExecContext(ctx); err != nil {
		w.abort(ctx)
		return nil, w.batchErr(batch, "commit", err)
	}
	w.syncHist.RecordDuration(time.Since(began))
	w.newSIDs = w.newSIDs[:0]
	return r.failed, nil
}

// maxChunk is the number of events inserted by one statement.
const maxChunk = 32

// batchRun is the state of one flush.
type batchRun struct {
	w        *writer
	batch    []op
	failed   []store.ItemError
	poisoned map[string]poison // sessions with a failed event in this batch
	chunk    []int             // indexes of the events waiting to be inserted
}

// skip fails event i if an earlier event of its session failed in this
// batch, so that a session's stored events never skip a failed one.
func (r *batchRun) skip(i int) bool {
	e := &r.batch[i].ev
	p, ok := r.poisoned[e.SessionID]
	if !ok {
		return false
	}
	r.failed = append(r.failed, store.ItemError{Index: i, Err: fmt.Errorf(
		"sqlite: append event session %s position %d: not written after the failure of position %d in the same batch: %w",
		e.SessionID, e.Position, p.pos, p.err)})
	return true
}

// fail records the failure of event i and poisons its session.
func (r *batchRun) fail(i int, err error) {
	e := &r.batch[i].ev
	r.failed = append(r.failed, store.ItemError{Index: i, Err: fmt.Errorf(
		"sqlite: append event session %s position %d: %w", e.SessionID, e.Position, err)})
	if r.poisoned == nil {
		r.poisoned = make(map[string]poison)
	}
	r.poisoned[e.SessionID] = poison{e.Position, err}
}

// flushChunk inserts the pending events. A returned error fails the batch.
func (r *batchRun) flushChunk(ctx context.Context) error {
	if len(r.chunk) == 0 {
		return nil
	}
	w := r.w
	defer func() { r.chunk = r.chunk[:0] }()
	args := w.args[:0]
	for _, i := range r.chunk {
		e := &r.batch[i].ev
		sid, err := w.sid(ctx, e.SessionID)
		if err != nil {
			return err
		}
		args = append(args, sid, e.Position, e.EventID, micros(e.Time), []byte(e.Data))
	}
	st, err := w.insertStmt(ctx, len(r.chunk))
	if err == nil {
		_, err = st.ExecContext(ctx, args...)
	}
	clear(args) // drop references to the events' data
	w.args = args[:0]
	if err == nil || !isItemErr(err) {
		return err
	}
	for _, i := range r.chunk {
		if r.skip(i) {
			continue
		}
		if err := w.appendEvent(ctx, &r.batch[i].ev); err != nil {
			if !isItemErr(err) {
				return err
			}
			r.fail(i, err)
		}
	}
	return nil
}

// insertStmt returns the statement inserting n events, preparing it on
// first use.
func (w *writer) insertStmt(ctx context.Context, n int) (*sql.Stmt, error) {
	if st := w.inserts[n]; st != nil {
		return st, nil
	}
	q := "INSERT INTO session_events (sid, position, event_id, at, data) VALUES " +
		strings.Repeat("(?, ?, ?, ?, ?), ", n-1) + "(?, ?, ?, ?, ?)"
	st, err := w.conn.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	w.inserts[n] = st
	return st, nil
}

// poison records the first failed event of a session in a batch.
type poison struct {
	pos int64
	err error
}

// run executes a function op in a savepoint, so that a failure on its own
// undoes its partial writes and leaves the transaction going. If the
// savepoint itself cannot be rolled back or released, the error is that
// of the savepoint statement, which fails the batch.
func (w *writer) run(ctx context.Context, o *op) error {
	if _, err := w.savepoint.ExecContext(ctx); err != nil {
		return err
	}
	err := o.fn(ctx, w)
	if err != nil {
		if _, uerr := w.undo.ExecContext(ctx); uerr != nil {
			return fmt.Errorf("roll back savepoint after %v: %w", err, uerr)
		}
	}
	if _, rerr := w.release.ExecContext(ctx); rerr != nil {
		return fmt.Errorf("release savepoint: %w", rerr)
	}
	return err
}

// abort rolls back the transaction after a failure (SQLite may have done
// so already) and forgets the session keys it created.
func (w *writer) abort(ctx context.Context) {
	w.rollback.ExecContext(ctx) // "no transaction is active" is fine
	for _, s := range w.newSIDs {
		delete(w.sids, s)
	}
	w.newSIDs = w.newSIDs[:0]
}

// batchErr wraps the failure of a whole batch with the first few sessions
// (or other records) it held.
func (w *writer) batchErr(batch []op, stage string, err error) error {
	const show = 5
	var names []string
	seen := make(map[string]bool)
	for i := range batch {
		n := batch[i].ev.SessionID
		if batch[i].fn != nil {
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
	return fmt.Errorf("sqlite: batch of %d writes (sessions %s) failed at %s: %w", len(batch), list, stage, err)
}

// appendEvent inserts one event; an identical replay is a no-op and a
// different event at the same place is ErrConflict.
func (w *writer) appendEvent(ctx context.Context, e *store.EventRow) error {
	if err := validEvent(e); err != nil {
		return err
	}
	sid, err := w.sid(ctx, e.SessionID)
	if err != nil {
		return err
	}
	at := micros(e.Time)
	res, err := w.insEvent.ExecContext(ctx, sid, e.Position, e.EventID, at, []byte(e.Data))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	var eid, at2 int64
	var data []byte
	if err := w.getEvent.QueryRowContext(ctx, sid, e.Position).Scan(&eid, &at2, &data); err != nil {
		return err
	}
	if eid != e.EventID || at2 != at || !bytes.Equal(data, e.Data) {
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
	case e.Data == nil:
		return fmt.Errorf("%w: nil data", store.ErrInvalid)
	}
	return nil
}

// sid returns the session's key, creating it if needed.
func (w *writer) sid(ctx context.Context, session string) (int64, error) {
	if sid, ok := w.sids[session]; ok {
		return sid, nil
	}
	sid, ok, err := w.lookupSID(ctx, session)
	if err != nil {
		return 0, err
	}
	if !ok {
		if err := w.insSID.QueryRowContext(ctx, session).Scan(&sid); err != nil {
			return 0, err
		}
		w.newSIDs = append(w.newSIDs, session)
	}
	if len(w.sids) >= maxSIDCache {
		clear(w.sids)
	}
	w.sids[session] = sid
	return sid, nil
}

// lookupSID reads a session's key from the database.
func (w *writer) lookupSID(ctx context.Context, session string) (int64, bool, error) {
	var sid int64
	err := w.getSID.QueryRowContext(ctx, session).Scan(&sid)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return sid, err == nil, err
}

// deleteEvents removes a session's events and key.
func (w *writer) deleteEvents(ctx context.Context, session string) error {
	sid, ok, err := w.lookupSID(ctx, session)
	if err != nil || !ok {
		return err
	}
	delete(w.sids, session)
	if _, err := w.conn.ExecContext(ctx, "DELETE FROM session_events WHERE sid = ?", sid); err != nil {
		return err
	}
	_, err = w.conn.ExecContext(ctx, "DELETE FROM event_sessions WHERE sid = ?", sid)
	return err
}

// afterBatch asks for a WAL checkpoint once enough pages have gone to it.
// The checkpoint runs on the checkpointer's own connection, so neither the
// batch's acknowledgements nor the next batch wait for it.
func (w *writer) afterBatch() {
	err := w.conn.Raw(func(dc any) error {
		st, ok := dc.(sqlite.DBStatus)
		if !ok {
			return errors.New("driver connection has no DBStatus")
		}
		n, _, err := st.Status(sqlite.DBStatusCacheWrite, true)
		w.walPages += n
		w.pages.Add(uint64(max(n, 0)))
		return err
	})
	if err != nil {
		w.walPages += w.ckptPages / 16 // cannot count: checkpoint every 16 batches
	}
	if w.ckpt != nil && w.ckpt.takeCatchUp() {
		// The few frames the checkpointer's last pass left: copied here,
		// between two batches, the WAL is then wholly in the database and
		// the next transaction writes it from its start (see checkpointer).
		began := time.Now()
		var busy, log, done int64
		if err := w.conn.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done); err == nil {
			w.ckpt.catchUps.Add(1)
		}
		w.ckpt.took.RecordDuration(time.Since(began))
	}
	if w.walPages < w.ckptPages {
		return
	}
	w.walPages = 0
	if w.ckpt != nil {
		w.ckpt.request()
	}
}

// isItemErr reports whether err failed one write only, leaving the
// transaction usable: a store sentinel from validation or a version check,
// or an SQLite error that rolls back the statement alone.
func isItemErr(err error) bool {
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) ||
		errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrLimit) {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case codeConstraint, codeTooBig, codeMismatch, codeRange:
			return true
		}
	}
	return false
}

// SQLite primary result codes (https://sqlite.org/rescode.html).
const (
	codeTooBig     = 18
	codeConstraint = 19
	codeMismatch   = 20
	codeRange      = 25

	// Extended constraint codes.
	codeConstraintCheck      = 275
	codeConstraintForeignKey = 787
	codeConstraintNotNull    = 1299
	codeConstraintPrimaryKey = 1555
	codeConstraintUnique     = 2067
)

// classify maps constraint failures of single-record writes to the store's
// sentinels: a duplicate key is ErrExists, any other constraint ErrInvalid.
func classify(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case codeConstraintPrimaryKey, codeConstraintUnique:
		return fmt.Errorf("%w: %w", store.ErrExists, err)
	case codeConstraintCheck, codeConstraintForeignKey, codeConstraintNotNull:
		return fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	return err
}
