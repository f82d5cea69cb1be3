// Package store is Confab's storage contract: the records the server keeps
// (contacts, interaction records, intermediate transcripts, uploaded
// documents, agents, settings), the [Store] interface every backend
// implements, the sentinel errors callers test with [errors.Is], and
// [GroupCommit], the storage-agnostic group-commit core that backends use to
// batch many sessions' writes into one transaction.
//
// It imports nothing of Confab's. The embedded SQLite backend lives in
// store/sqlite; a PostgreSQL backend will follow. Both must pass the shared
// conformance suite in store/storetest.
//
// # Records
//
// Records are plain structs. JSON blobs (user data, transcripts, statistics,
// events) are [json.RawMessage] values owned by the caller: a store saves and
// returns their bytes verbatim and never interprets them. Times are kept with
// microsecond precision and returned in UTC.
//
// # Durability and ordering
//
// Writes that the chat engine makes on its hot path go through one
// group-commit writer per store. [Events.AppendEvent] queues one event and
// returns at once with a [Ticket]; the ticket completes when the transaction
// holding the event has committed durably. Every write queued before it, by
// any goroutine, was part of the same or an earlier transaction, and
// transactions commit strictly in queue order; so when a ticket reports
// success, every earlier write has either committed too or reported its own
// failure to its own ticket. The synchronous methods (CreateInteraction,
// CloseInteraction, ...) queue on the same writer and wait, so they are
// ordered with the events queued before them.
//
// A write can fail on its own (ErrConflict on a stale version, ErrExists, a
// constraint violation) without failing the rest of its transaction; an
// environmental failure (disk full, I/O error) fails the whole transaction and
// every ticket in it, leaves earlier transactions intact, and does not stop
// the writer.
//
// # Concurrency
//
// A Store is safe for concurrent use by many goroutines. GroupCommit is safe
// for concurrent Enqueue; it runs its flush function on one goroutine of its
// own, one batch at a time, in enqueue order, and the completion callbacks
// of its batches ([Commit.AfterDone]) on another, one at a time, in the
// order the batches completed.
package store
