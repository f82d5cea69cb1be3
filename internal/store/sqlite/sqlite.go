package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/confab/confab/internal/store"
)

// FileName is the name of the database file in the data directory.
const FileName = "confab.db"

// Sync is the durability level of commits (SQLite's synchronous pragma in
// WAL mode).
type Sync int

const (
	// SyncFull syncs the WAL at every commit: an acknowledged write
	// survives a crash of the process and of the machine. The default.
	SyncFull Sync = iota
	// SyncNormal syncs only at checkpoints: an acknowledged write survives
	// a crash of the process, but the last transactions may be lost if the
	// machine loses power. The database is never corrupted.
	SyncNormal
)

func (s Sync) pragma() (string, error) {
	switch s {
	case SyncFull:
		return "FULL", nil
	case SyncNormal:
		return "NORMAL", nil
	}
	return "", fmt.Errorf("sqlite: unknown Sync %d", int(s))
}

// Check is the integrity check Open runs on an existing database.
type Check int

const (
	// CheckQuick runs PRAGMA quick_check: it reads every page (about a
	// second per GB) and catches most corruption. The default.
	CheckQuick Check = iota
	// CheckFull runs PRAGMA integrity_check, which also verifies indexes;
	// slower.
	CheckFull
	// CheckSchema only reads the header and the schema: instantaneous,
	// catches a file that is not a database, not a corrupt page.
	CheckSchema
)

// Options tunes a Store. The zero value is the documented defaults.
type Options struct {
	// OnBatch, if set, is told of every committed batch (see
	// store.GroupCommitConfig.OnBatch); the node's counters use it.
	OnBatch func(n, failed int, took time.Duration)
	// Synchronous is the durability of commits; default SyncFull.
	Synchronous Sync
	// SyncAfterCommit makes the writer, at SyncFull, commit with
	// synchronous=NORMAL (no fsync in COMMIT) and sync the WAL on a
	// descriptor of its own, on the group commit's second goroutine, while
	// it writes the next batch; a write is acknowledged only once an fsync
	// begun after its COMMIT returned has completed, so the durability is
	// the same (writer.go's start). Off by default: eight interleaved
	// pairs at load 17–42 (docs/benchmarks.md, sqlstate) showed no
	// difference in server CPU per message (lower in four, higher in
	// four); it awaits a quiet machine's A/B. SyncNormal ignores it.
	SyncAfterCommit bool
	// Check is the integrity check run at Open; default CheckQuick.
	Check Check
	// ReadConns is the size of the read pool; default 4.
	ReadConns int
	// PageSize is the page size in bytes of a new database file (a power
	// of two from 512 to 65536); default 8192, which halves the pages the
	// writer dirties compared with SQLite's 4096 when many sessions write
	// at once. An existing file keeps its page size.
	PageSize int
	// CacheKiB is the page cache of the writer connection in KiB; default
	// 65536. Read connections get a quarter each.
	CacheKiB int
	// BusyTimeout bounds the wait for a lock held by another connection;
	// default 5s.
	BusyTimeout time.Duration
	// MaxPending bounds the writes queued on the writer; AppendEvent
	// blocks while it is reached. Default 65536.
	MaxPending int
	// MaxBatch bounds the writes committed in one transaction; default
	// 10000.
	MaxBatch int
	// CheckpointPages is the number of pages written to the WAL after
	// which the writer checkpoints it into the database; default 4096.
	CheckpointPages int
	// CommitWindow is the longest a small batch waits for company before
	// it commits (store.GroupCommitConfig.Window): at moderate rates it
	// turns many commits of one or two writes, each with its fsync, into
	// fewer larger ones, at the price of at most this much latency, and
	// only while writes arrive often enough to fill it. Default
	// DefaultCommitWindow; negative commits every batch at once.
	CommitWindow time.Duration
	// CommitWindowBatch is the batch size that commits without waiting;
	// default 64.
	CommitWindowBatch int
	// Now is the clock for default creation times; default time.Now.
	Now func() time.Time
	// BeforeCheckpoint, if set, runs on a goroutine of its own as each WAL
	// checkpoint of the checkpointer starts (the crash test kills the
	// process then).
	BeforeCheckpoint func()
	// EventLogSpan is the number of rows the event log keeps before its
	// oldest rows of open sessions move to event_cold (eventlog.go);
	// default 262,144. Tests set less.
	EventLogSpan int
	// EventLogMemory bounds the bytes of the open sessions' newest events
	// the writer keeps in memory so that a move to event_cold need not
	// read them back from the log (eventmem.go); default 256 MiB, negative
	// for none.
	EventLogMemory int
}

