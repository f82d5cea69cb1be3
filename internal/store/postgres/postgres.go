package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/confab/confab/internal/store"
)

// Options tunes a Store. The zero value is the documented defaults.
type Options struct {
	// OnBatch, if set, is told of every committed batch (see
	// store.GroupCommitConfig.OnBatch); the node's counters use it.
	OnBatch func(n, failed int, took time.Duration)
	// Schema, when set, is the schema the store's tables live in (created
	// if missing); default the connection's search_path (public).
	Schema string
	// MaxConns is the size of the connection pool; default 16.
	MaxConns int
	// MaxPending bounds the writes queued on the writer; default 65536.
	MaxPending int
	// MaxBatch bounds the writes committed in one transaction; default
	// 10000.
	MaxBatch int
	// BatchTimeout bounds one batch's transaction; default 30s.
	BatchTimeout time.Duration
	// CommitWindow is the longest a small batch waits for company before
	// it is sent (store.GroupCommitConfig.Window): at moderate rates it
	// turns many round trips of one or two writes, each a commit with its
	// WAL flush and a wake-up of the writer, the backend and every waiter,
	// into fewer larger ones, at the price of at most this much latency,
	// and only while writes arrive often enough to fill it. Default
	// DefaultCommitWindow; negative sends every batch at once.
	CommitWindow time.Duration
	// CommitWindowBatch is the batch size that is sent without waiting;
	// default 64.
	CommitWindowBatch int
	// OneInFlight makes the writer wait for each batch's commit before it
	// sends the next (the default has two in flight when their writes are
	// independent; see inflight.go).
	OneInFlight bool
	// OverlapBatch is the smallest batch sent while the one before it is
	// in flight; default 32.
	OverlapBatch int
	// Now is the clock for default creation times; default time.Now.
	Now func() time.Time
}

func (o *Options) setDefaults() {
	if o.MaxConns <= 0 {
		o.MaxConns = 16
	}
	if o.BatchTimeout <= 0 {
		o.BatchTimeout = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CommitWindow == 0 {
		o.CommitWindow = DefaultCommitWindow
	}
	if o.OverlapBatch <= 0 {
		o.OverlapBatch = 32
	}
}

// DefaultCommitWindow is Options.CommitWindow's default: the SQLite
// store's (sqlite.DefaultCommitWindow).
const DefaultCommitWindow = 4 * time.Millisecond

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	opts  Options
	where string // host:port/database, for messages
	pool  *pgxpool.Pool
	gc    *store.GroupCommit[op]
	w     *writer
	trust fenceTrust // the owner rows the writer read (fencetrust.go)
	lease leaseConn  // lease renewals' own connection (leaseconn.go)

	closed atomic.Bool // set when Close begins; reads fail with ErrClosed

	closeMu sync.Mutex // guards the following
	done    bool
	doneErr error
}

var _ store.Store = (*Store)(nil)

// idleTxParam and idleTxTimeout: see Open.
const (
	idleTxParam   = "idle_in_transaction_session_timeout"
	idleTxTimeout = "5000" // milliseconds, well inside the default lease (10 s)
)

// toastParam and toastCompression: see Open.
const (
	toastParam       = "default_toast_compression"
	toastCompression = `SELECT set_config('default_toast_compression', 'lz4', false) FROM pg_settings
		WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)`
)

// Open connects to the database named by dsn (a libpq connection string or
// URL), migrates its schema and starts the writer.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	opts.setDefaults()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse dsn: %w", redact(err))
	}
	cfg.MaxConns = int32(opts.MaxConns)
	if opts.Schema != "" {
		if !validSchema(opts.Schema) {
			return nil, fmt.Errorf("postgres: schema %q: use letters, digits and _ only", opts.Schema)
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = opts.Schema
	}
	// A node paused in the middle of a batch (SIGSTOP, a stalled VM) must
	// not keep its transaction — and the owner rows its fencing holds FOR
	// SHARE — past the moment another node may claim its sessions: the
	// server ends a transaction left idle this long (the batch is rolled
	// back and its writes fail, to be retried). A DSN may set its own.
	if _, set := cfg.ConnConfig.RuntimeParams[idleTxParam]; !set {
		cfg.ConnConfig.RuntimeParams[idleTxParam] = idleTxTimeout
	}
	// Final transcripts and files are TOASTed: compressed with lz4 where
	// the server has it (pglz, the default, took ~50 ms of the backend's
	// CPU per 750 KB transcript, a close burst's whole stall; see
	// toastCompression). A DSN may set its own.
	if _, set := cfg.ConnConfig.RuntimeParams[toastParam]; !set {
		cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
			_, err := c.Exec(ctx, toastCompression)
			return err
		}
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	fail := func(err error) error { return fmt.Errorf("postgres: open %s: %w", where, err) }
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fail(err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		pool.Close()
		return nil, fail(err)
	}
	if opts.Schema != "" {
		if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+opts.Schema); err != nil {
			conn.Release()
			pool.Close()
			return nil, fail(fmt.Errorf("create schema %s: %w", opts.Schema, err))
		}
	}
	err = migrate(ctx, conn.Conn())
	if err == nil {
		_, err = conn.Exec(ctx, `DELETE FROM documents WHERE NOT complete`)
	}
	conn.Release()
	if err != nil {
		pool.Close()
		return nil, fail(err)
	}
	s := &Store{opts: opts, pool: pool, where: where}
	s.w = &writer{s: s, overlapMin: opts.OverlapBatch}
	s.gc = store.NewGroupCommit(gcConfig(s.w, opts))
	return s, nil
}

