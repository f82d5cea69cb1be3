// Package sqlite is Confab's embedded store: a store.Store kept in one
// SQLite file, confab.db, in a data directory, through the pure-Go driver
// modernc.org/sqlite. Nothing needs installing or configuring.
//
// # Layout
//
// Open creates the directory and the file if missing, checks the file
// (PRAGMA quick_check by default), and applies the versioned migrations
// embedded from migrations/*.sql, recording each in schema_migrations. The
// database runs in WAL mode with synchronous=FULL (an acknowledged write
// survives power loss; Options.Synchronous can relax it to NORMAL), foreign
// keys on and a busy timeout.
//
// # Connections and the writer
//
// Every write — events, interaction changes, contacts, documents, agents,
// settings — goes through one group-commit writer (a store.GroupCommit)
// that owns the store's only write connection: it takes everything queued
// (up to Options.MaxBatch writes) as one transaction with reused prepared
// statements, commits, releases the batch's tickets, and takes the next
// batch, which accumulated meanwhile. Writes that fail on their own (a
// version conflict, a duplicate id, a constraint) are isolated with
// savepoints or statement rollback and reported to their own ticket; an
// environmental failure (disk full, I/O error) fails the batch, rolls it back
// and the writer goes on with the next. WAL checkpoints run on a connection
// and goroutine of their own, asked for by the writer after a batch, so they
// delay neither acknowledgements nor the next batch. Reads go straight to the database through a separate
// pool of read-only connections.
//
// # Intermediate events
//
// Events go to an append-only log (event_log) keyed by the store's next
// sequence number, with no other index: the rows of a batch, whatever their
// sessions, fill the last pages of one B-tree, and an append never reads.
// The writer keeps, in memory and in event_sessions, where each open
// session's rows are; an event at a position already stored is a replay,
// compared with the stored row. The log is consumed from its low end, a
// bounded range per batch, by raising a watermark: the log is sixteen chunk
// tables, and one whose rows are all below the watermark is emptied whole
// (its pages freed, not written; eventchunk.go). Rows only closed sessions
// had are trimmed that way; once the log is longer than its span by a step
// (up to 4096 rows), its oldest rows move, the open sessions' ones to
// event_cold, each event at most once, taken from the open sessions' new
// events the writer keeps in memory once the log is half its span long (up
// to a budget, 256 MiB by default; eventmem.go) or read back from the log: each open session's rows of a move packed into ONE row of
// a table numbered in the order rows are moved (a blob of the events with
// their positions, ids and times; eventpack.go), with one index entry on
// (sid, lo, hi) per pack, so that a move of 4096 rows over 200 sessions
// inserts about 200 rows, not 4096 rows and 4096 index entries. A closed session's cold rows are purged by range of
// positions, a bounded number per batch. Open moves every open session's
// rows to event_cold, so restoration reads each session's rows only, in
// order. See eventlog.go.
//
// # Interaction records
//
// A record is a row of interactions numbered in the order records are
// created (rid), found by its id through a unique index, so the open
// records, which routing updates at every step of a session, share the
// table's last pages whatever their random ids. The final transcript and
// statistics are written once, at close, as a row of interaction_finals
// numbered in the order records close, which the record points to
// (final_id): a routing update never rewrites them. The state index holds
// the closed records only; the open ones are read through a partial index
// of open records (migration 0009).
//
// The writer knows the rid of every open record it created (and of the
// last 8,192 it closed) and the next free rid and fid (records.go): a
// create gives the record its rid and reads nothing back, a close of a
// known record is one UPDATE by rid that also points the record at its
// final row, then that row appended, with no read and no savepoint (a
// failure after its first statement fails the batch instead), and a
// routing update of a known record writes by rid. Records it does not know
// (written before this Open, or by another connection) are looked up by id.
//
// One process at a time may use a data directory: the writer keeps the
// event log's bookkeeping in memory, which another writer would invalidate.
//
// # Concurrency
//
// Store is safe for concurrent use. Its writer commits batches strictly in
// enqueue order (see package store for the ordering guarantee). Close
// flushes the queue, then closes the connections.
package sqlite
