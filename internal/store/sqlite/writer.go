package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	sqlite "modernc.org/sqlite"

	"github.com/confab/confab/internal/store"
)

// op is one write queued on the writer: an event (fn == nil), or any other
// write as a function run inside the batch transaction.
type op struct {
	ev    store.EventRow
	fn    func(ctx context.Context, w *writer) error
	route *store.RoutingUpdate // a routing update (coalesced per interaction per batch)
	what  string               // names fn's write in errors: "interaction X", "document Y"
	// bare runs fn without a savepoint of its own: fn fails on its own
	// (an item error) only before it wrote anything, and any later
	// failure fails the batch (see writer.run).
	bare bool
}

// writer owns the write connection. Every method runs on the group-commit
// goroutine only (or during Open/Close, when that goroutine is not
// running), so nothing here needs a lock.
type writer struct {
	conn *sql.Conn

	savepoint, release, undo *sql.Stmt
	findEvent                *sql.Stmt
	insSession, delSession   *sql.Stmt
	purgeCold                *sql.Stmt // eventlog.go's purges
	insDead, delDead         *sql.Stmt
	chunkStmts               [logChunks]chunkStmts // per chunk table (eventchunk.go)
	setWatermark             *sql.Stmt             // event_log_state's trimmed
	updRoute, dataVersion    *sql.Stmt
	raw                      rawInserts // the event inserts, on the driver connection (rawinsert.go)
	rawTx                               // BEGIN, COMMIT, ROLLBACK, on the driver connection (rawtx.go)

	chunk []pending // reused by flush
	enc   []byte    // the batch's deferred events' encodings, reused by flush (store.EventRow.EncodeDataInto)

	// log is where every open session's events are (eventlog.go); it
	// agrees with the database as the writer's transaction sees it: this
	// writer changes those tables, and if another connection (a second
	// Store on the same file: a command-line tool, a test) committed
	// anything meanwhile, syncLog reads the bookkeeping again.
	log         eventLog
	seenVersion int64 // PRAGMA data_version when log was last in agreement
	reloads     atomic.Uint64
	relocated   atomic.Int64 // rows moved from the log to event_cold
	clears      atomic.Int64 // chunk tables emptied
	memStats    memStats     // the kept events' figures (eventmem.go)

	// wal, when set (Options.SyncAfterCommit), syncs the WAL itself: the connection commits with
	// synchronous=NORMAL (no fsync in COMMIT) and a batch is acknowledged
	// once wal.sync has covered its commit (see walSync).
	wal        *walSync
	commits    atomic.Uint64 // transactions committed, the count wal.sync covers
	commitTook time.Duration // the last COMMIT statement's time

	ckptPages int           // checkpoint once this many pages went to the WAL
	walPages  int           // pages written to the WAL since the last checkpoint
	ckpt      *checkpointer // runs the checkpoints; nil until Open starts it

	// Read by WriterStats from other goroutines.
	pages    atomic.Uint64 // pages written to the WAL
	syncHist store.Hist    // time of each COMMIT statement (µs)
	logRows  atomic.Int64  // rows in the event log, trimmed ones excepted

	lazyStmts         // prepared at first use (lazystmt.go)
	recs      records // the open records this writer created (records.go)
}

// pending is an event waiting in the chunk: its index in the batch and the
// seq it was given.
type pending struct {
	i   int
	seq int64
	sid int64
}