// gcConfig is the configuration of w's group-commit queue.
func gcConfig(w *writer, opts Options) store.GroupCommitConfig[op] {
	cfg := store.GroupCommitConfig[op]{
		MaxPending:  opts.MaxPending,
		MaxBatch:    opts.MaxBatch,
		Start:       w.start,
		OnBatch:     opts.OnBatch,
		Window:      max(opts.CommitWindow, 0),
		WindowBatch: opts.CommitWindowBatch,
	}
	if opts.OneInFlight {
		cfg.Start, cfg.Flush = nil, w.flush
	}
	return cfg
}

func validSchema(s string) bool {
	for i, r := range s {
		if !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || i > 0 && '0' <= r && r <= '9') {
			return false
		}
	}
	return s != ""
}

// redact keeps a password out of a DSN parse error.
func redact(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "password"); i >= 0 {
		return errors.New(msg[:i] + "(rest of the connection string not shown)")
	}
	return err
}

// Where returns host:port/database (and the schema), never credentials.
func (s *Store) Where() string {
	if s.opts.Schema != "" {
		return s.where + " schema " + s.opts.Schema
	}
	return s.where
}

// Stats returns the writer's counters.
func (s *Store) Stats() store.GroupCommitStats { return s.gc.Stats() }

// Pool returns the connection pool, for packages that keep their own
// tables in the same database (the cluster registry).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close flushes the writer and closes the pool; see store.Store.
func (s *Store) Close(ctx context.Context) error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.done {
		return s.doneErr
	}
	s.closed.Store(true)
	err := s.gc.Close(ctx)
	s.lease.close(ctx)
	s.pool.Close()
	s.done, s.doneErr = true, err
	return err
}

func (s *Store) readable() error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return nil
}

func (s *Store) now() time.Time { return s.opts.Now() }

// do runs fn inside the next batch's transaction (in a savepoint of its
// own) and waits until that transaction has committed.
func (s *Store) do(ctx context.Context, what string, fn func(ctx context.Context, tx pgx.Tx) error) error {
	return s.gc.Enqueue(ctx, op{fn: fn, what: what}).Wait(ctx)
}

// doStmt queues a one-statement write (see stmt) and waits until its batch
// has committed.
func (s *Store) doStmt(ctx context.Context, what string, st *stmt) error {
	return s.gc.Enqueue(ctx, op{st: st, what: what}).Wait(ctx)
}

// fixed is a stmt build of a statement known in advance.
func fixed(sql string, args ...any) func() (string, []any, error) {
	return func() (string, []any, error) { return sql, args, nil }
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	v := t.UnixMicro()
	return &v
}

func fromNullMicros(v *int64) time.Time {
	if v == nil {
		return time.Time{}
	}
	return fromMicros(*v)
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// blob passes a JSON document as bytea, nil as NULL.
func blob(b []byte) any {
	if b == nil {
		return nil
	}
	return []byte(b)
}

// PostgreSQL error codes (SQLSTATE).
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeCheckViolation      = "23514"
	codeNotNullViolation    = "23502"
)

// classify maps constraint failures of single-record writes to the store's
// sentinels: a duplicate key is ErrExists, any other constraint ErrInvalid.
func classify(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case codeUniqueViolation:
		return fmt.Errorf("%w: %w", store.ErrExists, err)
	case codeForeignKeyViolation, codeCheckViolation, codeNotNullViolation:
		return fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	return err
}

// isItemErr reports whether err failed one write only, leaving the
// transaction usable once its savepoint is rolled back: a store sentinel,
// or an integrity (23) or data (22) error of the statement.
func isItemErr(err error) bool {
	for _, target := range []error{store.ErrConflict, store.ErrNotFound, store.ErrExists, store.ErrInvalid, store.ErrLimit, store.ErrTooLarge, store.ErrFenced} {
		if errors.Is(err, target) {
			return true
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "23") || strings.HasPrefix(pe.Code, "22")
	}
	return false
}
