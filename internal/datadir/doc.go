// Package datadir guards a node's data directory: Lock takes an exclusive
// advisory lock (flock) on a lock file in it, so that a second server
// started on the same directory refuses to start, naming the directory and
// the process that holds it. The kernel releases the lock when the holder
// exits, however it exits (SIGKILL included), so a crash never leaves a
// stale lock behind.
//
// Concurrency: a Lock is held by one process; its methods are safe for
// concurrent use.
package datadir