func newWriter(ctx context.Context, conn *sql.Conn, ckptPages int) (*writer, error) {
	l, err := loadLog(ctx, conn)
	if err != nil {
		return nil, err
	}
	w := &writer{conn: conn, log: *l, ckptPages: ckptPages}
	w.log.moves = &w.relocated
	w.log.mem.stats = &w.memStats
	w.logRows.Store(w.log.nextSeq - w.log.trimmed)
	for _, p := range []struct {
		st **sql.Stmt
		q  string
	}{
		{&w.savepoint, "SAVEPOINT op"},
		{&w.release, "RELEASE op"},
		{&w.undo, "ROLLBACK TO op"},
		{&w.findEvent, findEventSQL()},
		{&w.insSession, "INSERT INTO event_sessions (sid, session_id, tail_from) VALUES (?, ?, ?)"},
		{&w.delSession, "DELETE FROM event_sessions WHERE sid = ?"},
		{&w.purgeCold, "DELETE FROM event_cold WHERE sid = ? AND lo >= ? AND lo < ?"},
		{&w.insDead, "INSERT INTO event_cold_dead (sid, next_pos) VALUES (?, ?)"},
		{&w.delDead, "DELETE FROM event_cold_dead WHERE sid = ?"},
		{&w.updRoute, "UPDATE interactions SET state = ?, user_data = ?, version = version + 1 WHERE id = ?"},
		{&w.dataVersion, "PRAGMA data_version"},
	} {
		st, err := conn.PrepareContext(ctx, p.q)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("prepare %q: %w", p.q, err)
		}
		*p.st = st
	}
	if err := w.dataVersion.QueryRowContext(ctx).Scan(&w.seenVersion); err != nil {
		w.close()
		return nil, fmt.Errorf("read data version: %w", err)
	}
	return w, nil
}

// close releases the statements and the connection.
func (w *writer) close() error {
	w.closeRaw() // the connection's close below finalizes what this could not
	sts := []*sql.Stmt{w.savepoint, w.release, w.undo,
		w.findEvent, w.insSession, w.delSession, w.updRoute, w.dataVersion,
		w.purgeCold, w.insDead, w.delDead, w.setWatermark}
	for _, c := range w.chunkStmts {
		sts = append(sts, c.insOne, c.relocate, c.clear)
	}
	for _, st := range sts {
		if st != nil {
			st.Close()
		}
	}
	return w.conn.Close()
}

