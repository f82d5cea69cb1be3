package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"os"
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

	// appended counts the pages the writer has put in the WAL (its
	// pages counter): the frames a pass did not see are those appended
	// since it began.
	appended func() uint64
	// dbFile is a descriptor of the database file, kept open from Open
	// to the end of Close (closing one while SQLite holds the file's
	// locks would release them: POSIX locks are per process and file),
	// and syncDB makes it durable (tests replace it).
	dbFile *os.File
	syncDB func() error
	// syncFrom is the frames a request's passes copy from which they
	// sync the file before the catch-up: syncFrames (tests set less).
	syncFrom uint64

	// before, when set (tests), runs on a goroutine of its own as each
	// checkpoint statement starts.
	before func()

	runs        atomic.Uint64
	busy        atomic.Uint64 // checkpoints that could not copy every frame
	copied      atomic.Uint64 // pages copied back into the database
	running     atomic.Bool
	catchUp     atomic.Bool   // a pass left a few frames for the writer to copy
	catchUps    atomic.Uint64 // catch-up checkpoints the writer ran
	syncErrs    atomic.Uint64 // syncs of the database file before a catch-up that failed
	took        store.Hist    // µs per checkpoint, the writer's catch-ups included
	catchUpTook store.Hist    // µs per catch-up of the writer
	// maxFrames is the longest the WAL was (in frames since it was last
	// started afresh) when a checkpoint ran: it stays near the checkpoint
	// interval while the WAL restarts, and grows with everything written
	// if it does not.
	maxFrames atomic.Int64

	lastLog, lastDone int64 // the previous checkpoint's frame counts; run's goroutine only
}

// startCheckpointer starts the checkpointer of the database file at path
// on db; appended reads the writer's count of pages put in the WAL.
func startCheckpointer(db *sql.DB, path string, appended func() uint64, before func()) (*checkpointer, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s for its checkpoints' syncs: %w", path, err)
	}
	c := &checkpointer{db: db, req: make(chan struct{}, 1), stop: make(chan struct{}), before: before,
		appended: appended, dbFile: f, syncFrom: syncFrames}
	c.syncDB = f.Sync
	c.wg.Add(1)
	go c.run()
	return c, nil
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
			c.passes()
		}
	}
}

// passes answers one request. Frames appended while a pass ran are copied
// by the next pass, which is shorter; then the writer copies the few left
// between two batches (catchUp), so the WAL is wholly copied back and the
// next transaction starts it afresh. Without that, a writer that never
// pauses keeps the WAL growing without bound.
//
// A pass reports the frames it left of those it saw when it began, which
// is none when it copied them all; the frames appended meanwhile are
// counted from the writer's pages. The catch-up stalls every
// acknowledgement while it runs, so it is left as little as the passes
// can: at full speed a pass that began with 4,000 frames takes 15–60 ms,
// in which the writer appends a few hundred more, and a catch-up of those
// held the writer for 20–27 ms on average (issue 17, fifteenth round); a
// second pass copies them and leaves tens. Passes go on while they leave
// more than catchUpFrames and at most half what the previous one left (a
// pass's fixed cost, its syncs, can exceed the time the frames take, as
// with small WALs: passes then stop gaining), maxPasses at most; the
// writer then gets the catch-up of whatever is left. And the database file
// is synced here first: SQLite writes the passes' pages to it without a
// sync (it syncs the file only in the checkpoint that reaches the WAL's
// end, the catch-up), so the catch-up's sync would otherwise flush the
// tens of megabytes the passes wrote, on the writer's time (from
// syncFrames on).
func (c *checkpointer) passes() {
	prev := int64(math.MaxInt64)
	copied := c.copied.Load()
	for range maxPasses {
		before := c.appended()
		left, ok := c.checkpoint()
		if !ok {
			return
		}
		left += int64(c.appended() - before)
		if left <= catchUpFrames || left > prev/2 {
			break
		}
		prev = left
	}
	if c.copied.Load()-copied >= c.syncFrom {
		if err := c.syncDB(); err != nil {
			// Not a loss: the catch-up's own sync covers the pages.
			c.syncErrs.Add(1)
		}
	}
	// Even when no frame was counted as appended: the batch committing as
	// the pass ended may have added some that its writer has not counted
	// yet, and the WAL restarts only if a transaction begins with every
	// frame copied back.
	c.catchUp.Store(true)
	select { // requests made meanwhile wait for the catch-up
	case <-c.req:
	default:
	}
}

// Checkpoint passes per request, and the frames left that the writer copies
// itself, and the frames a request's passes must have copied for them to
// sync the database file before the catch-up (fewer are flushed quickly by
// the catch-up's own sync).
const (
	maxPasses     = 4
	catchUpFrames = 64
	syncFrames    = 1024
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

// close stops the goroutine and closes its connection; the database
// file's descriptor stays open for closeFile.
func (c *checkpointer) close() error {
	close(c.stop)
	c.wg.Wait()
	return c.db.Close()
}

// closeFile closes the descriptor of the database file; every connection
// to the file must have been closed before (see dbFile).
func (c *checkpointer) closeFile() error { return c.dbFile.Close() }
