package sqlite

import (
	"context"
	"database/sql/driver"
	"fmt"
)

// The batch's BEGIN, COMMIT and ROLLBACK run on the driver connection, like
// the event inserts (rawinsert.go): through database/sql's Stmt.ExecContext
// each of them took the connection's and the statement's locks, built an
// argument slice and wrapped a Result, twice or three times per batch on
// the goroutine every acknowledgement waits for. They are modernc's own
// statements here, prepared once, executed without arguments. The COMMIT is
// the same statement either way: synchronous=FULL, the WAL is synced before
// it returns.

// txStmt names one of the transaction statements.
type txStmt int

const (
	txBegin txStmt = iota
	txCommit
	txRollback
	txStmts
)

// txSQL are their texts.
var txSQL = [txStmts]string{
	txBegin:    "BEGIN IMMEDIATE",
	txCommit:   "COMMIT",
	txRollback: "ROLLBACK",
}

// rawTx are the writer's transaction statements on the driver connection.
type rawTx struct {
	stmts [txStmts]driver.Stmt // prepared on first use
	cur   txStmt               // the statement of the call in progress
	exec  func(dc any) error   // w.execTx, made once (no closure per call)
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

// execTx runs on the driver connection, inside (*sql.Conn).Raw.
func (w *writer) execTx(dc any) error {
	t := &w.rawTx
	st := t.stmts[t.cur]
	if st == nil {
		pc, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("sqlite driver connection %T cannot prepare statements", dc)
		}
		var err error
		if st, err = pc.PrepareContext(context.Background(), txSQL[t.cur]); err != nil {
			return err
		}
		if _, ok := st.(driver.StmtExecContext); !ok {
			st.Close()
			return fmt.Errorf("sqlite driver statement %T cannot execute with a context", st)
		}
		t.stmts[t.cur] = st
	}
	_, err := st.(driver.StmtExecContext).ExecContext(context.Background(), nil)
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