// flush writes one batch in one transaction; see store.GroupCommitConfig.
//
// An event at a position past its session's last is appended without a
// read; runs of them are inserted maxChunk rows per statement. A chunk
// that fails on its own (a rejected row) wrote nothing, as a failed
// statement is undone; its rows are then written one by one to find the
// culprits. An event at a position already taken is a replay: it is
// compared with the stored one (identical: nothing to do; different:
// ErrConflict).
func (w *writer) commitBatch(batch []op) ([]store.ItemError, error) {
	ctx := context.Background() // a context without Done: no watcher per statement
	if err := w.tx(txBegin); err != nil {
		return nil, w.batchErr(batch, "begin transaction", err)
	}
	// Another connection committed (rare: a tool, a test): the event
	// log's bookkeeping is read again.
	if v, err := w.readDataVersion(); err != nil || v != w.seenVersion {
		if err == nil {
			w.recs.reset()
			err = w.syncLog(ctx)
		}
		if err != nil {
			w.abort(ctx)
			return nil, w.batchErr(batch, "event log", err)
		}
	}
	w.log.begin()
	if err := w.maintain(ctx); err != nil {
		w.abort(ctx)
		return nil, w.batchErr(batch, "event log", err)
	}
	r := batchRun{w: w, batch: batch, chunk: w.chunk[:0]}
	w.enc = w.enc[:0]
	defer func() {
		w.chunk = r.chunk[:0]
		if cap(w.enc) > maxEncBuf { // a batch of large events: not kept
			w.enc = nil
		}
	}()
	last := lastRoutes(batch)
	for i := range batch {
		o := &batch[i]
		if o.route != nil {
			if j := last[o.route.ID]; j != i {
				r.follow = append(r.follow, [2]int{i, j}) // superseded by j
				continue
			}
			if err := w.updateRouting(ctx, o.route); err != nil {
				if !isItemErr(err) {
					w.abort(ctx)
					return nil, w.batchErr(batch, o.what, err)
				}
				r.failed = append(r.failed, store.ItemError{Index: i, Err: err})
			}
			continue
		}
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
		// A deferred event is encoded here, on the writer (store.EventRow.Encoder),
		// into the batch's buffer: the insert binds a copy, and nothing
		// holds the event's Data once the batch is done.
		var err error
		if w.enc, err = o.ev.EncodeDataInto(w.enc); err != nil {
			r.fail(i, err)
			continue
		}
		if err := validEvent(&o.ev); err != nil {
			r.fail(i, err)
			continue
		}
		if err := r.add(ctx, i); err != nil {
			w.abort(ctx)
			return nil, w.batchErr(batch, "append events", err)
		}
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
	if err := w.tx(txCommit); err != nil {
		w.abort(ctx)
		return nil, w.batchErr(batch, "commit", err)
	}
	w.commitTook = time.Since(began)
	w.commits.Add(1)
	if w.wal == nil {
		w.syncHist.RecordDuration(w.commitTook)
	}
	w.log.committed()
	w.recs.committed()
	w.logRows.Store(w.log.nextSeq - w.log.trimmed)
	return r.outcomes(), nil
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

// updateRouting writes a routing update without reading the record: by
// its rid if the writer knows it (records.go), else by its id.
func (w *writer) updateRouting(ctx context.Context, u *store.RoutingUpdate) error {
	var res sql.Result
	var err error
	if ref, ok := w.recs.get(u.ID); ok {
		var st *sql.Stmt
		if st, err = w.lazy(ctx, &w.lazyStmts.routeRid, routeRidSQL); err == nil {
			res, err = st.ExecContext(ctx, u.State, blob(u.UserData), ref.rid)
		}
	} else {
		res, err = w.updRoute.ExecContext(ctx, u.State, blob(u.UserData), u.ID)
	}
	if err != nil {
		return classify(err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		if err == nil {
			err = store.ErrNotFound
		}
		return err
	}
	return nil
}

// run executes a function op in a savepoint (inSavepoint), or a bare one
// without: a bare op's failure on its own wrote nothing, so only the
// bookkeeping it may have changed is undone.
func (w *writer) run(ctx context.Context, o *op) error {
	if !o.bare {
		return w.inSavepoint(ctx, func() error { return o.fn(ctx, w) })
	}
	mark, rmark := len(w.log.undo), w.recs.mark()
	err := o.fn(ctx, w)
	if err != nil && isItemErr(err) {
		w.log.rollbackTo(mark)
		w.recs.rollbackTo(rmark)
	}
	return err
}

// inSavepoint runs fn in a savepoint, so that a failure on its own undoes
// its partial writes (and the event log's and the records' bookkeeping of
// them) and leaves the transaction going. If the savepoint itself cannot
// be rolled back or released, the error is that of the savepoint
// statement, which fails the batch.
func (w *writer) inSavepoint(ctx context.Context, fn func() error) error {
	if _, err := w.savepoint.ExecContext(ctx); err != nil {
		return err
	}
	mark, rmark := len(w.log.undo), w.recs.mark()
	err := fn()
	if err != nil {
		w.log.rollbackTo(mark)
		w.recs.rollbackTo(rmark)
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
// so already) and the event log's bookkeeping with it.
func (w *writer) abort(ctx context.Context) {
	w.tx(txRollback) // "no transaction is active" is fine
	w.log.rollback()
	w.recs.rollback()
}

// batchErr wraps the failure of a whole batch with the first few sessions
// (or other records) it held.
func (w *writer) batchErr(batch []op, stage string, err error) error {
	const show = 5
	var names []string
	seen := make(map[string]bool)
	for i := range batch {
		n := batch[i].ev.SessionID
		if batch[i].fn != nil || batch[i].route != nil {
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
		err := w.conn.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done)
		if err == nil {
			w.ckpt.catchUps.Add(1)
			w.ckpt.sawFrames(log)
		}
		took := time.Since(began)
		w.ckpt.took.RecordDuration(took)
		w.ckpt.catchUpTook.RecordDuration(took)
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

// flush writes one batch in one transaction and returns once it is durable;
// see store.GroupCommitConfig.Flush. With the writer syncing the WAL itself
// it syncs before it returns, as COMMIT does at synchronous=FULL.
func (w *writer) flush(batch []op) ([]store.ItemError, error) {
	failed, err := w.commitBatch(batch)
	if err != nil || w.wal == nil {
		return failed, err
	}
	if err := w.syncWAL(w.commits.Load(), w.commitTook); err != nil {
		return nil, w.batchErr(batch, "sync", err)
	}
	return failed, nil
}

// start commits batch and returns a function that waits until the commit
// is durable (store.GroupCommitConfig.Start): the WAL's fsync runs on the
// group commit's other goroutine while this one writes the next batch, so
// the writer, which every acknowledgement waits for, no longer sleeps in
// fsync and waits for a processor after it (which took 1–2 ms per commit of
// a full-speed run on the quiet machine, longer when the machine was
// short of CPU). The acknowledgement still waits for an fsync that began
// after the batch's COMMIT returned: the same durability as synchronous=FULL.
// The checkpoint housekeeping runs here, between two batches, as before.
func (w *writer) start(batch []op) func() ([]store.ItemError, error) {
	failed, err := w.commitBatch(batch)
	n, took := w.commits.Load(), w.commitTook
	w.afterBatch()
	if err != nil {
		return func() ([]store.ItemError, error) { return nil, err }
	}
	return func() ([]store.ItemError, error) {
		if err := w.syncWAL(n, took); err != nil {
			return nil, fmt.Errorf("sqlite: batch of %d writes committed but not synced: %w", len(batch), err)
		}
		return failed, nil
	}
}

// syncWAL makes commit n durable and records the commit's time with the
// sync's.
func (w *writer) syncWAL(n uint64, commit time.Duration) error {
	began := time.Now()
	err := w.wal.sync(n, &w.commits)
	w.syncHist.RecordDuration(commit + time.Since(began))
	return err
}

// walSync syncs the WAL file on a descriptor of its own. One goroutine
// calls sync at a time (the group commit's completer, or the writer when it
// flushes inline), in commit order. An fsync covers every commit that had
// returned when it began, so a batch whose commit an earlier fsync covered
// needs none. A failed fsync leaves the file's state unknown (the kernel
// may have dropped the dirty pages): it is kept, and every later sync
// fails with it.
type walSync struct {
	path    string
	f       *os.File
	durable uint64 // commits the last fsync covered
	err     error  // the first failure, for good
	// syncFile syncs f; tests replace it.
	syncFile func(f *os.File) error
}

func newWALSync(path string) *walSync {
	return &walSync{path: path, syncFile: (*os.File).Sync}
}

// sync returns once commit n is durable; committed counts the commits that
// have returned.
func (s *walSync) sync(n uint64, committed *atomic.Uint64) error {
	if s.err != nil {
		return s.err
	}
	if s.durable >= n {
		return nil
	}
	upto := committed.Load()
	if err := s.open(); err != nil {
		return err // the descriptor could not be opened: nothing was lost yet, the next batch tries again
	}
	if err := s.syncFile(s.f); err != nil {
		s.err = fmt.Errorf("sync %s: %w", s.path, err)
		return s.err
	}
	s.durable = upto
	return nil
}

// open opens the WAL file, again if the path no longer names the file
// open (SQLite deletes the WAL only when the last connection closes, which
// the writer's never does before Close; checked anyway, an fsync of a file
// that is no longer the WAL would make nothing durable).
func (s *walSync) open() error {
	if s.f != nil {
		fi, err := s.f.Stat()
		pi, perr := os.Stat(s.path)
		if err == nil && perr == nil && os.SameFile(fi, pi) {
			return nil
		}
		s.f.Close()
		s.f = nil
	}
	f, err := os.OpenFile(s.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open %s to sync it: %w", s.path, err)
	}
	s.f = f
	return nil
}

// close closes the descriptor.
func (s *walSync) close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
