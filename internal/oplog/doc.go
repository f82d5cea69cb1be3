// Package oplog writes a node's operational log lines about sessions: one
// when a session is created (id, tenant, endpoint, async) and one when it
// closes (id, endpoint, who ended it and how, duration, message count).
// It never logs message text or user data.
//
// The Journal is one of the engine's journals, called with a session's
// lock held, so it only copies a few fields onto a bounded queue; one
// goroutine writes the lines. When the queue is full a line is dropped
// and counted rather than holding up the session; the count is logged
// with the next line written. Close stops the goroutine after it has
// written what is queued.
package oplog
