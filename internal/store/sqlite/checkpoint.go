package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// checkpointer copies the WAL back into the database file on a connection
// and goroutine of its own, so that neither an acknowledgement nor the next
// batch waits for a checkpoint (WAL mode lets a checkpoint run while the
// writer appends). The writer asks for one with request once enough pages
// went to the WAL; requests made while one runs fold into the next.
type checkpointer struct {
	db   *sql.DB
	req  chan struct{} // capacity 1
	stop chan struct{}
	wg   sync.WaitGroup
}

func startCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, req: make(chan struct{}, 1), stop: make(chan struct{})}
	c.wg.Add(1)
	go c.run()
	return c
}

// request asks for a checkpoint without waiting for it.
func (c *checkpointer) request() {
	select {
	case c.req <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer c.wg.Done()
	for {
		select {
		case <-c.stop:
			return
		case <-c.req:
			// PASSIVE never waits for readers or the writer. An error
			// (SQLITE_BUSY from a concurrent checkpoint) only postpones the
			// work to the next request.
			c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
		}
	}
}

// close stops the goroutine and closes its connection.
func (c *checkpointer) close() error {
	close(c.stop)
	c.wg.Wait()
	return c.db.Close()
}
