// Package postgres is the PostgreSQL implementation of store.Store, for a
// cluster of nodes sharing one database (and for a single node that should
// keep its data off the local disk). It talks to the server through pgx
// (github.com/jackc/pgx/v5) and a pgxpool connection pool.
//
// It keeps the same contract as the embedded SQLite store and passes the
// same conformance suite (store/storetest): every write goes through one
// group-commit writer per store (store.GroupCommit), which takes everything
// queued, writes it in one transaction and commits; an event is
// acknowledged once that transaction has committed (synchronous_commit as
// the server is configured, on by default). A batch is normally one round
// trip: a batch of new events of sessions whose owner rows the writer
// trusts is one COPY behind the fence lock and a check of the claim count
// (copyfast.go); any other batch, and one the server refuses on the COPY
// path, is a pipeline (pipeline.go) of multi-row statements that the server
// runs and commits as one implicit transaction, where a write that fails
// alone (fenced, not found, a taken id) simply has no effect; a batch the
// server refuses there (a replayed or conflicting event, a constraint) is
// written again statement by statement (writer.go), where a write that
// fails on its own is undone with its savepoint and fails alone. An
// environmental failure (the connection lost) fails the whole batch.
//
// Several nodes write to one database at once, so uniqueness that SQLite
// gets from its single writer is enforced by the database here: contact
// identification takes a transaction-scoped advisory lock on the
// identifying value, and every other unique record has a key or a unique
// index.
//
// The schema is versioned (migrations/NNNN_name.sql, applied in order at
// Open under an advisory lock, so nodes starting together migrate once). An
// optional schema name keeps several deployments (or tests) apart in one
// database.
//
// Concurrency: a Store is safe for concurrent use. Reads use the pool; the
// writer goroutine holds one connection per batch.
//
// Every write to a session carrying an owner epoch is fenced in the
// statement that makes it: a write whose epoch is not the owner row's is
// left out and fails with store.ErrFenced. A claim waits for the writes in
// flight of the epoch it ends through one advisory lock per owning node
// that each batch holds shared until it commits (fencelock.go), not a lock
// per session. The writer reads a session's owner row once and then trusts
// it while the owner node's count of claims is unchanged (fencetrust.go).
package postgres
