package postgres

import (
	"context"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab/internal/store"
)

// Lease renewals on a connection of their own (lead finding 7). A node
// taking over a dead node's sessions under load claims and restores dozens
// of them at once, each holding one of the pool's connections (16 by
// default) for several statements; the renewal of the node's own lease,
// which went "straight to the pool", waited behind them for a connection
// until its deadline, again and again (TestClusterScaleSIGKILL at load
// 30–46: renewals failing for 6 s), and the other nodes claimed the live
// node's sessions. PutNode and ClaimsFrom now use one dedicated connection,
// opened on first use with the pool's connection settings (schema,
// idle-transaction timeout) and opened again after any failure; mu
// serialises them (a node renews every third of its lease).
type leaseConn struct {
	mu     sync.Mutex // guards the following
	conn   *pgx.Conn
	closed bool // the store closed: no connection is opened again
}

// leaseQuery runs one statement on the lease connection; scan, when set, reads
// its one row.
func (s *Store) leaseQuery(ctx context.Context, sql string, args []any, scan func(pgx.Row) error) error {
	l := &s.lease
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return store.ErrClosed
	}
	if l.conn == nil || l.conn.IsClosed() {
		c, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
		if err != nil {
			return err
		}
		l.conn = c
	}
	var err error
	if scan != nil {
		err = scan(l.conn.QueryRow(ctx, sql, args...))
	} else {
		_, err = l.conn.Exec(ctx, sql, args...)
	}
	if err != nil && err != pgx.ErrNoRows {
		// Cancelled mid-statement or broken: open a fresh one next time.
		l.conn.Close(context.Background())
		l.conn = nil
	}
	return err
}

// close closes the lease connection (Store.Close).
func (l *leaseConn) close(ctx context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.conn != nil {
		l.conn.Close(ctx)
		l.conn = nil
	}
}
