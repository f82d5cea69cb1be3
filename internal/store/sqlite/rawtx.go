package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
)

// The batch's BEGIN, COMMIT and ROLLBACK run on the driver connection, like
// the event inserts (rawinsert.go): through database/sql's Stmt.ExecContext
// each of them took the connection's and the statement's locks, built an
// argument slice and wrapped a Result, twice or three times per batch on
// the goroutine every acknowledgement waits for. The batch's PRAGMA
// data_version too (has another connection written?): through
// database/sql's QueryRow it also registered the statement's rows in a map
// of dependencies, allocating one per batch. They are modernc's own
// statements here, prepared once, executed without arguments. The COMMIT is
// the same statement either way: synchronous=FULL, the WAL is synced before
// it returns.

// txStmt names one of the transaction statements.
type txStmt int

const (
	txBegin txStmt = iota
	txCommit
	txRollback
	txDataVersion // a query: readDataVersion runs it
	txStmts
)

// txSQL are their texts.
var txSQL = [txStmts]string{
	txBegin:    "BEGIN IMMEDIATE",
	txCommit:   "COMMIT",
	txRollback: "ROLLBACK",

	txDataVersion: "PRAGMA data_version",
}

// rawTx are the writer's transaction statements on the driver connection.
type rawTx struct {
	stmts [txStmts]driver.Stmt // prepared on first use
	cur   txStmt               // the statement of the call in progress
	exec  func(dc any) error   // w.execTx, made once (no closure per call)
	query func(dc any) error   // w.queryVersion, made once
	row   [1]driver.Value      // the data version read
}

// tx executes the transaction statement which.
func (w *writer) tx(which txStmt) error {
	t := &w.rawTx
	if t.exec == nil {
		t.exec = w.execTx
	}
	t.cur = which
	return w.conn.Raw(t.exec)
}

// readDataVersion reads PRAGMA data_version on the writer's connection: it
// changes when another connection has committed to the database.
func (w *writer) readDataVersion() (int64, error) {
	t := &w.rawTx
	if t.query == nil {
		t.query = w.queryVersion
	}
	if err := w.conn.Raw(t.query); err != nil {
		return 0, fmt.Errorf("read data version: %w", err)
	}
	v, ok := t.row[0].(int64)
	if !ok {
		return 0, fmt.Errorf("read data version: got %T", t.row[0])
	}
	return v, nil
}

// queryVersion runs on the driver connection, inside (*sql.Conn).Raw.
func (w *writer) queryVersion(dc any) error {
	t := &w.rawTx
	st, err := t.prepared(dc, txDataVersion)
	if err != nil {
		return err
	}
	q, ok := st.(driver.StmtQueryContext)
	if !ok {
		return fmt.Errorf("sqlite driver statement %T cannot query with a context", st)
	}
	rows, err := q.QueryContext(context.Background(), nil)
	if err != nil {
		return err
	}
	t.row[0] = nil
	err = rows.Next(t.row[:])
	if errors.Is(err, io.EOF) {
		err = errors.New("no row")
	}
	return errors.Join(err, rows.Close())
}

// prepared returns statement which, preparing it on first use.
func (t *rawTx) prepared(dc any, which txStmt) (driver.Stmt, error) {
	if st := t.stmts[which]; st != nil {
		return st, nil
	}
	pc, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return nil, fmt.Errorf("sqlite driver connection %T cannot prepare statements", dc)
	}
	st, err := pc.PrepareContext(context.Background(), txSQL[which])
	if err != nil {
		return nil, err
	}
	t.stmts[which] = st
	return st, nil
}

// execTx runs on the driver connection, inside (*sql.Conn).Raw.
func (w *writer) execTx(dc any) error {
	t := &w.rawTx
	st, err := t.prepared(dc, t.cur)
	if err != nil {
		return err
	}
	e, ok := st.(driver.StmtExecContext)
	if !ok {
		return fmt.Errorf("sqlite driver statement %T cannot execute with a context", st)
	}
	_, err = e.ExecContext(context.Background(), nil)
	return err
}

// closeTx closes the transaction statements; inside closeRaw's Raw call.
func (t *rawTx) closeTx() []error {
	var errs []error
	for i, st := range t.stmts {
		if st != nil {
			errs = append(errs, st.Close())
			t.stmts[i] = nil
		}
	}
	return errs
}
