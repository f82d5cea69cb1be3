package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confab/confab/internal/store"
)

// checkpointer copies the WAL back into the database file on a connection
// and goroutine of its own, so that neither an acknowledgement nor the next
// batch waits for a checkpoint (WAL mode lets a checkpoint run while the
// writer appends). The writer asks for one with request once enough pages
// went to the WAL; requests made while one runs fold into the next.
//
// Its counters are atomics, read by WriterStats from any goroutine.
type checkpointer struct {
	db   *sql.DB
	req  chan struct{} // capacity 1
	stop chan struct{}
	wg   sync.WaitGroup

	// before, when set (tests), runs on a goroutine of its own as each
	// checkpoint statement starts.
	before func()

	runs     atomic.Uint64
	busy     atomic.Uint64 // checkpoints that could not copy every frame
	copied   atomic.Uint64 // pages copied back into the database
	running  atomic.Bool
	catchUp  atomic.Bool   // a pass left a few frames for the writer to copy
	catchUps atomic.Uint64 // catch-up checkpoints the writer ran
	took     store.Hist    // µs per checkpoint
	// maxFrames is the longest the WAL was (in frames since it was last
	// started afresh) when a checkpoint ran: it stays near the checkpoint
	// interval while the WAL restarts, and grows with everything written
	// if it does not.
	maxFrames atomic.Int64

	lastLog, lastDone int64 // the previous checkpoint's frame counts; run's goroutine only
}

func startCheckpointer(db *sql.DB, before func()) *checkpointer {
	c := &checkpointer{db: db, req: make(chan struct{}, 1), stop: make(chan struct{}), before: before}
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
			if c.catchUp.Load() {
				// The writer has the last frames to copy; a pass now
				// would only take the checkpoint lock from it.
				continue
			}
			// Frames appended while a pass ran are copied by the next
			// pass, which is shorter; once few remain the writer copies
			// them between two batches (catchUp), so the WAL is wholly
			// copied back and the next transaction starts it afresh.
			// Without that, a writer that never pauses keeps the WAL
			// growing without bound.
			for range maxPasses {
				left, ok := c.checkpoint()
				if !ok {
					break
				}
				if left <= catchUpFrames {
					// Even when the pass copied every frame it saw: the
					// batch committing meanwhile added more, and the WAL
					// restarts only if a transaction begins with every
					// frame copied back.
					c.catchUp.Store(true)
					select { // requests made meanwhile wait for the catch-up
					case <-c.req:
					default:
					}
					break
				}
			}
		}
	}
}

// Checkpoint passes per request, and the frames left that the writer copies
// itself.
const (
	maxPasses     = 4
	catchUpFrames = 512
)

// takeCatchUp reports, once, that a pass left a few frames for the writer.
func (c *checkpointer) takeCatchUp() bool { return c.catchUp.Swap(false) }

// checkpoint runs one PASSIVE checkpoint, which never waits for readers or
// the writer, and returns the frames it left in the WAL. An error
// (SQLITE_BUSY from a concurrent checkpoint) only postpones the work to the
// next request (ok false).
func (c *checkpointer) checkpoint() (left int64, ok bool) {
	c.running.Store(true)
	if c.before != nil {
		go c.before() // beside the checkpoint statement, which starts now
	}
	began := time.Now()
	var busy, log, done int64
	err := c.db.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done)
	c.took.RecordDuration(time.Since(began))
	c.running.Store(false)
	c.runs.Add(1)
	if err != nil || busy != 0 || (log >= 0 && done < log) {
		c.busy.Add(1)
	}
	if err == nil && done >= 0 {
		// The counts are of the WAL as it is now: since it was last
		// reset if it shrank, else since the previous checkpoint.
		n := done
		if log >= c.lastLog && done >= c.lastDone {
			n = done - c.lastDone
		}
		c.copied.Add(uint64(n))
		c.lastLog, c.lastDone = log, done
	}
	if err != nil || busy != 0 || log < 0 {
		return 0, false
	}
	c.sawFrames(log)
	return log - done, true
}

// sawFrames records the WAL's length as a checkpoint saw it.
func (c *checkpointer) sawFrames(n int64) {
	for {
		m := c.maxFrames.Load()
		if n <= m || c.maxFrames.CompareAndSwap(m, n) {
			return
		}
	}
}

// close stops the goroutine and closes its connection.
func (c *checkpointer) close() error {
	close(c.stop)
	c.wg.Wait()
	return c.db.Close()
}
