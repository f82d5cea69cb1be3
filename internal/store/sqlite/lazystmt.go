package sqlite

import (
	"context"
	"database/sql"
)

// lazyStmts are statements of the writer's per-session writes that are not
// on the event path, prepared on the writer's connection at their first use
// and kept: their SQL is parsed once, not at every write (a dense run's
// CreateInteraction parsed its INSERT once per session, on the goroutine
// every acknowledgement waits for). The connection's close finalizes them
// with the statements prepared on it (database/sql closes a connection's
// open statements). Used only on the writer's goroutine, like the writer.
type lazyStmts struct {
	createIn, updateIn *sql.Stmt
	// The close and the final transcripts (interactions.go, their SQL).
	closeIn, closeRid, insFinal, updFinal, setFinal *sql.Stmt
	routeRid                                        *sql.Stmt // a routing update of a record the writer knows
}

// lazy returns the statement in *slot, preparing q into it on first use.
func (w *writer) lazy(ctx context.Context, slot **sql.Stmt, q string) (*sql.Stmt, error) {
	if *slot != nil {
		return *slot, nil
	}
	st, err := w.conn.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	*slot = st
	return st, nil
}