func (o *Options) setDefaults() {
	if o.ReadConns <= 0 {
		o.ReadConns = 4
	}
	if o.PageSize <= 0 {
		o.PageSize = 8192
	}
	if o.CacheKiB <= 0 {
		o.CacheKiB = 65536
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.CheckpointPages <= 0 {
		o.CheckpointPages = 4096
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CommitWindow == 0 {
		o.CommitWindow = DefaultCommitWindow
	}
	if o.EventLogMemory == 0 {
		o.EventLogMemory = defaultEventLogMemory
	}
}

// DefaultCommitWindow is Options.CommitWindow's default.
const DefaultCommitWindow = 4 * time.Millisecond

// Store is the SQLite implementation of store.Store. It is safe for
// concurrent use.
type Store struct {
	path     string
	now      func() time.Time
	pageSize int64   // of a new file; WriterStats reads the real one
	loadTail string  // LoadEvents' query of a session's log rows, in every chunk table (eventchunk.go)
	rdb      *sql.DB // read pool, query_only
	wdb      *sql.DB // the writer's pool of one connection
	w        *writer
	ckpt     *checkpointer
	gc       *store.GroupCommit[op]

	closed atomic.Bool // set when Close begins; reads fail with ErrClosed

	closeMu sync.Mutex // guards the following
	done    bool
	doneErr error

	eventReads eventReads // LoadEvents' statements, prepared once (events.go)
}

var _ store.Store = (*Store)(nil)

// Open opens the store in dir, creating the directory and the database file
// if they are missing, checks the file and migrates its schema. An
// unusable directory or file (bad path, read-only, not a database, corrupt,
// schema newer than this build) stops Open with an error naming the file
// and the cause.
func Open(ctx context.Context, dir string, opts Options) (_ *Store, err error) {
	opts.setDefaults()
	syncMode, err := opts.Synchronous.pragma()
	if err != nil {
		return nil, err
	}
	// The writer's connection: at SyncFull with Options.SyncAfterCommit
	// the writer syncs the WAL itself.
	ownSync := opts.Synchronous == SyncFull && opts.SyncAfterCommit
	writerSync := syncMode
	if ownSync {
		writerSync = "NORMAL"
	}
	if ps := opts.PageSize; ps < 512 || ps > 65536 || ps&(ps-1) != 0 {
		return nil, fmt.Errorf("sqlite: page size %d is not a power of two from 512 to 65536", ps)
	}
	if dir == "" {
		return nil, errors.New("sqlite: open: empty data directory")
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	if err := prepareFile(dir, path); err != nil {
		return nil, err
	}
	fail := func(err error) error { return fmt.Errorf("sqlite: open %s: %w", path, err) }

	s := &Store{path: path, now: opts.Now, pageSize: int64(opts.PageSize),
		loadTail: logArms("position, event_id, at, data", "seq >= ?2 AND sid = ?1") + " ORDER BY position"}
	defer func() {
		if err != nil {
			s.closeDBs()
		}
	}()

	busy := fmt.Sprint(opts.BusyTimeout.Milliseconds())
	wdsn := dsn(path,
		"busy_timeout("+busy+")",
		fmt.Sprintf("cache_size(-%d)", opts.CacheKiB),
		"foreign_keys(1)",
		fmt.Sprintf("page_size(%d)", opts.PageSize),
		"synchronous("+writerSync+")",
		"temp_store(MEMORY)",
		"wal_autocheckpoint(0)",        // the checkpointer does it, off the writer's path
		"journal_size_limit(67108864)", // a WAL started afresh is cut back to 64 MiB
	)
	// The driver applies _journal_mode after the _pragma list: the page
	// size must be set before WAL mode fixes it.
	s.wdb, err = sql.Open("sqlite", wdsn+"&_journal_mode=WAL")
	if err != nil {
		return nil, fail(err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		return nil, fail(err)
	}
	if err := checkFile(ctx, conn, opts.Check); err != nil {
		conn.Close()
		return nil, fail(err)
	}
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		conn.Close()
		return nil, fail(fmt.Errorf("read journal mode: %w", err))
	}
	if mode != "wal" { // a file system without shared memory, for one
		conn.Close()
		return nil, fail(fmt.Errorf("cannot use WAL mode: journal_mode is %q", mode))
	}
	if err := migrate(ctx, conn); err != nil {
		conn.Close()
		return nil, fail(err)
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA page_size").Scan(&s.pageSize); err != nil {
		conn.Close()
		return nil, fail(fmt.Errorf("read page size: %w", err))
	}
	if err := dropPartialDocuments(ctx, conn); err != nil {
		conn.Close()
		return nil, fail(err)
	}
	s.w, err = newWriter(ctx, conn, opts.CheckpointPages)
	if err != nil {
		conn.Close()
		return nil, fail(err)
	}
	if opts.EventLogSpan > 0 {
		s.w.log.span = int64(opts.EventLogSpan)
	}
	s.w.log.mem.budget = int64(opts.EventLogMemory)

	s.rdb, err = sql.Open("sqlite", dsn(path,
		"busy_timeout("+busy+")",
		fmt.Sprintf("cache_size(-%d)", max(opts.CacheKiB/4, 2048)),
		"query_only(1)",
		"temp_store(MEMORY)",
	))
	if err != nil {
		return nil, fail(err)
	}
	s.rdb.SetMaxOpenConns(opts.ReadConns)
	s.rdb.SetMaxIdleConns(opts.ReadConns)
	if err := s.rdb.PingContext(ctx); err != nil {
		return nil, fail(err)
	}

	cdb, err := sql.Open("sqlite", dsn(path,
		"busy_timeout("+busy+")",
		"synchronous("+syncMode+")",
		"wal_autocheckpoint(0)",
	))
	if err != nil {
		return nil, fail(err)
	}
	cdb.SetMaxOpenConns(1)
	if s.ckpt, err = startCheckpointer(cdb, path, s.w.pages.Load, opts.BeforeCheckpoint); err != nil {
		cdb.Close()
		return nil, fail(err)
	}
	s.w.ckpt = s.ckpt

	cfg := store.GroupCommitConfig[op]{
		MaxPending:  opts.MaxPending,
		MaxBatch:    opts.MaxBatch,
		Flush:       s.w.flush,
		AfterBatch:  s.w.afterBatch,
		OnBatch:     opts.OnBatch,
		Window:      max(opts.CommitWindow, 0),
		WindowBatch: opts.CommitWindowBatch,
	}
	if ownSync {
		// Two batches in flight: the next one is written while the
		// previous one's WAL sync runs (writer.start, which also does
		// afterBatch's housekeeping on the writer's goroutine).
		s.w.wal = newWALSync(path + "-wal")
		cfg.Flush, cfg.AfterBatch, cfg.Start = nil, nil, s.w.start
	}
	s.gc = store.NewGroupCommit(cfg)
	return s, nil
}

// prepareFile creates the data directory and makes sure the database file
// can be created or written, so that these common failures are reported
// with their plain cause rather than SQLite's "unable to open database
// file".
func prepareFile(dir, path string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("sqlite: open %s: create data directory: %w", path, unwrapPath(err))
	}
	fi, err := os.Stat(path)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		return fmt.Errorf("sqlite: open %s: not a regular file", path)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("sqlite: open %s: %w", path, unwrapPath(err))
	}
	// SQLite needs to create the -wal and -shm files next to the database.
	probe, err := os.CreateTemp(dir, ".confab-probe-*")
	if err != nil {
		return fmt.Errorf("sqlite: open %s: data directory is not writable: %w", path, unwrapPath(err))
	}
	probe.Close()
	os.Remove(probe.Name())
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, unwrapPath(err))
	}
	return f.Close()
}

