// Package history writes chats to the contact history: it is the engine's
// chat.Journal on top of a store.Store.
//
// When a session is created it identifies the customer's contact (from
// EmailAddress, then the other configured contact attributes; an anonymous
// chat creates none) and creates the interaction record. With
// transcript-auto-save at 1 or 2 every event is written to the intermediate
// transcript through the store's group-commit writer, and the engine hands the
// write's ticket back to the caller so a request is acknowledged only once its
// event is durable. Every stored event is the engine's
// stored copy (chat.Event.ForStore: masked where apply-area says). When the
// session closes, the final transcript and the closed status are written and the intermediate
// transcript is dropped. With Options.FinalFromStore (off in the server:
// measured, composing costs more CPU than encoding, docs/benchmarks.md)
// the final transcript is described as parts of the stored events and the
// store composes it (finalstored.go); the bytes are those encoded from
// memory.
//
// Concurrency: the engine calls the Journal methods with a session lock held;
// they only encode and enqueue. A dispatcher goroutine runs the record writes
// (create, close) concurrently across sessions and in order within one; event
// writes go to the store's writer. Close drains both.
package history
