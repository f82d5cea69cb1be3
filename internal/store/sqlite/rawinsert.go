package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
)

// The event inserts of flush run on the driver connection itself
// ((*sql.Conn).Raw), not through database/sql's Stmt.ExecContext, which
// for every statement copied and converted each argument into a fresh
// []driver.NamedValue (six per event: 192 for a chunk of 32, some 7 KiB),
// took the connection's and the statement's locks and wrapped the result.
// Here the arguments go into one slice the writer reuses, and the
// statements are modernc's own, prepared once per chunk size.

// rawInserts are the writer's event inserts on the driver connection.
type rawInserts struct {
	stmts [maxChunk + 1]driver.Stmt // stmts[n] inserts n events into chunk table tbl; prepared on first use
	tbl   int                       // the chunk table of stmts (eventchunk.go) ...
	want  int                       // ... and that of the call in progress: if they differ, stmts are closed first
	args  []driver.NamedValue       // the arguments of the call in progress, reused
	n     int                       // the rows of the call in progress
	last  int64                     // the seq its last row must get
	exec  func(dc any) error        // w.execInsert, made once (no closure per call)
}

// insertSQL is the statement inserting n events whose seqs follow each
// other: the first row's seq is bound (?1); the others' are NULL, which
// for an INTEGER PRIMARY KEY is the table's largest rowid + 1. The first
// row is the table's largest once inserted (a chunk table holds seqs below
// the log's next, and appends go to a table emptied before it is reused),
// so row k gets ?1 + k; execInsert checks it (the statement's last rowid)
// and fails the batch otherwise. A bound seq makes SQLite look it up in
// the table to refuse a duplicate (a descent of the B-tree per row, 15-24%
// of the inserts' CPU in BenchmarkFlush's profiles); a NULL one is taken
// from the end of the table, where the previous row left its cursor. So
// a chunk binds 1 + 5n values.
//
// Every other value is a plain ?, which has no name. The driver asks
// SQLite for the name of every parameter it binds
// (sqlite3_bind_parameter_name, a linear search of the statement's list
// of numbered and named parameters, and a Go string for each that has
// one), so a statement with one numbered parameter per row (the event id
// computed as ?N + 1 from the row's position parameter, which saved a
// bind per row) cost more than the bind it saved: its list held 1 + n
// names, searched for each of its 1 + 4n parameters, and a 71-event
// batch's inserts took about a fifth more CPU (BenchmarkFlush,
// docs/benchmarks.md, sixth round).
func insertSQL(table string, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (seq, sid, position, event_id, at, data) VALUES ")
	for k := range n {
		if k > 0 {
			b.WriteString(", ")
		}
		seq := "?1"
		if k > 0 {
			seq = "NULL"
		}
		b.WriteString("(" + seq + ", ?, ?, ?, ?, ?)")
	}
	return b.String()
}

// errSeqGap reports a chunk whose seqs do not follow each other, which
// insertChunk cannot insert in one statement (add gives a chunk's events
// consecutive seqs, so this does not happen); nothing was written.
var errSeqGap = errors.New("sqlite: event chunk with non-consecutive seqs")

// errSeqMismatch reports a chunk whose rows did not get the seqs the
// writer gave them (a chunk table holding a seq above the chunk's first:
// the writer's bookkeeping of the log is wrong). It fails the batch, which
// rolls back, rather than let the log and the bookkeeping disagree.
var errSeqMismatch = errors.New("sqlite: event chunk inserted at other seqs than given")

// insertChunk inserts the chunk's events in one statement into chunk table
// tbl. A failed statement wrote nothing.
func (w *writer) insertChunk(r *batchRun, tbl int) error {
	for k, p := range r.chunk {
		if p.seq != r.chunk[0].seq+int64(k) {
			return errSeqGap
		}
	}
	raw := &w.raw
	args := append(raw.args[:0], driver.NamedValue{Ordinal: 1, Value: r.chunk[0].seq})
	for _, p := range r.chunk {
		e := &r.batch[p.i].ev
		k := len(args)
		args = append(args,
			driver.NamedValue{Ordinal: k + 1, Value: p.sid},
			driver.NamedValue{Ordinal: k + 2, Value: e.Position},
			driver.NamedValue{Ordinal: k + 3, Value: e.EventID},
			driver.NamedValue{Ordinal: k + 4, Value: micros(e.Time)},
			driver.NamedValue{Ordinal: k + 5, Value: []byte(e.Data)})
	}
	raw.args, raw.n, raw.want, raw.last = args, len(r.chunk), tbl, r.chunk[len(r.chunk)-1].seq
	if raw.exec == nil {
		raw.exec = w.execInsert
	}
	err := w.conn.Raw(raw.exec)
	clear(args) // drop references to the events' data
	raw.args = args[:0]
	return err
}

// execInsert runs on the driver connection, inside (*sql.Conn).Raw.
func (w *writer) execInsert(dc any) error {
	raw := &w.raw
	if raw.tbl != raw.want { // the log's appends moved to another chunk table
		for i, st := range raw.stmts {
			if st != nil {
				st.Close()
				raw.stmts[i] = nil
			}
		}
		raw.tbl = raw.want
	}
	st := raw.stmts[raw.n]
	if st == nil {
		pc, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("sqlite driver connection %T cannot prepare statements", dc)
		}
		var err error
		if st, err = pc.PrepareContext(context.Background(), insertSQL(chunkTable(raw.tbl), raw.n)); err != nil {
			return err
		}
		if _, ok := st.(driver.StmtExecContext); !ok {
			st.Close()
			return fmt.Errorf("sqlite driver statement %T cannot execute with a context", st)
		}
		raw.stmts[raw.n] = st
	}
	res, err := st.(driver.StmtExecContext).ExecContext(context.Background(), raw.args)
	if err != nil {
		return err
	}
	// The rows after the first took the largest rowid + 1 (insertSQL):
	// the last one's must be the seq the writer gave it.
	last, lerr := res.LastInsertId()
	n, nerr := res.RowsAffected()
	if lerr != nil || nerr != nil || last != raw.last || n != int64(raw.n) {
		return fmt.Errorf("%w: %d rows, the last at seq %d, want %d rows, the last at %d (%v)",
			errSeqMismatch, n, last, raw.n, raw.last, errors.Join(lerr, nerr))
	}
	return nil
}

// closeRaw closes the driver statements; before the connection closes.
func (w *writer) closeRaw() error {
	raw := &w.raw
	var errs []error
	err := w.conn.Raw(func(any) error {
		for i, st := range raw.stmts {
			if st != nil {
				errs = append(errs, st.Close())
				raw.stmts[i] = nil
			}
		}
		errs = append(errs, w.rawTx.closeTx()...)
		return nil
	})
	return errors.Join(append(errs, err)...)
}