// unwrapPath drops the path from an *fs.PathError, which the caller names
// already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// dsn builds a modernc.org/sqlite data source name for path with the given
// pragmas.
func dsn(path string, pragmas ...string) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	return "file:" + (&url.URL{Path: filepath.ToSlash(path)}).EscapedPath() + "?" + q.Encode()
}

// checkFile verifies that the file is a sound SQLite database.
func checkFile(ctx context.Context, conn *sql.Conn, level Check) error {
	var pragma string
	switch level {
	case CheckQuick:
		pragma = "PRAGMA quick_check(5)"
	case CheckFull:
		pragma = "PRAGMA integrity_check(5)"
	case CheckSchema:
		var n int
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
			return fmt.Errorf("read schema: %w", err)
		}
		return nil
	default:
		return fmt.Errorf("unknown Check %d", int(level))
	}
	rows, err := conn.QueryContext(ctx, pragma)
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var msg string
		if err := rows.Scan(&msg); err != nil {
			return fmt.Errorf("integrity check: %w", err)
		}
		if msg != "ok" {
			problems = append(problems, msg)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("database is corrupt: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Stats returns the writer's counters: batches, writes, last and largest
// batch size, failures, queued writes.
func (s *Store) Stats() store.GroupCommitStats { return s.gc.Stats() }

// WriterStats returns the commit path's counters: batches, their flush and
// commit times and sizes, the pages written to the WAL, the WAL's size and
// the checkpoints; see store.WriterStats.
func (s *Store) WriterStats(ctx context.Context) (store.WriterStats, error) {
	if err := s.readable(); err != nil {
		return store.WriterStats{}, err
	}
	gs := s.gc.Stats()
	flush, batch := s.gc.Timing()
	st := store.WriterStats{
		Driver: "sqlite", Shards: 1,
		Batches: gs.Batches, Writes: gs.Writes, FailedBatches: gs.FailedBatches, FailedWrites: gs.FailedWrites,
		Pending: gs.Pending, WindowWaits: gs.Windows, WindowWrites: gs.WindowWrites, WindowMicros: gs.WindowMicros,
		FlushMicros: flush, BatchSize: batch, SyncMicros: s.w.syncHist.Snapshot(),
		PagesWritten: s.w.pages.Load(), PageSize: s.pageSize,
		Checkpoints: s.ckpt.runs.Load() + s.ckpt.catchUps.Load(), CheckpointMicros: s.ckpt.took.Snapshot(),
		CheckpointedPages: s.ckpt.copied.Load(), CheckpointBusy: s.ckpt.busy.Load(),
		CatchUpMicros: s.ckpt.catchUpTook.Snapshot(), CheckpointSyncFailures: s.ckpt.syncErrs.Load(),
		Checkpointing: s.ckpt.running.Load(), EventLogRows: s.w.logRows.Load(),
		EventLogReloads: s.w.reloads.Load(), EventLogMoved: s.w.relocated.Load(),
		EventLogMovedFromMemory: s.w.memStats.moved.Load(), EventLogMemoryBytes: s.w.memStats.bytes.Load(),
	}
	if fi, err := os.Stat(s.path + "-wal"); err == nil {
		st.WALBytes = fi.Size()
	}
	return st, nil
}

// Close flushes every queued write and closes the database; see
// store.Store.Close.
func (s *Store) Close(ctx context.Context) error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.done {
		return s.doneErr
	}
	s.closed.Store(true)
	err := s.gc.Close(ctx)
	if cerr := s.closeDBs(); err == nil {
		err = cerr
	}
	s.done, s.doneErr = true, err
	return err
}

// closeDBs closes the connections; the writer goroutine must have stopped.
func (s *Store) closeDBs() error {
	var errs []error
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	if s.ckpt != nil {
		errs = append(errs, s.ckpt.close())
	}
	if s.w != nil {
		errs = append(errs, s.w.close())
		if s.w.wal != nil {
			errs = append(errs, s.w.wal.close())
		}
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	if s.ckpt != nil { // last: no connection holds the file's locks now
		errs = append(errs, s.ckpt.closeFile())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close %s: %w", s.path, err)
	}
	return nil
}

// readable reports ErrClosed once Close has begun.
func (s *Store) readable() error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return nil
}

// do runs fn on the writer inside the next batch's transaction (in a
// savepoint of its own) and waits until that transaction has committed.
// what names the write in errors ("interaction X").
func (s *Store) do(ctx context.Context, what string, fn func(ctx context.Context, w *writer) error) error {
	return s.gc.Enqueue(ctx, op{fn: fn, what: what}).Wait(ctx)
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func fromNullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

// nullString maps "" to NULL.
func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}
